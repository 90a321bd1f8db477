import ArgumentParser

@main
struct Berth: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berth",
        abstract: "An explainable, highly available control plane for VMs, MicroVMs and processes.",
        subcommands: []
    )
}
