import Foundation

/// Where the `berth` executable under test is: next to the test bundle in the build products
/// directory (`.build/debug/berth`), which `swift test` builds before running the tests.
enum BerthBinary {
    /// The path of a built `berth`, or an error telling how to build it.
    static func path(testFile: String = #filePath) throws -> String {
        let candidates = candidatePaths(testFile: testFile)
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw Missing(searched: candidates)
    }

    /// `BERTH_BINARY` if set; then the products directory of this test bundle; then
    /// `<package>/.build/{debug,release}/berth` found by walking up from this source file.
    private static func candidatePaths(testFile: String) -> [String] {
        var candidates: [String] = []
        if let override = ProcessInfo.processInfo.environment["BERTH_BINARY"], !override.isEmpty {
            candidates.append(override)
        }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        candidates.append(executable.deletingLastPathComponent().appendingPathComponent("berth").path)
        if let bundle = Bundle.main.executableURL {
            candidates.append(bundle.deletingLastPathComponent().appendingPathComponent("berth").path)
        }
        var directory = URL(fileURLWithPath: testFile).deletingLastPathComponent()
        while directory.path != "/" {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
                candidates.append(directory.appendingPathComponent(".build/debug/berth").path)
                candidates.append(directory.appendingPathComponent(".build/release/berth").path)
                break
            }
            directory.deleteLastPathComponent()
        }
        return candidates
    }

    struct Missing: Error, CustomStringConvertible {
        let searched: [String]
        var description: String {
            "the berth executable was not found (looked at \(searched.joined(separator: ", "))); "
                + "run `swift build --product berth` first (`swift test` builds it), or set BERTH_BINARY"
        }
    }
}
