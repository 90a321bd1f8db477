import ArgumentParser
import BerthAgent
import BerthControlPlane
import Foundation

/// `berth agent prepare --spec PATH|-`: checks a LaunchSpec (as `plan/launch` hydrated it) on
/// this host and launches nothing. Prints a LaunchPreparationResult; exits 1 when the host is
/// not ready, with every typed reason in the result.
struct AgentPrepareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare", abstract: "Check a LaunchSpec on this host without launching it.")

    @Option(help: ArgumentHelp("The LaunchSpec JSON, or - for standard input.", valueName: "path|-"))
    var spec: String
    @Option(help: "The agent's root: every artifact must be under it.") var root: String
    @Option(name: .customLong("node-id"), help: "This host's node id; a spec for another node is refused.")
    var nodeID: String?
    @Option(help: "Check against this JSON fingerprint instead of probing the host.") var fixture: String?
    @Option(
        name: .customLong("output-limit"), help: "Bytes of stdout and of stderr a process launch would keep.")
    var outputLimit: Int64 = 1 << 20

    func run() async throws {
        let bytes: Data
        if spec == "-" {
            bytes = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let data = FileManager.default.contents(atPath: spec) else {
                throw ValidationError("cannot read --spec \(spec)")
            }
            bytes = data
        }
        let launchSpec: LaunchSpec
        do {
            launchSpec = try LaunchSpec.parse(json: Array(bytes))
        } catch {
            throw ValidationError("--spec is not a valid LaunchSpec: \(error)")
        }
        let fingerprint: HostFingerprint
        if let fixture {
            fingerprint = try FingerprintFixture.read(path: fixture)
        } else {
            let probe = HostProbe()
            fingerprint = try probe.fingerprint(kvm: await probe.probeKVM(), backends: probe.discoverBackends())
        }
        var preparation = LaunchPreparation(fingerprint: fingerprint, root: try AgentRoot(root), nodeID: nodeID)
        preparation.outputLimitBytes = outputLimit
        let result = preparation.prepare(launchSpec)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(result), as: UTF8.self))
        if !result.isReady { throw ExitCode(1) }
    }
}
