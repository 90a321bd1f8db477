import BerthControlPlane
import BerthStorage
import Foundation

/// The leader's cron and retry ticker. Several times a second the leader reads its cron jobs
/// and owed retries from the replicated state and proposes what is due, stamped with its
/// clock: `fireJob` for a cron due time (`CronFiring` decides which, by the job's
/// `missed_runs`), `retryJob` for a retry whose backoff has passed. Only the leader ticks, and
/// the apply refuses a due time already recorded and a retry already started, so a new leader
/// (or this one proposing twice) never fires anything twice: it continues from the replicated
/// `last_due_ms` and `retry_at_ms`.
extension BerthNode {
    /// How often the leader looks for due times and owed retries (a due time fires within this
    /// of its time, plus one commit).
    static let jobTickInterval: Duration = .milliseconds(100)

    func startJobTicker() {
        Task { [weak self] in
            var zones = ZoneCache()
            var schedules: [String: CronSchedule] = [:]
            var readyTerm: UInt64?
            while let node = self, !node.isStopping {
                await node.tickJobs(zones: &zones, schedules: &schedules, readyTerm: &readyTerm)
                try? await Task.sleep(for: Self.jobTickInterval)
            }
        }
    }

    /// One pass. Paused, nothing fires and no retry starts; due times passed meanwhile are
    /// missed, and the first pass after the resume applies each job's `missed_runs` to them.
    /// A new leader first waits until it has applied everything committed before its term
    /// (a read barrier), so its decisions start from the last recorded due times: a stale
    /// state could not fire twice (the apply refuses), but it would miscount the missed ones.
    private func tickJobs(
        zones: inout ZoneCache, schedules: inout [String: CronSchedule], readyTerm: inout UInt64?
    ) async {
        let status = raft.basicStatus
        guard status.role == .leader else { return }
        if readyTerm != status.term {
            guard (try? await awaitLinearizableRead()) != nil else { return }
            readyTerm = status.term
        }
        guard (try? raft.state.schedulerState().paused) == false else { return }
        let nowMs = WallClock.nowMilliseconds()
        for job in (try? raft.state.scheduledJobs()) ?? [] {
            guard raft.basicStatus.role == .leader else { return }
            guard let plan = job.plan, let text = plan.schedule, let lastDueMs = job.lastDueMs else { continue }
            let schedule: CronSchedule
            if let cached = schedules[text] {
                schedule = cached
            } else {
                guard let parsed = try? CronSchedule(parsing: text) else { continue }
                schedules[text] = parsed
                schedule = parsed
            }
            guard let zone = zones.rules(for: plan.timeZone),
                let firing = CronFiring.decide(
                    schedule: schedule, zone: zone, lastDueMs: lastDueMs, nowMs: nowMs, policy: plan.missedRunsPolicy)
            else { continue }
            let result = await propose(
                .fireJob(
                    .init(jobID: job.id, dueMs: firing.dueMs, missed: firing.missed, runs: firing.runs, atMs: nowMs)))
            if case .success(.jobFired(let fire)) = result {
                logger.info(
                    "cron due time fired",
                    metadata: [
                        "job": "\(fire.jobID)", "due_ms": "\(fire.dueMs)", "missed": "\(fire.missed)",
                        "outcome": "\(fire.outcome.rawValue)",
                    ])
            }
        }
        for job in (try? raft.state.jobsAwaitingRetry(dueBy: nowMs)) ?? [] {
            guard raft.basicStatus.role == .leader else { return }
            _ = await propose(.retryJob(.init(jobID: job.id, runNumber: job.runCount, atMs: nowMs)))
        }
    }
}

/// `ZoneRules` from the IANA database, through Foundation's `TimeZone` (the control plane
/// stays free of it).
struct FoundationZoneRules: ZoneRules {
    let zone: TimeZone

    func offsetSeconds(atUTC utcSeconds: Int64) -> Int {
        zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(utcSeconds)))
    }
}

/// Zones by name, looked up once.
struct ZoneCache {
    private var zones: [String: FoundationZoneRules] = [:]

    /// The rules of zone `name` (UTC when nil); nil for a name the database does not know.
    mutating func rules(for name: String?) -> FoundationZoneRules? {
        let key = name ?? "UTC"
        if let known = zones[key] { return known }
        guard let zone = TimeZone(identifier: key) else { return nil }
        let rules = FoundationZoneRules(zone: zone)
        zones[key] = rules
        return rules
    }
}
