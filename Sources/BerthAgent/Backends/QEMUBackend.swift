import BerthControlPlane
import Foundation

/// The QEMU backend (spec §6): a VM started from its LaunchSpec through the same keeper as the
/// `process` backend (its own session, Berth's marker, so it outlives the agent and is found
/// again by pid and start time), its serial console captured like a process's stdout (bounded)
/// to `launches/<id>/serial.log`, its QMP socket at `launches/<id>/qmp.sock`. Ready when QMP
/// `query-status` says `running`. Terminated by `system_powerdown`, then `quit`, then SIGKILL.
public struct QEMUBackend: Sendable {
    public let processes: ProcessBackend
    /// Where `qemu-system-<arch>` is searched.
    public var searchPath: [String] = BackendDiscovery.environmentPath
    /// The host TSC frequency handed to TCG guests (`tsc_early_khz`).
    public var hostTSCkHz: Int? = QEMUCommandLine.hostTSCkHz()
    /// How long a started VM may take to answer `running` on QMP.
    public var readinessTimeout: Duration = .seconds(30)
    /// How long the guest gets to power off after `system_powerdown`, then QEMU after `quit`.
    public var powerdownGrace: Duration = .seconds(3)
    public var quitGrace: Duration = .seconds(3)

    public init(processes: ProcessBackend) {
        self.processes = processes
    }

    /// The command line `spec` would run with for `launchID`.
    public func commandLine(launchID: String, spec: LaunchSpec) throws(QEMUCommandLineError) -> QEMUCommandLine {
        guard let program = QEMUCommandLine.findProgram(arch: spec.arch, searchPath: searchPath) else {
            throw QEMUCommandLineError(
                code: .startFailed, detail: "qemu-system-\(spec.arch.rawValue) not found on PATH")
        }
        guard LaunchDirectory.isSafeName(launchID) else {
            throw QEMUCommandLineError(code: .validationFailed, detail: "launch id unusable as a directory name")
        }
        let command = try QEMUCommandLine.build(
            spec: spec, root: processes.root, launchDirectory: "launches/\(launchID)", program: program,
            hostTSCkHz: hostTSCkHz)
        // The boot artifacts must be there (build checked they are under the root).
        if case .image(let image) = spec.payload {
            for (name, path) in [("kernel", image.kernel), ("initrd", image.initrd), ("disk", image.disk)] {
                guard let path, let resolved = try? processes.root.resolve(path) else { continue }
                if !FileManager.default.fileExists(atPath: resolved) {
                    throw QEMUCommandLineError(code: .prepareFailed, detail: "\(name) \(resolved) is missing")
                }
            }
        }
        return command
    }

    /// Starts the VM; returns once QEMU has been exec'd (not yet ready: see `waitUntilReady`).
    public func start(launchID: String, spec: LaunchSpec) throws(ProcessStartFailure) -> ProcessHandle {
        let command: QEMUCommandLine
        do { command = try commandLine(launchID: launchID, spec: spec) } catch {
            throw ProcessStartFailure(code: error.code, detail: error.detail)
        }
        do { _ = try processes.launchDirectory(launchID) } catch {
            throw ProcessStartFailure(code: .prepareFailed, detail: "\(error)")
        }
        unlink(command.qmpSocket)
        var handle = try processes.spawn(
            launchID: launchID, executable: command.program, argv: command.argv, stdoutName: "serial.log")
        handle.qmpSocketPath = command.qmpSocket
        return handle
    }

    /// Waits until QMP says `running`; throws READINESS_TIMEOUT after `readinessTimeout`, or
    /// EXITED-like failures when QEMU ends first.
    public func waitUntilReady(_ handle: ProcessHandle) async throws(ProcessStartFailure) {
        guard let socket = handle.qmpSocketPath else {
            throw ProcessStartFailure(code: .agentError, detail: "no QMP socket recorded")
        }
        let deadline = ContinuousClock.now + readinessTimeout
        var last = "no answer yet"
        while ContinuousClock.now < deadline {
            if processes.outcome(of: handle) != .running {
                throw ProcessStartFailure(code: .startFailed, detail: "QEMU ended before it was ready (\(last))")
            }
            do {
                let client = try QMPClient(path: socket)
                let status = try client.status()
                if status == "running" { return }
                last = "query-status: \(status)"
            } catch {
                last = "\(error)"
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        throw ProcessStartFailure(
            code: .readinessTimeout, detail: "not running on QMP after \(readinessTimeout): \(last)")
    }

    /// QMP `system_powerdown`, then `quit` after `powerdownGrace`, then SIGKILL to its process
    /// group after `quitGrace`; signals only the process that was started (same start time).
    /// Returns how it ended, and the steps taken.
    public func terminate(_ handle: ProcessHandle) async -> (outcome: ProcessOutcome, steps: [String]) {
        var steps: [String] = []
        guard handle.workload.isAlive() else { return (await processes.settled(handle), steps) }
        func exited(within grace: Duration) async -> Bool {
            let deadline = ContinuousClock.now + grace
            while ContinuousClock.now < deadline {
                if !handle.workload.isAlive() { return true }
                try? await Task.sleep(for: .milliseconds(20))
            }
            return !handle.workload.isAlive()
        }
        var client: QMPClient?
        if let socket = handle.qmpSocketPath {
            do { client = try QMPClient(path: socket) } catch { steps.append("QMP unavailable: \(error)") }
        }
        if let client {
            do {
                try client.execute("system_powerdown")
                steps.append("system_powerdown")
            } catch { steps.append("system_powerdown failed: \(error)") }
            if await exited(within: powerdownGrace) { return (await processes.settled(handle), steps) }
            do {
                try client.execute("quit")
                steps.append("quit")
            } catch { steps.append("quit: \(error)") }  // QEMU may close the socket as it quits.
        } else {
            kill(-handle.workload.pid, SIGTERM)
            steps.append("SIGTERM")
        }
        if await exited(within: quitGrace) { return (await processes.settled(handle), steps) }
        if handle.workload.isAlive() {
            kill(-handle.workload.pid, SIGKILL)
            steps.append("SIGKILL")
        }
        return (await processes.settled(handle), steps)
    }
}
