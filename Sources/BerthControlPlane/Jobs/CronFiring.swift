/// The leader's decision for one cron job at one moment: which due time to record as fired
/// next, and whether it runs. Pure (the leader passes its clock in); the apply of the resulting
/// `fireJob` command is what makes it exactly once, by refusing any due time not after the
/// job's last recorded one.
public struct CronFiring: Equatable, Sendable {
    /// The due time recorded as fired, ms since the epoch.
    public var dueMs: Int64
    /// Earlier due times passed over since the last recorded one (counted, never run). At most
    /// `CronFiring.countLimit` are counted one by one; beyond, the count is a lower bound.
    public var missed: Int
    /// False when the policy records the due time without running it (`skip` of a late one).
    public var runs: Bool

    public init(dueMs: Int64, missed: Int, runs: Bool) {
        self.dueMs = dueMs
        self.missed = missed
        self.runs = runs
    }

    /// A due time this late or less is on time, not missed.
    public static let graceMs: Int64 = 1500
    /// Due times walked one by one before looking only at a window before now.
    public static let countLimit = 10_000

    /// What to fire now for a job whose last recorded due time is `lastDueMs` (its creation
    /// time before the first), or nil when no due time has come. The latest due time at or
    /// before `nowMs` is the one recorded; those before it are missed. On time (within
    /// `graceMs`) it runs under either policy; late, it runs under `run_once` and is recorded
    /// without a run under `skip`, so the next decision starts after it either way.
    public static func decide(
        schedule: CronSchedule, zone: some ZoneRules, lastDueMs: Int64, nowMs: Int64, policy: MissedRunsPolicy
    ) -> CronFiring? {
        var cursor = lastDueMs
        var latest: Int64?
        var passed = 0
        while let next = schedule.nextDue(afterMs: cursor, in: zone), next <= nowMs {
            if latest != nil { passed += 1 }
            latest = next
            cursor = next
            if passed == countLimit { break }
        }
        if passed == countLimit {
            // Many due times missed (a long outage of a dense schedule): rather than walk them
            // all, find the latest in the shortest window before now that holds one. The count
            // is then a lower bound.
            for window: Int64 in [60_000, 3_600_000, 86_400_000, 31 * 86_400_000] where nowMs - window > cursor {
                var windowCursor = nowMs - window
                var found: Int64?
                while let next = schedule.nextDue(afterMs: windowCursor, in: zone), next <= nowMs {
                    if found != nil { passed += 1 }
                    found = next
                    windowCursor = next
                }
                if let found {
                    latest = found
                    break
                }
            }
        }
        guard let due = latest else { return nil }
        let onTime = nowMs - due <= graceMs
        return CronFiring(dueMs: due, missed: passed, runs: onTime || policy == .runOnce)
    }
}
