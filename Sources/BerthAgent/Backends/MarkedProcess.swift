import Foundation

/// A process carrying Berth's marker (`BERTH_LAUNCH_ID`, `BERTH_AGENT_ROOT`) in its environment:
/// a workload an agent started, or a descendant of one. Found by scanning `/proc`, so workloads
/// are found even when no record names them (an agent killed between spawn and record, a
/// wiped root).
public struct MarkedProcess: Equatable, Sendable {
    public var identity: ProcessIdentity
    public var launchID: String
    public var root: String
    /// The process group (field 5 of stat): a workload leads its own, its children share it.
    public var processGroup: Int32

    /// Whether this is the workload itself rather than one of its children.
    public var isGroupLeader: Bool { processGroup == identity.pid }

    /// The marked processes under `proc` started by the agent of `root`. Processes that cannot
    /// be read (another user's, or gone meanwhile) are skipped.
    public static func scan(root: String, proc: String = "/proc") -> [MarkedProcess] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: proc) else { return [] }
        var found: [MarkedProcess] = []
        for entry in entries {
            guard let pid = Int32(entry), pid > 0,
                let environ = FileManager.default.contents(atPath: "\(proc)/\(pid)/environ"),
                let marked = Self.markers(in: environ), marked.root == root,
                let text = try? String(contentsOfFile: "\(proc)/\(pid)/stat", encoding: .utf8),
                let stat = ProcStat(parsing: text), stat.state != "Z",
                let group = Self.processGroup(statLine: text)
            else { continue }
            found.append(
                MarkedProcess(
                    identity: ProcessIdentity(pid: pid, startTime: stat.startTime), launchID: marked.launchID,
                    root: marked.root, processGroup: group))
        }
        return found.sorted { $0.identity.pid < $1.identity.pid }
    }

    /// The launch id and root from a NUL-separated environment block, when both are there.
    static func markers(in environ: Data) -> (launchID: String, root: String)? {
        var launchID: String?
        var root: String?
        let launchPrefix = Array((ProcessBackend.markerVariable + "=").utf8)
        let rootPrefix = Array((ProcessBackend.rootMarkerVariable + "=").utf8)
        for variable in environ.split(separator: 0) {
            let bytes = Array(variable)
            if bytes.starts(with: launchPrefix) {
                launchID = String(decoding: bytes.dropFirst(launchPrefix.count), as: UTF8.self)
            } else if bytes.starts(with: rootPrefix) {
                root = String(decoding: bytes.dropFirst(rootPrefix.count), as: UTF8.self)
            }
        }
        guard let launchID, let root, !launchID.isEmpty else { return nil }
        return (launchID, root)
    }

    /// Field 5 of a stat line (counted after the command name, like `ProcStat`).
    static func processGroup(statLine: String) -> Int32? {
        guard let close = statLine.lastIndex(of: ")") else { return nil }
        let fields = statLine[statLine.index(after: close)...].split(separator: " ")
        return fields.count > 2 ? Int32(fields[2]) : nil
    }
}
