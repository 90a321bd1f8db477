/// Every size and range limit that validation enforces, in one place so the API documentation
/// and the code cannot drift apart. String lengths are counted in UTF-8 bytes: that is what a
/// row, a path or a log line costs, and for the ASCII-only identifiers it equals characters.
public enum ValidationLimits {
    // MARK: Node truth (SchedulerEnvelope)

    /// `node_id`: 1 to 63 bytes of `[A-Za-z0-9._-]`, short enough for a DNS label.
    public static let nodeIDBytes: ClosedRange<Int> = 1...63
    /// `sequence`: positive and representable as a JSON integer everywhere (≤ 2^63 − 1).
    public static let sequence: ClosedRange<Int64> = 1...Int64.max
    /// `cpus.total`: logical CPUs a node may report.
    public static let nodeCPUs: ClosedRange<Int64> = 1...4096
    /// `memory_mib.total`: up to 16 TiB.
    public static let nodeMemoryMiB: ClosedRange<Int64> = 1...16_777_216
    /// `kernel`: the `uname -r` string.
    public static let kernelBytes: ClosedRange<Int> = 1...256
    /// `backends`: at most this many entries.
    public static let backendsMax = 16
    /// `backends[].binary`: a path, at most PATH_MAX.
    public static let backendBinaryBytes: ClosedRange<Int> = 1...4096
    /// `backends[].version`: may be empty when the agent could not tell (then only `process` counts as supported).
    public static let backendVersionBytes: ClosedRange<Int> = 0...64

    // MARK: Labels (node labels and required labels alike)

    /// At most this many labels on a node or in an intent.
    public static let labelsMax = 64
    /// A label key: 1 to 63 bytes of `[A-Za-z0-9._/-]`.
    public static let labelKeyBytes: ClosedRange<Int> = 1...63
    /// A label value: any string up to 256 bytes (empty allowed).
    public static let labelValueBytes: ClosedRange<Int> = 0...256

    // MARK: Workload intent

    /// `name`: the workload's name, which spread counts replicas by.
    public static let workloadNameBytes: ClosedRange<Int> = 1...128
    /// `vcpus` a workload may ask for.
    public static let workloadVCPUs: ClosedRange<Int64> = 1...1024
    /// `memory_mib` a workload may ask for.
    public static let workloadMemoryMiB: ClosedRange<Int64> = 1...16_777_216
    /// `image.kernel`, `image.initrd`, `image.disk`: paths, at most PATH_MAX.
    public static let imagePathBytes: ClosedRange<Int> = 1...4096
    /// `image.cmdline`: the guest kernel command line.
    public static let kernelCmdlineBytes: ClosedRange<Int> = 0...4096
    /// `command` as an argument vector: at most this many arguments.
    public static let commandArgumentsMax = 256
    /// `command`: all arguments together, in bytes.
    public static let commandBytesMax = 4096

    // MARK: JSON

    /// How deeply arrays and objects may nest before the parser refuses, so hostile input
    /// cannot exhaust the stack.
    public static let jsonMaxDepth = 64
}
