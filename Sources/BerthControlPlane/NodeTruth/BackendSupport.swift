/// The oldest version of each backend Berth drives. Older binaries lack what the runtime uses,
/// so a node that only has one is refused with BACKEND_VERSION_UNSUPPORTED rather than failing
/// at launch.
///
/// | kind               | minimum | why                                                        |
/// |--------------------|---------|------------------------------------------------------------|
/// | `qemu`             | 6.2     | QMP `query-status` readiness and a stable aarch64 `virt`   |
/// | `cloud-hypervisor` | 30.0    | the v1 REST API (`vm.create`, `vm.info`, `vmm.ping`)        |
/// | `firecracker`      | 1.0     | the stable 1.x API                                         |
/// | `process`          | any     | no external binary version matters (even an empty string)  |
public enum BackendSupport {
    /// The oldest supported version of `kind`, or nil when any version (or none) will do.
    public static func minimumVersion(of kind: BackendKind) -> BackendVersion? {
        switch kind {
        case .qemu: return BackendVersion(6, 2)
        case .cloudHypervisor: return BackendVersion(30, 0)
        case .firecracker: return BackendVersion(1, 0)
        case .process: return nil
        }
    }

    /// Whether a `kind` binary reporting `version` is one Berth can drive. A version that cannot
    /// be parsed is not supported: the agent could not prove it is new enough.
    public static func isSupported(_ kind: BackendKind, version: String) -> Bool {
        guard let minimum = minimumVersion(of: kind) else { return true }
        guard let parsed = BackendVersion(parsing: version) else { return false }
        return parsed >= minimum
    }

    /// `kind >= minimum` (or just `kind` when any version will do), as evidence shows it.
    static func requirement(_ kind: BackendKind) -> String {
        minimumVersion(of: kind).map { "\(kind.rawValue) >= \($0)" } ?? kind.rawValue
    }
}
