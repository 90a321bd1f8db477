import ArgumentParser
import Foundation

/// `berth demo`: the one-command tour — a real local 3-node cluster (child processes on free
/// loopback ports, a temporary data dir). It opens with the payments scenario (the fixture's
/// four nodes, the explanation table, the leader killed with SIGKILL and the same answer from
/// the new leader), then writes jobs through a follower, kills the leader again and restarts
/// it. Ctrl-C stops everything.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Start a local 3-node cluster and show it working.")

    @Flag(help: "Run the tour inside the deterministic simulator instead of real processes.")
    var simulated = false
    @Flag(help: "Exit after the tour instead of waiting for Ctrl-C.") var once = false
    @Option(
        help: ArgumentHelp(
            "The payments fixture's directory (default: fixtures/payments under the current directory).",
            valueName: "dir"))
    var fixture: String?

    func run() async throws {
        if simulated {
            try SimulatedDemo.run()
            return
        }
        let payments = try PaymentsFixture.load(override: fixture)
        try await LocalClusterDemo(stayUp: !once, payments: payments).run()
    }
}
