import BerthControlPlane
import Foundation

/// Why a QEMU command line cannot be built for a spec.
public struct QEMUCommandLineError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: FailureCode
    public var detail: String
    public var description: String { "\(code.rawValue): \(detail)" }
}

/// The QEMU invocation for a VM LaunchSpec: the exact argv, and the files it uses, every one
/// under the agent's root.
public struct QEMUCommandLine: Equatable, Sendable {
    /// `qemu-system-<arch>`, absolute.
    public var program: String
    /// argv[0] is `program`.
    public var argv: [String]
    /// The QMP socket QEMU listens on (`launches/<id>/qmp.sock`).
    public var qmpSocket: String
    /// The serial console, captured through the keeper like a process's stdout (bounded).
    public var serialLog: String

    /// The longest unix socket path (`sun_path` holds 108 bytes with its NUL).
    public static let maximumSocketPathBytes = 107

    /// Builds the command line.
    ///
    /// - x86_64: `-M microvm` (virtio-mmio devices, an ISA serial port, no firmware: it boots the
    ///   kernel directly); aarch64: `-M virt`.
    /// - `accel` `kvm`: `-accel kvm` (QEMU's default CPU model); `tcg`: `-accel tcg -cpu max`. On x86_64 under TCG
    ///   the kernel command line gets `tsc_early_khz=<host kHz>` unless it has one: without it
    ///   about half the boots hang calibrating the timer on a loaded host.
    /// - No defaults, no display, no monitor; the serial console on QEMU's stdout (which the
    ///   keeper copies, bounded, to `serialLog`); QMP on `qmpSocket`.
    /// - The kernel, initrd and disk must resolve under `root` (no `..`, no absolute path
    ///   outside, no symlink escape).
    public static func build(
        spec: LaunchSpec, root: AgentRoot, launchDirectory: String, program: String, hostTSCkHz: Int?
    ) throws(QEMUCommandLineError) -> QEMUCommandLine {
        guard spec.backend == .qemu, case .image(let image) = spec.payload else {
            throw QEMUCommandLineError(code: .validationFailed, detail: "not a QEMU image launch")
        }
        func underRoot(_ name: String, _ path: String) throws(QEMUCommandLineError) -> String {
            do { return try root.resolve(path) } catch {
                throw QEMUCommandLineError(code: .validationFailed, detail: "\(name): \(error)")
            }
        }
        let directory = try underRoot("launch directory", launchDirectory)
        let kernel = try underRoot("kernel", image.kernel)
        let initrd = try image.initrd.map { path throws(QEMUCommandLineError) in try underRoot("initrd", path) }
        let disk = try image.disk.map { path throws(QEMUCommandLineError) in try underRoot("disk", path) }
        let qmpSocket = try underRoot("QMP socket", directory + "/qmp.sock")
        let serialLog = try underRoot("serial log", directory + "/serial.log")
        for path in [kernel, initrd, disk, qmpSocket].compactMap({ $0 }) where path.contains(",") {
            // QEMU's option syntax splits on commas.
            throw QEMUCommandLineError(code: .validationFailed, detail: "\(path): QEMU paths cannot contain ','")
        }
        guard qmpSocket.utf8.count <= maximumSocketPathBytes else {
            throw QEMUCommandLineError(
                code: .prepareFailed,
                detail: "the QMP socket path \(qmpSocket) is longer than \(maximumSocketPathBytes) bytes")
        }

        var argv = [program, "-name", "berth-\(spec.name)", "-nodefaults", "-no-user-config", "-display", "none"]
        var cmdline = image.cmdline ?? "console=\(spec.arch == .aarch64 ? "ttyAMA0" : "ttyS0")"
        switch spec.arch {
        case .x86_64:
            argv += ["-M", "microvm"]
        case .aarch64:
            argv += ["-M", "virt"]
        }
        switch spec.accel {
        case .kvm:
            // Not `-cpu host`: under nested virtualization QEMU 7.2 aborts setting MSR 0x10a
            // (ARCH_CAPABILITIES) with it; QEMU's default model runs everywhere KVM does.
            argv += ["-accel", "kvm"]
        case .tcg, .none:
            argv += ["-accel", "tcg", "-cpu", "max"]
            if spec.arch == .x86_64, let hostTSCkHz, !cmdline.contains("tsc_early_khz=") {
                cmdline += " tsc_early_khz=\(hostTSCkHz)"
            }
        }
        argv += ["-m", "\(spec.memoryMiB)", "-smp", "\(spec.vcpus)"]
        argv += ["-kernel", kernel]
        if let initrd { argv += ["-initrd", initrd] }
        argv += ["-append", cmdline]
        if let disk {
            let device = spec.arch == .x86_64 ? "virtio-blk-device" : "virtio-blk-pci"
            argv += ["-drive", "id=disk0,file=\(disk),format=raw,if=none", "-device", "\(device),drive=disk0"]
        }
        argv += ["-serial", "stdio", "-qmp", "unix:\(qmpSocket),server=on,wait=off", "-no-reboot"]
        return QEMUCommandLine(program: program, argv: argv, qmpSocket: qmpSocket, serialLog: serialLog)
    }

    /// The host's TSC frequency in kHz as the kernel would calibrate it: `cpu MHz` of the first
    /// CPU in `/proc/cpuinfo`.
    public static func hostTSCkHz(cpuinfo: String? = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))
        -> Int?
    {
        guard let cpuinfo else { return nil }
        for line in cpuinfo.split(separator: "\n") where line.hasPrefix("cpu MHz") {
            guard let colon = line.firstIndex(of: ":"),
                let mhz = Double(line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)), mhz > 0
            else { continue }
            return Int((mhz * 1000).rounded())
        }
        return nil
    }

    /// `qemu-system-<arch>` on `searchPath`, absolute, or nil.
    public static func findProgram(arch: Architecture, searchPath: [String]) -> String? {
        for directory in searchPath where !directory.isEmpty {
            let candidate = "\(directory)/qemu-system-\(arch.rawValue)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
