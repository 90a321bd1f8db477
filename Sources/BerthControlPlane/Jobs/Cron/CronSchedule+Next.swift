/// Next due times. Pure: the zone's offsets come from `ZoneRules`, and "now" is an argument.
///
/// Daylight-saving rule (documented in docs/jobs.md): a due time is a wall-clock reading in the
/// job's zone. One that does not exist (inside a spring-forward gap, e.g. 02:30 on the day
/// clocks go from 02:00 to 03:00) does not fire; one that exists twice (inside a fall-back
/// overlap) fires once, at its first occurrence.
extension CronSchedule {
    /// Days searched for a matching date before giving up (Feb 29 can be 8 years away).
    static let searchDays = 366 * 9

    /// The first due time strictly after `afterMs` (ms since the epoch), in ms; nil when none
    /// within `searchDays`.
    public func nextDue(afterMs: Int64, in zone: some ZoneRules) -> Int64? {
        let afterSeconds = CivilTime.floorDiv(afterMs, 1000)
        var civil = CivilTime(secondsSinceEpoch: afterSeconds + Int64(zone.offsetSeconds(atUTC: afterSeconds)))
        // Each pass moves past one matching wall-clock reading; a gap or an overlap's second
        // pass costs at most an hour's worth of them.
        for _ in 0..<100_000 {
            guard let candidate = nextCivil(after: civil) else { return nil }
            if let first = zone.instants(of: candidate).first, first > afterSeconds { return first * 1000 }
            civil = candidate
        }
        return nil
    }

    /// The first matching wall-clock reading strictly after `civil`.
    func nextCivil(after civil: CivilTime) -> CivilTime? {
        var t = CivilTime(secondsSinceEpoch: civil.secondsSinceEpoch + 1)
        for _ in 0..<(Self.searchDays + 120) {
            if !months.contains(t.month) {
                let nextMonth = t.month == 12 ? 1 : t.month + 1
                t = CivilTime(year: t.month == 12 ? t.year + 1 : t.year, month: nextMonth, day: 1)
                continue
            }
            if matchesDate(t), let time = firstTime(onOrAfter: t) {
                return CivilTime(
                    year: t.year, month: t.month, day: t.day, hour: time.0, minute: time.1, second: time.2)
            }
            t = CivilTime(secondsSinceEpoch: (t.daysSinceEpoch + 1) * 86_400)
        }
        return nil
    }

    /// The first (hour, minute, second) of the schedule at or after `t`'s time of day.
    private func firstTime(onOrAfter t: CivilTime) -> (Int, Int, Int)? {
        for hour in hours where hour >= t.hour {
            let sameHour = hour == t.hour
            for minute in minutes where !sameHour || minute >= t.minute {
                let sameMinute = sameHour && minute == t.minute
                if let second = seconds.first(where: { !sameMinute || $0 >= t.second }) {
                    return (hour, minute, second)
                }
            }
        }
        return nil
    }
}
