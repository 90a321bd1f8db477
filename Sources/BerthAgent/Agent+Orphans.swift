import BerthControlPlane
import Foundation
import Logging

/// An orphan: a workload of this agent's root that no launch record owns.
public struct Orphan: Codable, Equatable, Sendable {
    public var launchID: String
    public var process: ProcessIdentity

    enum CodingKeys: String, CodingKey {
        case launchID = "launch_id"
        case process
    }
}

// Orphans (spec §6): workloads that carry this agent's marker but that no record owns. They are
// listed in `<root>/orphans.json` and logged, never killed: only an explicit sweep may do that.
extension Agent {
    /// The orphans now, recorded and logged when they changed.
    @discardableResult
    func scanOrphans() -> [Orphan] {
        let orphans = MarkedProcess.scan(root: root.path)
            .filter { $0.isGroupLeader && launches[$0.launchID] == nil }
            .map { Orphan(launchID: $0.launchID, process: $0.identity) }
        if orphans != knownOrphans {
            for orphan in orphans where !knownOrphans.contains(orphan) {
                logger.warning(
                    "orphan workload: it carries this agent's marker but no launch record owns it",
                    metadata: ["launch": "\(orphan.launchID)", "pid": "\(orphan.process.pid)"])
            }
            knownOrphans = orphans
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            if let bytes = try? encoder.encode(orphans), let path = try? root.resolve("orphans.json") {
                try? AtomicFile.write(Array(bytes), to: path)
            }
        }
        return orphans
    }

    /// The workload of a launch recorded as `starting` without a pid (the agent died between the
    /// spawn and the record), found by its marker, with its keeper (its parent).
    func findStartedWorkload(_ launchID: String) -> ProcessHandle? {
        guard
            let workload = MarkedProcess.scan(root: root.path).first(where: {
                $0.launchID == launchID && $0.isGroupLeader
            }),
            let directory = try? backend.launchDirectory(launchID)
        else { return nil }
        var keeper: ProcessIdentity?
        if let text = try? String(contentsOfFile: "/proc/\(workload.identity.pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")"),
            let parent = text[text.index(after: close)...].split(separator: " ").dropFirst().first.flatMap({
                Int32($0)
            }), parent > 1
        {
            keeper = ProcessIdentity.current(pid: parent)
        }
        return ProcessHandle(
            workload: workload.identity, keeper: keeper, stdoutPath: directory + "/stdout",
            stderrPath: directory + "/stderr", statusPath: directory + "/exit")
    }
}
