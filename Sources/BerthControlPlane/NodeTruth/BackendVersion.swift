/// A backend's version reduced to major.minor.patch, enough to compare against the minimums.
/// Agents report the binary's own version string; a leading `v` and anything after the numeric
/// part (`-rc1`, `+ds`, ` (Debian 1:8.2.2)`) are ignored.
public struct BackendVersion: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int

    public init(_ major: Int, _ minor: Int = 0, _ patch: Int = 0) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// The version `text` starts with, or nil when it does not start with a number.
    public init?(parsing text: String) {
        var bytes = Substring(text).utf8[...]
        if let first = bytes.first, first == UInt8(ascii: "v") || first == UInt8(ascii: "V") {
            bytes = bytes.dropFirst()
        }
        var parts: [Int] = []
        while parts.count < 3 {
            var value = 0
            var digits = 0
            while let byte = bytes.first, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                // Absurd lengths saturate instead of overflowing; no real version has them.
                value = min(value * 10 + Int(byte - UInt8(ascii: "0")), 1_000_000_000)
                digits += 1
                bytes = bytes.dropFirst()
            }
            guard digits > 0 else { break }
            parts.append(value)
            guard bytes.first == UInt8(ascii: "."), parts.count < 3 else { break }
            bytes = bytes.dropFirst()
        }
        guard let major = parts.first else { return nil }
        self.init(major, parts.count > 1 ? parts[1] : 0, parts.count > 2 ? parts[2] : 0)
    }

    public static func < (lhs: BackendVersion, rhs: BackendVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
    }

    public var description: String {
        patch == 0 ? "\(major).\(minor)" : "\(major).\(minor).\(patch)"
    }
}
