import BerthControlPlane
import Foundation

/// Why a Cloud Hypervisor or Firecracker launch cannot be planned for a spec.
public struct VMMPlanError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: FailureCode
    public var detail: String
    public var description: String { "\(code.rawValue): \(detail)" }

    public init(code: FailureCode, detail: String) {
        self.code = code
        self.detail = detail
    }
}

/// One call of a VMM's REST API: what `berth agent prepare` prints, what the backend sends.
public struct VMMAPIRequest: Codable, Equatable, Sendable, CustomStringConvertible {
    public var method: String
    /// The request target (`/api/v1/vm.create`, `/boot-source`).
    public var path: String
    public var body: VMMJSON?

    public init(_ method: String, _ path: String, body: VMMJSON? = nil) {
        self.method = method
        self.path = path
        self.body = body
    }

    public var description: String { "\(method) \(path)" }
}

/// The API side of a launch: the socket, the calls that configure and boot the VM (in order),
/// the call whose `state` says it runs, and the calls that stop it.
public struct VMMAPIPlan: Codable, Equatable, Sendable {
    /// The unix socket the VMM serves its API on (`launches/<id>/api.sock`).
    public var socket: String
    /// Sent in order after the socket appears; the first non-2xx answer fails the launch.
    public var boot: [VMMAPIRequest]
    /// Polled until its answer's `state` is `readyState`.
    public var readiness: VMMAPIRequest
    public var readyState: String
    /// Sent in order to stop the VM; the process is killed if it has not exited after them.
    /// Empty when the VMM has no API to stop a guest (Firecracker on aarch64): SIGTERM instead.
    public var terminate: [VMMAPIRequest]

    enum CodingKeys: String, CodingKey {
        case socket, boot, readiness, terminate
        case readyState = "ready_state"
    }

    /// Readiness and terminate of a `kind` VM already booted (after an agent restart): they
    /// depend only on the kind and the architecture, not on the spec's files.
    public static func control(kind: BackendKind, arch: Architecture, socket: String) -> VMMAPIPlan {
        switch kind {
        case .cloudHypervisor:
            return VMMAPIPlan(
                socket: socket, boot: [], readiness: CloudHypervisorAPI.readiness, readyState: "Running",
                terminate: CloudHypervisorAPI.terminate)
        default:
            return VMMAPIPlan(
                socket: socket, boot: [], readiness: FirecrackerAPI.readiness, readyState: "Running",
                terminate: FirecrackerAPI.terminate(arch: arch))
        }
    }
}

/// A Cloud Hypervisor or Firecracker launch, planned: the process started (through the same
/// keeper as `process` and QEMU launches) and the API calls that make it a running VM. Every
/// path is under the agent's root.
public struct VMMLaunchPlan: Codable, Equatable, Sendable {
    public var kind: BackendKind
    /// The binary, absolute when found.
    public var program: String
    /// argv[0] is `program`.
    public var argv: [String]
    public var api: VMMAPIPlan
    /// Where the guest's serial console ends up.
    public var serialLog: String
    /// The name, in the launch directory, of the file the keeper copies the VMM's stdout to
    /// (bounded): Firecracker's stdout is the guest's serial console, so `serial.log`.
    public var stdoutName: String
    /// Files created (empty) before the VMM starts: Firecracker's logger opens its file, it
    /// does not create it.
    public var precreated: [String]

    /// The longest unix socket path (`sun_path` holds 108 bytes with its NUL).
    public static let maximumSocketPathBytes = 107

    enum CodingKeys: String, CodingKey {
        case kind, program, argv, api, precreated
        case serialLog = "serial_log"
        case stdoutName = "stdout_name"
    }

    /// The plan for `spec` in `launchDirectory` (relative to `root`, or with `{launch_id}`).
    public static func build(spec: LaunchSpec, root: AgentRoot, launchDirectory: String, program: String)
        throws(VMMPlanError) -> VMMLaunchPlan
    {
        guard spec.backend == .cloudHypervisor || spec.backend == .firecracker, case .image(let image) = spec.payload
        else {
            throw VMMPlanError(code: .validationFailed, detail: "not a Cloud Hypervisor or Firecracker image launch")
        }
        func underRoot(_ name: String, _ path: String) throws(VMMPlanError) -> String {
            do { return try root.resolve(path) } catch {
                throw VMMPlanError(code: .validationFailed, detail: "\(name): \(error)")
            }
        }
        let directory = try underRoot("launch directory", launchDirectory)
        let files = VMMFiles(
            kernel: try underRoot("kernel", image.kernel),
            initrd: try image.initrd.map { path throws(VMMPlanError) in try underRoot("initrd", path) },
            disk: try image.disk.map { path throws(VMMPlanError) in try underRoot("disk", path) },
            socket: try underRoot("API socket", directory + "/api.sock"),
            serialLog: try underRoot("serial log", directory + "/serial.log"),
            vmmLog: try underRoot("VMM log", directory + "/\(spec.backend.rawValue).log"))
        guard files.socket.utf8.count <= maximumSocketPathBytes else {
            throw VMMPlanError(
                code: .prepareFailed,
                detail: "the API socket path \(files.socket) is longer than \(maximumSocketPathBytes) bytes")
        }
        switch spec.backend {
        case .cloudHypervisor:
            return try CloudHypervisorAPI.plan(spec: spec, image: image, files: files, program: program)
        default:
            return try FirecrackerAPI.plan(spec: spec, image: image, files: files, program: program)
        }
    }

    /// `name` on `searchPath`, absolute, or nil.
    public static func findProgram(_ name: String, searchPath: [String]) -> String? {
        for directory in searchPath where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The binary's name for a VMM kind.
    public static func binaryName(_ kind: BackendKind) -> String { kind.rawValue }
}

/// The resolved paths of one launch, every one under the root.
struct VMMFiles {
    var kernel: String
    var initrd: String?
    var disk: String?
    var socket: String
    var serialLog: String
    var vmmLog: String
}
