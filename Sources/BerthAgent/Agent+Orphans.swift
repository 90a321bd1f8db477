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

// Reporting orphans and sweeping them (spec §6): the list goes to the control plane whenever it
// changes (`PUT /api/v1alpha1/agents/:node/orphans`), and orphans are killed only when an
// operator asked (`POST /api/v1alpha1/nodes/:id/orphans/sweep`), which reaches the agent as a
// `sweep_orphans` action naming exactly the processes it covers.
extension Agent {
    /// Sends the orphans when they differ from what the control plane acknowledged, or a sweep
    /// is to be reported done; one report at a time, off the watch loop.
    func reportOrphansIfChanged() {
        guard !reportingOrphans, reportedOrphans != knownOrphans || sweepToReport != nil else { return }
        reportingOrphans = true
        let orphans = knownOrphans
        let swept = sweepToReport
        Task {
            let delivered = await self.sendOrphans(orphans, swept: swept)
            await self.orphansReported(orphans, swept: swept, delivered: delivered)
        }
    }

    func orphansReported(_ orphans: [Orphan], swept: UInt64?, delivered: Bool) async {
        if delivered {
            reportedOrphans = orphans
            if sweepToReport == swept { sweepToReport = nil }
        } else {
            // Not before a moment has passed: the servers may all be down.
            try? await Task.sleep(for: .seconds(1))
        }
        reportingOrphans = false
    }

    private func sendOrphans(_ orphans: [Orphan], swept: UInt64?) async -> Bool {
        var body: [String: Any] = [
            "orphans": orphans.map {
                ["launch_id": $0.launchID, "pid": $0.process.pid, "start_time": $0.process.startTime] as [String: Any]
            }
        ]
        if let swept { body["swept"] = swept }
        guard let bytes = try? JSONSerialization.data(withJSONObject: body) else { return false }
        do {
            let answer = try await servers.send(
                "PUT", "/api/v1alpha1/agents/\(configuration.nodeID)/orphans", body: Array(bytes))
            if !answer.isSuccess {
                logger.warning("orphan report refused", metadata: ["status": "\(answer.status)"])
            }
            return answer.isSuccess
        } catch {
            return false
        }
    }

    /// Kills the orphans sweep `sweepID` covers — each only if it is still that process (same
    /// pid and start time), still carries this root's marker, and still has no record — then
    /// reports the orphans left. Whether the sweep was new.
    func sweep(_ sweepID: UInt64, orphans: [OrphanProcess]) -> Bool {
        guard !sweepsDone.contains(sweepID) else { return false }
        sweepsDone.insert(sweepID)
        let marked = MarkedProcess.scan(root: root.path)
        var killed: [String] = []
        for orphan in orphans {
            let identity = ProcessIdentity(pid: orphan.pid, startTime: orphan.startTime)
            guard launches[orphan.launchID] == nil,
                marked.contains(where: { $0.identity == identity && $0.launchID == orphan.launchID && $0.isGroupLeader }
                ),
                identity.isAlive()
            else { continue }
            kill(-identity.pid, SIGKILL)
            killed.append("\(orphan.launchID) (pid \(orphan.pid))")
        }
        logger.warning(
            "orphans swept on request",
            metadata: ["sweep": "\(sweepID)", "killed": "\(killed.joined(separator: ", "))"])
        Task {
            // Give the kernel a moment to reap them before the list is taken again.
            try? await Task.sleep(for: .milliseconds(200))
            await self.afterSweep(sweepID)
        }
        return true
    }

    func afterSweep(_ sweepID: UInt64) {
        scanOrphans()
        sweepToReport = sweepID
        reportOrphansIfChanged()
    }
}
