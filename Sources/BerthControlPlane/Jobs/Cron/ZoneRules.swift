/// A time zone as cron needs it: the UTC offset in force at an instant. The control plane stays
/// pure by asking this instead of a calendar library; the server answers it from the IANA
/// database (`TimeZone`), tests from fixed rules.
public protocol ZoneRules: Sendable {
    /// Seconds to add to UTC to get the wall clock, at `utcSeconds` since the epoch.
    func offsetSeconds(atUTC utcSeconds: Int64) -> Int
}

/// A zone that never changes its offset (UTC is `FixedOffsetZone(seconds: 0)`).
public struct FixedOffsetZone: ZoneRules, Equatable {
    public var seconds: Int

    public init(seconds: Int) { self.seconds = seconds }

    public static let utc = FixedOffsetZone(seconds: 0)

    public func offsetSeconds(atUTC utcSeconds: Int64) -> Int { seconds }
}

extension ZoneRules {
    /// The UTC instants at which the wall clock reads `civil`: none in a spring-forward gap,
    /// two in a fall-back overlap (earlier first), one otherwise. Offsets in force a day either
    /// side are the only candidates (zones change offset at most once a day in practice).
    public func instants(of civil: CivilTime) -> [Int64] {
        let wall = civil.secondsSinceEpoch
        var offsets: [Int] = []
        for probe in [wall - 86_400, wall, wall + 86_400] {
            let offset = offsetSeconds(atUTC: probe)
            if !offsets.contains(offset) { offsets.append(offset) }
        }
        var instants: [Int64] = []
        for offset in offsets {
            let utc = wall - Int64(offset)
            if offsetSeconds(atUTC: utc) == offset, !instants.contains(utc) { instants.append(utc) }
        }
        return instants.sorted()
    }
}
