import BerthControlPlane
import Testing

/// Cron parsing and next due times, with no clock and no time-zone database: the zones are
/// fixed rules written here.
@Suite struct CronScheduleTests {
    /// New York's 2026 rules: EDT (−4 h) from 2026-03-08 07:00 UTC (02:00 EST → 03:00 EDT) to
    /// 2026-11-01 06:00 UTC (02:00 EDT → 01:00 EST), EST (−5 h) otherwise.
    struct NewYork2026: ZoneRules {
        static let springForward = CivilTime(year: 2026, month: 3, day: 8, hour: 7).secondsSinceEpoch
        static let fallBack = CivilTime(year: 2026, month: 11, day: 1, hour: 6).secondsSinceEpoch
        func offsetSeconds(atUTC utcSeconds: Int64) -> Int {
            utcSeconds >= Self.springForward && utcSeconds < Self.fallBack ? -4 * 3600 : -5 * 3600
        }
    }

    func ms(_ civil: CivilTime) -> Int64 { civil.secondsSinceEpoch * 1000 }
    func utc(_ y: Int, _ mo: Int, _ d: Int, _ h: Int = 0, _ mi: Int = 0, _ s: Int = 0) -> Int64 {
        ms(CivilTime(year: y, month: mo, day: d, hour: h, minute: mi, second: s))
    }

    /// The next `count` due times after `start`, as UTC wall-clock strings.
    func dues(_ text: String, after start: Int64, count: Int, zone: some ZoneRules = FixedOffsetZone.utc) throws
        -> [String]
    {
        let schedule = try CronSchedule(parsing: text)
        var cursor = start
        var out: [String] = []
        for _ in 0..<count {
            guard let next = schedule.nextDue(afterMs: cursor, in: zone) else { break }
            out.append(CivilTime(secondsSinceEpoch: next / 1000).description)
            cursor = next
        }
        return out
    }

    @Test("civil dates round-trip through days since the epoch, weekdays included")
    func civilArithmetic() {
        #expect(CivilTime(secondsSinceEpoch: 0).description == "1970-01-01T00:00:00")
        #expect(CivilTime(year: 1970, month: 1, day: 1).weekday == 4)
        #expect(CivilTime(year: 2024, month: 2, day: 29).weekday == 4)
        #expect(CivilTime(year: 2000, month: 3, day: 1).daysSinceEpoch == 11_017)
        let instant: Int64 = 1_782_345_678
        #expect(CivilTime(secondsSinceEpoch: instant).secondsSinceEpoch == instant)
        #expect(CivilTime(secondsSinceEpoch: -1).description == "1969-12-31T23:59:59")
    }

    @Test("*/n, ranges, lists and names")
    func fields() throws {
        #expect(
            try dues("*/15 * * * *", after: utc(2026, 1, 1, 10, 7), count: 3)
                == ["2026-01-01T10:15:00", "2026-01-01T10:30:00", "2026-01-01T10:45:00"])
        #expect(
            try dues("0 9-11 * * *", after: utc(2026, 1, 1, 10, 30), count: 3)
                == ["2026-01-01T11:00:00", "2026-01-02T09:00:00", "2026-01-02T10:00:00"])
        #expect(
            try dues("5,35 8 * * MON-FRI", after: utc(2026, 1, 2, 9), count: 3)  // Friday after 08:35
                == ["2026-01-05T08:05:00", "2026-01-05T08:35:00", "2026-01-06T08:05:00"])
        #expect(
            try dues("0 0 1 jan,jul *", after: utc(2026, 1, 1), count: 2)
                == ["2026-07-01T00:00:00", "2027-01-01T00:00:00"])
        #expect(try dues("10-50/20 0 1 1 *", after: utc(2026, 1, 1), count: 3).count == 3)
        #expect(
            try dues("0 0 * * 7", after: utc(2026, 1, 1), count: 1) == ["2026-01-04T00:00:00"])  // 7 is Sunday
        #expect(try dues("@hourly", after: utc(2026, 1, 1, 0, 0, 1), count: 1) == ["2026-01-01T01:00:00"])
    }

    @Test("six fields: seconds first; every second is * * * * * *")
    func seconds() throws {
        #expect(
            try dues("* * * * * *", after: utc(2026, 1, 1, 23, 59, 58) + 500, count: 3)
                == ["2026-01-01T23:59:59", "2026-01-02T00:00:00", "2026-01-02T00:00:01"])
        #expect(
            try dues("*/20 * * * * *", after: utc(2026, 1, 1), count: 3)
                == ["2026-01-01T00:00:20", "2026-01-01T00:00:40", "2026-01-01T00:01:00"])
    }

    @Test("month ends: the 31st skips short months, Feb 29 waits for a leap year")
    func monthEnds() throws {
        #expect(
            try dues("0 0 31 * *", after: utc(2026, 1, 31), count: 3)
                == ["2026-03-31T00:00:00", "2026-05-31T00:00:00", "2026-07-31T00:00:00"])
        #expect(
            try dues("0 12 29 2 *", after: utc(2025, 3, 1), count: 2)
                == ["2028-02-29T12:00:00", "2032-02-29T12:00:00"])
        // Day of month or weekday when both are restricted (Vixie cron).
        #expect(
            try dues("0 0 13 * FRI", after: utc(2026, 2, 1), count: 3)
                == ["2026-02-06T00:00:00", "2026-02-13T00:00:00", "2026-02-20T00:00:00"])
    }

    @Test("spring forward: a wall-clock time in the skipped hour does not fire that day")
    func springForward() throws {
        let zone = NewYork2026()
        // 02:30 New York: 07:30 UTC in winter; on 2026-03-08 there is no 02:30; then 06:30 UTC.
        #expect(
            try dues("30 2 * * *", after: utc(2026, 3, 6, 12), count: 3, zone: zone)
                == ["2026-03-07T07:30:00", "2026-03-09T06:30:00", "2026-03-10T06:30:00"])
        // Every 30 minutes across the gap: 01:30 EST, then 03:00 EDT.
        #expect(
            try dues("*/30 * * * *", after: utc(2026, 3, 8, 6, 15), count: 3, zone: zone)
                == ["2026-03-08T06:30:00", "2026-03-08T07:00:00", "2026-03-08T07:30:00"])
    }

    @Test("fall back: a wall-clock time in the repeated hour fires once, at its first occurrence")
    func fallBack() throws {
        let zone = NewYork2026()
        // 01:30 New York exists at 05:30 UTC (EDT) and 06:30 UTC (EST) on 2026-11-01: the first.
        #expect(
            try dues("30 1 * * *", after: utc(2026, 10, 31, 12), count: 2, zone: zone)
                == ["2026-11-01T05:30:00", "2026-11-02T06:30:00"])
        // Hourly across the repeated hour: 00:00, 01:00 (EDT), 02:00 (EST) — 01:00 EST is not
        // fired again, even when asked from inside the second pass.
        #expect(
            try dues("0 * * * *", after: utc(2026, 11, 1, 3, 30), count: 3, zone: zone)
                == ["2026-11-01T04:00:00", "2026-11-01T05:00:00", "2026-11-01T07:00:00"])
        #expect(
            try dues("0 * * * *", after: utc(2026, 11, 1, 6, 10), count: 1, zone: zone) == ["2026-11-01T07:00:00"])
    }

    @Test("invalid expressions are refused with the field and INVALID_SCHEDULE")
    func invalid() {
        for text in [
            "", "* * * *", "* * * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8",
            "*/0 * * * *", "5-1 * * * *", "a * * * *", ",1 * * * *", "@sometimes", "0 0 30 2 *", "1/x * * * *",
        ] {
            #expect(throws: CronError.self, "\(text)") { try CronSchedule(parsing: text) }
        }
        #expect(CronError.code == "INVALID_SCHEDULE")
    }

    @Test("the leader's firing decision: on time, run_once after a gap, skip after a gap")
    func firing() throws {
        let everySecond = try CronSchedule(parsing: "* * * * * *")
        let start = utc(2026, 1, 1)
        // Nothing due yet.
        #expect(
            CronFiring.decide(
                schedule: everySecond, zone: FixedOffsetZone.utc, lastDueMs: start, nowMs: start + 999,
                policy: .runOnce) == nil)
        // On time: the next due time, nothing missed.
        #expect(
            CronFiring.decide(
                schedule: everySecond, zone: FixedOffsetZone.utc, lastDueMs: start, nowMs: start + 1200,
                policy: .skip) == CronFiring(dueMs: start + 1000, missed: 0, runs: true))
        // Five seconds without a leader, run_once: one run for the latest, four missed.
        #expect(
            CronFiring.decide(
                schedule: everySecond, zone: FixedOffsetZone.utc, lastDueMs: start, nowMs: start + 5100,
                policy: .runOnce) == CronFiring(dueMs: start + 5000, missed: 4, runs: true))
        // The same under skip: the latest is on time (within the grace), so it runs.
        #expect(
            CronFiring.decide(
                schedule: everySecond, zone: FixedOffsetZone.utc, lastDueMs: start, nowMs: start + 5100,
                policy: .skip) == CronFiring(dueMs: start + 5000, missed: 4, runs: true))
        // Two days down with an every-second schedule: the latest due time is found without
        // walking all 172,800 (the count is then a lower bound).
        let twoDays = CronFiring.decide(
            schedule: everySecond, zone: FixedOffsetZone.utc, lastDueMs: start, nowMs: start + 172_800_500,
            policy: .runOnce)
        #expect(twoDays?.dueMs == start + 172_800_000 && twoDays?.runs == true)
        #expect((twoDays?.missed ?? 0) >= CronFiring.countLimit)
        // An hourly job whose due time passed 10 minutes ago: run_once runs it, skip records it.
        let hourly = try CronSchedule(parsing: "0 * * * *")
        let late = utc(2026, 1, 1, 1, 10)
        #expect(
            CronFiring.decide(schedule: hourly, zone: FixedOffsetZone.utc, lastDueMs: start, nowMs: late, policy: .skip)
                == CronFiring(dueMs: utc(2026, 1, 1, 1), missed: 0, runs: false))
        #expect(
            CronFiring.decide(
                schedule: hourly, zone: FixedOffsetZone.utc, lastDueMs: start, nowMs: late, policy: .runOnce)
                == CronFiring(dueMs: utc(2026, 1, 1, 1), missed: 0, runs: true))
    }
}
