import Foundation

/// The Schedune README's fleet, `fixtures/payments/` in the repository: four SchedulerEnvelopes
/// and the payments WorkloadIntent (4 vCPU, 8 GiB, KVM). Read from disk rather than embedded, so
/// that the demo, the tests and the docs show the one copy; `berth demo` looks for it under the
/// current directory (the repository root for `swift run berth demo`), then above the `berth`
/// executable (`.build/debug/berth` in a clone).
struct PaymentsFixture {
    static let relativePath = "fixtures/payments"
    /// The envelope files, in the order the demo sends them.
    static let nodes = ["arm-01", "arm-02", "x86-02", "edge-01"]

    let directory: String
    /// Each node's envelope JSON as written (fixed timestamps), in `nodes` order.
    let envelopes: [String]
    let intent: String

    var intentPath: String { "\(directory)/intent.json" }

    /// Loads the fixture from `override`, or from the first place it is found.
    static func load(override: String?) throws -> PaymentsFixture {
        let candidates = override.map { [$0] } ?? searchPath()
        guard let directory = candidates.first(where: { isFixture($0) }) else {
            throw Missing(searched: candidates, override: override != nil)
        }
        return PaymentsFixture(
            directory: directory,
            envelopes: try nodes.map { try String(contentsOfFile: "\(directory)/\($0).json", encoding: .utf8) },
            intent: try String(contentsOfFile: "\(directory)/intent.json", encoding: .utf8))
    }

    /// `./fixtures/payments`, then `fixtures/payments` in each directory above the executable.
    private static func searchPath() -> [String] {
        var candidates = [FileManager.default.currentDirectoryPath + "/" + relativePath]
        var directory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent(relativePath).path
            if !candidates.contains(candidate) { candidates.append(candidate) }
            directory.deleteLastPathComponent()
        }
        return candidates
    }

    private static func isFixture(_ directory: String) -> Bool {
        (nodes + ["intent"]).allSatisfy { FileManager.default.fileExists(atPath: "\(directory)/\($0).json") }
    }

    struct Missing: Error, CustomStringConvertible {
        let searched: [String]
        let override: Bool
        var description: String {
            let files = (PaymentsFixture.nodes + ["intent"]).map { "\($0).json" }.joined(separator: ", ")
            if override { return "\(searched[0]) does not hold the payments fixture (\(files))" }
            return """
                the payments fixture (\(relativePath)/: \(files)) was not found under the current \
                directory or above the berth executable (looked in \(searched.prefix(3).joined(separator: ", "))…). \
                Run `swift run berth demo` from the repository root, or pass --fixture DIR.
                """
        }
    }
}
