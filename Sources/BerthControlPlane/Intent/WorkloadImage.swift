/// What a VM boots: a kernel, optionally an initrd and a root disk, and the kernel command line.
/// Paths are on the node; the agent checks they lie under its configured roots.
public struct WorkloadImage: Codable, Equatable, Hashable, Sendable {
    /// The guest kernel (`kernel`).
    public var kernel: String
    /// The initial ramdisk (`initrd`), if any.
    public var initrd: String?
    /// The root disk image (`disk`), if any.
    public var disk: String?
    /// The guest kernel command line (`cmdline`), if any.
    public var cmdline: String?

    public init(kernel: String, initrd: String? = nil, disk: String? = nil, cmdline: String? = nil) {
        self.kernel = kernel
        self.initrd = initrd
        self.disk = disk
        self.cmdline = cmdline
    }
}
