import Foundation

/// The fields of `/proc/<pid>/stat` that identify a process over time.
public struct ProcStat: Equatable, Sendable {
    /// Field 3: `R`, `S`, `D`, `Z` (zombie: exited, not yet reaped), ….
    public var state: Character
    /// Field 22: when the process started, in clock ticks after boot. A pid is reused only by a
    /// process that started later, so (pid, start time) names one process for the host's uptime.
    public var startTime: UInt64

    /// Parses a stat line. The command name (field 2) is in parentheses and may itself contain
    /// spaces and parentheses, so the fields are counted from the last `)`.
    public init?(parsing line: String) {
        guard let close = line.lastIndex(of: ")") else { return nil }
        let fields = line[line.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        // fields[0] is field 3 (state); field 22 is fields[19].
        guard fields.count > 19, let state = fields[0].first,
            let start = UInt64(fields[19].trimmingCharacters(in: .whitespacesAndNewlines))
        else { return nil }
        self.state = state
        self.startTime = start
    }

    /// The stat of `pid`, or nil when there is no such process.
    public static func read(pid: Int32, proc: String = "/proc") -> ProcStat? {
        guard let text = try? String(contentsOfFile: "\(proc)/\(pid)/stat", encoding: .utf8) else { return nil }
        return ProcStat(parsing: text)
    }
}

/// One process, named so that a reused pid is not mistaken for it.
public struct ProcessIdentity: Codable, Equatable, Hashable, Sendable {
    public var pid: Int32
    public var startTime: UInt64

    public init(pid: Int32, startTime: UInt64) {
        self.pid = pid
        self.startTime = startTime
    }

    /// The identity of the process `pid` is now, if any.
    public static func current(pid: Int32, proc: String = "/proc") -> ProcessIdentity? {
        ProcStat.read(pid: pid, proc: proc).map { ProcessIdentity(pid: pid, startTime: $0.startTime) }
    }

    /// Whether this process still runs: its pid exists, started at the same time (not a reuse),
    /// and is not a zombie (which has exited already).
    public func isAlive(proc: String = "/proc") -> Bool {
        guard let stat = ProcStat.read(pid: pid, proc: proc) else { return false }
        return stat.startTime == startTime && stat.state != "Z" && stat.state != "X"
    }

    enum CodingKeys: String, CodingKey {
        case pid
        case startTime = "start_time"
    }
}
