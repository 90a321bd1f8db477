import ArgumentParser
import Dispatch
import Foundation
import NIOCore
import NIOPosix

struct Berth: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berth",
        abstract: "An explainable, highly available control plane for VMs, MicroVMs and processes.",
        subcommands: [ServerCommand.self, DemoCommand.self, ClusterCommand.self]
    )
}

/// The entry point. Before any task runs, NIO's event loops become Swift Concurrency's global
/// executor: an HTTP handler then runs on the loop that read its request instead of hopping to
/// the cooperative pool and back, which saves two thread switches per request — on a 2-core
/// machine serving thousands of writes a second, those switches were a tenth of the leader's CPU.
@main
enum BerthMain {
    static func main() {
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        Task {
            await Berth.main()
            exit(0)
        }
        dispatchMain()
    }
}
