/// What a finished `process` launch printed, as its agent reports it with the terminal
/// transition: bounded, with a flag saying whether anything was cut.
public struct LaunchOutput: Codable, Equatable, Hashable, Sendable {
    public var stdout: String
    public var stderr: String
    /// Output was dropped: by the agent's capture limit, or by `bounded(to:)`.
    public var truncated: Bool

    /// The most bytes of stdout, and of stderr, a report carries and the state keeps.
    public static let reportLimitBytes = 64 * 1024

    public init(stdout: String, stderr: String, truncated: Bool) {
        self.stdout = stdout
        self.stderr = stderr
        self.truncated = truncated
    }

    /// The same output with each stream cut to its first `limit` bytes (at a character
    /// boundary), `truncated` set when anything was cut.
    public func bounded(to limit: Int = LaunchOutput.reportLimitBytes) -> LaunchOutput {
        let out = Self.prefix(stdout, limit)
        let err = Self.prefix(stderr, limit)
        return LaunchOutput(stdout: out.text, stderr: err.text, truncated: truncated || out.cut || err.cut)
    }

    static func prefix(_ text: String, _ limit: Int) -> (text: String, cut: Bool) {
        let bytes = Array(text.utf8)
        guard bytes.count > limit else { return (text, false) }
        var end = limit
        // Back off continuation bytes (10xxxxxx): never cut a character in half.
        while end > 0, bytes[end] & 0xC0 == 0x80 { end -= 1 }
        return (String(decoding: bytes[..<end], as: UTF8.self), true)
    }
}
