import BerthControlPlane
import Foundation

/// The host's architecture in the spec's names (`x86_64`, `aarch64`).
public enum HostArchitecture {
    /// The architecture `uname -m` (or another tool) reports as `machine`, normalized: other
    /// spellings of the same architecture are common (`amd64` from Debian tools, `arm64` from
    /// macOS and Go), and the envelope only accepts the kernel's names.
    public static func normalize(_ machine: String) -> Architecture? {
        switch machine.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() {
        case "x86_64", "amd64", "x86-64", "x64": return .x86_64
        case "aarch64", "arm64", "armv8", "armv8l", "aarch64_be": return .aarch64
        default: return nil
        }
    }

    /// `uname -m`.
    public static var machine: String {
        var names = utsname()
        uname(&names)
        return withUnsafeBytes(of: &names.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// `uname -r`: the running kernel's release.
    public static var kernelRelease: String {
        var names = utsname()
        uname(&names)
        return withUnsafeBytes(of: &names.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// This host's architecture, when it is one Berth runs.
    public static var current: Architecture? { normalize(machine) }
}
