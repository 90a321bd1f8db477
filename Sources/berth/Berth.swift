import ArgumentParser

@main
struct Berth: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berth",
        abstract: "An explainable, highly available control plane for VMs, MicroVMs and processes.",
        subcommands: [ServerCommand.self, DemoCommand.self, ClusterCommand.self]
    )
}
