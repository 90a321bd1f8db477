import Foundation

/// The agent's local state: `launches/<id>/launch.json` under the root for every launch it
/// took, each replaced atomically on every change.
public struct LaunchStore: Sendable {
    public let backend: ProcessBackend

    public init(backend: ProcessBackend) {
        self.backend = backend
    }

    public func save(_ launch: LocalLaunch) throws {
        let directory = try backend.launchDirectory(launch.launchID)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try AtomicFile.write(
            Array(try encoder.encode(launch)), to: try backend.root.resolve(directory + "/launch.json"))
    }

    /// Every recorded launch; unreadable records are returned apart, so a damaged file is
    /// reported rather than silently forgotten.
    public func loadAll() -> (launches: [LocalLaunch], unreadable: [String]) {
        let directory = backend.root.path + "/launches"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return ([], []) }
        var launches: [LocalLaunch] = []
        var unreadable: [String] = []
        for name in names.sorted() where LaunchDirectory.isSafeName(name) {
            let path = "\(directory)/\(name)/launch.json"
            guard FileManager.default.fileExists(atPath: path) else { continue }
            guard let data = FileManager.default.contents(atPath: path),
                let launch = try? JSONDecoder().decode(LocalLaunch.self, from: data), launch.launchID == name
            else {
                unreadable.append(path)
                continue
            }
            launches.append(launch)
        }
        return (launches, unreadable)
    }
}
