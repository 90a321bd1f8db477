/// The version in a backend binary's `--version` output, as the envelope's `version`.
///
/// - `QEMU emulator version 8.2.2 (Debian 1:8.2.2+ds-0ubuntu1.4)` → `8.2.2`
/// - `cloud-hypervisor v40.0.0` → `40.0.0`
/// - `Firecracker v1.7.0` → `1.7.0`
public enum BackendVersionText {
    /// The first word of the first non-empty line that looks like a version (digits and dots,
    /// perhaps after a `v`), or nil. Distribution suffixes in parentheses come after it, so the
    /// first match is the upstream version.
    public static func parse(_ output: String) -> String? {
        guard let line = output.split(whereSeparator: \.isNewline).first(where: { !$0.allSatisfy(\.isWhitespace) })
        else { return nil }
        for word in line.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
            var rest = Substring(word)
            if rest.first == "v" || rest.first == "V" { rest = rest.dropFirst() }
            let version = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard let first = version.first, first.isNumber, version.contains(".") else { continue }
            return String(version.reversed().drop { $0 == "." }.reversed())
        }
        return nil
    }
}
