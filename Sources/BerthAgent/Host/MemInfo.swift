/// The parts of `/proc/meminfo` the fingerprint uses.
public struct MemInfo: Equatable, Sendable {
    public var totalKiB: Int
    /// `MemAvailable`, when the kernel reports it (3.14 and later).
    public var availableKiB: Int?

    public var totalMiB: Int { totalKiB / 1024 }

    /// Reads `MemTotal:` and `MemAvailable:` lines (`Name:   12345 kB`); nil without a total.
    public init?(parsing text: String) {
        var total: Int?
        var available: Int?
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon]
            guard name == "MemTotal" || name == "MemAvailable" else { continue }
            let fields = line[line.index(after: colon)...].split(separator: " ", omittingEmptySubsequences: true)
            guard let number = fields.first.flatMap({ Int($0) }), number >= 0 else { continue }
            // Every kernel writes kB; a unit-less number is bytes on no real system, but be exact.
            let kib = fields.count > 1 && fields[1].lowercased() == "kb" ? number : number / 1024
            if name == "MemTotal" { total = kib } else { available = kib }
        }
        guard let total else { return nil }
        self.totalKiB = total
        self.availableKiB = available
    }
}
