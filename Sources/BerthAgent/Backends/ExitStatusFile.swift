/// How a workload ended, as its keeper wrote it: `exit N` or `signal N` (or `unknown 0`), then
/// `stdout_dropped N` and `stderr_dropped N`, the bytes beyond the output limit.
public struct ExitStatusFile: Equatable, Sendable {
    public enum Ending: Equatable, Sendable {
        case exited(Int32)
        case signaled(Int32)
        case unknown
    }

    public var ending: Ending
    public var stdoutDropped: Int64
    public var stderrDropped: Int64

    public init?(parsing text: String) {
        var ending: Ending?
        var stdoutDropped: Int64 = 0
        var stderrDropped: Int64 = 0
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let number = Int64(parts[1]) else { continue }
            switch parts[0] {
            case "exit": ending = Int32(exactly: number).map(Ending.exited)
            case "signal": ending = Int32(exactly: number).map(Ending.signaled)
            case "unknown": ending = .unknown
            case "stdout_dropped": stdoutDropped = number
            case "stderr_dropped": stderrDropped = number
            default: continue
            }
        }
        guard let ending else { return nil }
        self.ending = ending
        self.stdoutDropped = stdoutDropped
        self.stderrDropped = stderrDropped
    }

    /// Whether output was cut at the limit.
    public var truncated: Bool { stdoutDropped > 0 || stderrDropped > 0 }
}
