/// A cron schedule: which wall-clock seconds are due times.
///
/// Five fields as in crontab(5) — `minute hour day-of-month month day-of-week` — or six with a
/// leading `second` field (`* * * * * *` is every second; five fields mean second 0). Each
/// field is a comma list of `*`, `N`, `N-M`, with an optional `/step` (`*/15`, `10-50/20`,
/// `5/10` = from 5 to the field's maximum); months take `JAN`–`DEC` and weekdays `SUN`–`SAT`,
/// with 0 and 7 both Sunday. `@yearly` (`@annually`), `@monthly`, `@weekly`, `@daily`
/// (`@midnight`) and `@hourly` stand for their usual five fields. When both day fields are
/// restricted (neither starts with `*`) a day matches either, as in Vixie cron; otherwise both.
/// An expression no date can satisfy (`0 0 30 2 *`) is refused when parsed.
public struct CronSchedule: Equatable, Hashable, Sendable {
    public let seconds: [Int]
    public let minutes: [Int]
    public let hours: [Int]
    public let daysOfMonth: Set<Int>
    public let months: Set<Int>
    /// 0 = Sunday … 6 = Saturday.
    public let weekdays: Set<Int>
    let daysOfMonthRestricted: Bool
    let weekdaysRestricted: Bool
    /// The expression as written.
    public let text: String

    public init(parsing text: String) throws(CronError) {
        self.text = text
        var fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        if fields.count == 1, let expanded = Self.macros[fields[0].lowercased()] {
            fields = expanded.split(separator: " ").map(String.init)
        } else if fields.first?.hasPrefix("@") == true {
            throw CronError(field: "schedule", message: "unknown macro \(fields[0])")
        }
        guard fields.count == 5 || fields.count == 6 else {
            throw CronError(
                field: "schedule",
                message: "a schedule has 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first; got \(fields.count)"
            )
        }
        if fields.count == 5 { fields.insert("0", at: 0) }
        seconds = try Self.parse(fields[0], name: "second", range: 0...59).values.sorted()
        minutes = try Self.parse(fields[1], name: "minute", range: 0...59).values.sorted()
        hours = try Self.parse(fields[2], name: "hour", range: 0...23).values.sorted()
        let dom = try Self.parse(fields[3], name: "day-of-month", range: 1...31)
        let month = try Self.parse(fields[4], name: "month", range: 1...12, names: Self.monthNames)
        let dow = try Self.parse(fields[5], name: "day-of-week", range: 0...7, names: Self.weekdayNames)
        daysOfMonth = dom.values
        months = month.values
        weekdays = Set(dow.values.map { $0 % 7 })
        daysOfMonthRestricted = !dom.starred
        weekdaysRestricted = !dow.starred
        // Only a day-of-month alone can never match (a weekday occurs in every month).
        if daysOfMonthRestricted, !weekdaysRestricted {
            let possible = months.contains { month in
                daysOfMonth.contains { $0 <= CivilTime.daysIn(month: month, year: 2000) }
            }
            guard possible else {
                throw CronError(field: "schedule", message: "\(text) names no date that exists")
            }
        }
    }

    /// Whether the date of `civil` matches the day and month fields.
    func matchesDate(_ civil: CivilTime) -> Bool {
        guard months.contains(civil.month) else { return false }
        let domMatch = daysOfMonth.contains(civil.day)
        let dowMatch = weekdays.contains(civil.weekday)
        if daysOfMonthRestricted && weekdaysRestricted { return domMatch || dowMatch }
        return domMatch && dowMatch
    }

    static let macros: [String: String] = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]
    static let monthNames = [
        "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
        "nov": 11, "dec": 12,
    ]
    static let weekdayNames = ["sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6]

    private static func parse(
        _ field: String, name: String, range: ClosedRange<Int>, names: [String: Int] = [:]
    ) throws(CronError) -> (values: Set<Int>, starred: Bool) {
        func fail(_ why: String) -> CronError {
            CronError(field: "schedule", message: "\(name) field \"\(field)\": \(why)")
        }
        func number(_ text: Substring) throws(CronError) -> Int {
            if let value = Int(text), range.contains(value) { return value }
            if let value = names[text.lowercased()] { return value }
            throw fail("\(text) is not in \(range.lowerBound)–\(range.upperBound)")
        }
        var values: Set<Int> = []
        for item in field.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2, !parts[0].isEmpty else { throw fail("malformed item \"\(item)\"") }
            var step = 1
            if parts.count == 2 {
                guard let value = Int(parts[1]), value >= 1, value <= range.upperBound else {
                    throw fail("step \"\(parts[1])\" must be 1–\(range.upperBound)")
                }
                step = value
            }
            let low: Int
            let high: Int
            if parts[0] == "*" {
                (low, high) = (range.lowerBound, range.upperBound)
            } else if let dash = parts[0].firstIndex(of: "-") {
                low = try number(parts[0][..<dash])
                high = try number(parts[0][parts[0].index(after: dash)...])
                guard low <= high else { throw fail("range \(parts[0]) runs backwards") }
            } else {
                low = try number(parts[0])
                high = parts.count == 2 ? range.upperBound : low
            }
            values.formUnion(stride(from: low, through: high, by: step))
        }
        return (values, field.hasPrefix("*"))
    }
}

/// A schedule that does not parse: `INVALID_SCHEDULE` (400) with the reason.
public struct CronError: Error, Equatable, Sendable {
    public static let code = "INVALID_SCHEDULE"
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
}
