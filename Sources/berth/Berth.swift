import ArgumentParser
import Dispatch
import Foundation
import NIOCore
import NIOPosix

struct Berth: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berth",
        abstract: "An explainable, highly available control plane for VMs, MicroVMs and processes.",
        subcommands: [
            ServerCommand.self, DemoCommand.self, ClusterCommand.self, NodesCommand.self, ScheduleCommand.self,
            EnvelopeCommand.self, LaunchCommand.self, AgentCommand.self, SnapshotCommand.self, JobsCommand.self,
            SchedulerCommand.self, CertsCommand.self,
        ]
    )
}

/// The entry point. Two settings must be made before any task or event loop exists:
///
/// - NIO's shared event loops get `BERTH_EVENT_LOOPS` threads, by default one fewer than the
///   cores (at least one): a server's Raft loop has a thread of its own and keeps about a core
///   busy under load, so more I/O threads than the remaining cores only add context switches
///   (on 2 cores, one I/O loop served ~9% more writes than two, at less CPU per write).
/// - Those loops become Swift Concurrency's global executor, so an HTTP handler runs on an I/O
///   loop instead of hopping to the cooperative pool and back.
@main
enum BerthMain {
    static func main() {
        let configured = ProcessInfo.processInfo.environment["BERTH_EVENT_LOOPS"].flatMap { Int($0) }
        NIOSingletons.groupLoopCountSuggestion = max(1, configured ?? (System.coreCount - 1))
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        Task {
            await Berth.main()
            exit(0)
        }
        dispatchMain()
    }
}
