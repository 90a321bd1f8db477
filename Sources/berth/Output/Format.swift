/// Numbers and durations as tables show them.
enum Format {
    /// Up to three decimals, trailing zeros dropped: 0.912, 1.5, 2.
    static func decimal(_ value: Double) -> String {
        let thousandths = (value * 1000).rounded()
        let whole = Int64(thousandths / 1000)
        var fraction = Int64(abs(thousandths.truncatingRemainder(dividingBy: 1000)))
        let sign = value < 0 && whole == 0 && fraction != 0 ? "-" : ""
        guard fraction != 0 else { return "\(sign)\(whole)" }
        var digits = 3
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        let padded = String(repeating: "0", count: digits - String(fraction).count) + String(fraction)
        return "\(sign)\(whole).\(padded)"
    }

    /// A duration in milliseconds as people read it: 850ms, 12.3s, 10m0s, 2h5m.
    static func duration(milliseconds ms: Int64) -> String {
        if ms < 1000 { return "\(ms)ms" }
        if ms < 60_000 { return decimalSeconds(ms) }
        let seconds = ms / 1000
        if seconds < 3600 { return "\(seconds / 60)m\(seconds % 60)s" }
        return "\(seconds / 3600)h\((seconds % 3600) / 60)m"
    }

    private static func decimalSeconds(_ ms: Int64) -> String {
        let tenths = (ms + 50) / 100
        return tenths % 10 == 0 ? "\(tenths / 10)s" : "\(tenths / 10).\(tenths % 10)s"
    }
}
