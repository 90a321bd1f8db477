import BerthControlPlane
import Foundation

/// Finds the VM backends' binaries on PATH and asks each for its version.
public struct BackendDiscovery: Sendable {
    /// The directories searched, in order; the first binary of a name wins, as a shell would pick.
    public var searchPath: [String]
    /// How long a binary's `--version` may take before it counts as broken.
    public var versionTimeout: Duration = .seconds(3)

    public init(searchPath: [String]) {
        self.searchPath = searchPath
    }

    /// PATH of this process.
    public static var environmentPath: [String] {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(
            String.init)
    }

    /// The backend `name` is a binary of, on a host of `arch`. Only the QEMU that emulates the
    /// host's own architecture counts: a launch runs as its node's architecture, and a
    /// `qemu-system-aarch64` on an x86 host could only run it under TCG as a different machine.
    public static func kind(ofBinary name: String, hostArch: Architecture) -> BackendKind? {
        switch name {
        case "qemu-system-\(hostArch.rawValue)": return .qemu
        case "cloud-hypervisor": return .cloudHypervisor
        case "firecracker": return .firecracker
        default: return nil
        }
    }

    /// Every backend binary found, with the version it reports (empty when it would not say).
    public func discover(hostArch: Architecture) -> [InstalledBackend] {
        var seen: Set<String> = []
        var found: [InstalledBackend] = []
        for directory in searchPath where !directory.isEmpty {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            for name in names.sorted() where !seen.contains(name) {
                guard let kind = Self.kind(ofBinary: name, hostArch: hostArch) else { continue }
                let path = directory + "/" + name
                guard FileManager.default.isExecutableFile(atPath: path) else { continue }
                seen.insert(name)
                let version = versionOutput(of: path).flatMap(BackendVersionText.parse) ?? ""
                found.append(InstalledBackend(kind: kind, binary: path, version: version))
            }
        }
        return found
    }

    /// `path --version`'s standard output, or nil when it fails or takes too long.
    func versionOutput(of path: String) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["--version"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let deadline = ContinuousClock.now + versionTimeout
        while process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        return String(decoding: data.prefix(4096), as: UTF8.self)
    }
}
