import ArgumentParser
import Foundation

/// `berth demo`: the one-command tour — a real local 3-node cluster (child processes on free
/// loopback ports, a temporary data dir), leader election, writes through a follower, the
/// leader killed with SIGKILL and a new one taking over. Ctrl-C stops everything.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Start a local 3-node cluster and show it working.")

    @Flag(help: "Run the tour inside the deterministic simulator instead of real processes.")
    var simulated = false
    @Flag(help: "Exit after the tour instead of waiting for Ctrl-C.") var once = false

    func run() async throws {
        if simulated {
            try SimulatedDemo.run()
            return
        }
        try await LocalClusterDemo(stayUp: !once).run()
    }
}
