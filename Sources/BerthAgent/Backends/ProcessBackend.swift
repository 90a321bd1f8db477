import BerthControlPlane
import CBerthHost
import Foundation

/// Where a process workload stands.
public enum ProcessOutcome: Equatable, Sendable {
    case running
    /// It ended; `status` says how, with the output's truncation.
    case ended(ExitStatusFile)
    /// It is gone and nothing recorded how it ended (its keeper was killed too).
    case lost(String)
}

/// Why a process could not be started, typed as the launch's failure.
public struct ProcessStartFailure: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: FailureCode
    public var detail: String
    public var description: String { "\(code.rawValue): \(detail)" }
}

/// The `process` backend (spec §6): runs a command without a shell (unless the spec asked for
/// `/bin/sh -c`), in its own session so it outlives the agent, with stdout and stderr captured
/// to bounded files under the root and its exit status recorded by a keeper process.
public struct ProcessBackend: Sendable {
    public let root: AgentRoot
    /// The most bytes of stdout, and of stderr, kept per launch; the rest is counted, not kept.
    public var outputLimit: Int64
    /// How long a terminate waits after SIGTERM before SIGKILL.
    public var terminateGrace: Duration = .seconds(5)
    /// The environment workloads start with (Berth's marker is added to it).
    public var environment: [String: String] = ProcessInfo.processInfo.environment

    /// The variables that mark a workload as Berth's: its launch, and the root of the agent that
    /// started it (so agents with different roots on one host tell their workloads apart).
    public static let markerVariable = "BERTH_LAUNCH_ID"
    public static let rootMarkerVariable = "BERTH_AGENT_ROOT"

    public init(root: AgentRoot, outputLimit: Int64 = 1 << 20) {
        self.root = root
        self.outputLimit = outputLimit
    }

    /// `launches/<id>` under the root, created. Launch ids become directory names, so they must
    /// be one plain component.
    public func launchDirectory(_ launchID: String) throws -> String {
        guard LaunchDirectory.isSafeName(launchID) else { throw UnsafePath.outsideRoot(launchID) }
        return try root.directory("launches/\(launchID)")
    }

    /// Starts `command` for `launchID`; returns once it has been exec'd (or refused).
    public func start(launchID: String, command: WorkloadCommand) throws(ProcessStartFailure) -> ProcessHandle {
        let directory: String
        do { directory = try launchDirectory(launchID) } catch {
            throw ProcessStartFailure(code: .prepareFailed, detail: "\(error)")
        }
        guard let program = command.argv.first else {
            throw ProcessStartFailure(code: .validationFailed, detail: "empty command")
        }
        let executable = try resolveProgram(program, workingDirectory: directory)
        return try spawn(launchID: launchID, executable: executable, argv: command.argv)
    }

    /// Starts `executable` (absolute) with `argv` for `launchID` through a keeper, in its own
    /// session, with Berth's marker; stdout goes (bounded) to `launches/<id>/<stdoutName>`.
    /// Returns once it has been exec'd (or refused). Shared with the QEMU backend.
    func spawn(launchID: String, executable: String, argv: [String], stdoutName: String = "stdout")
        throws(ProcessStartFailure) -> ProcessHandle
    {
        let directory: String
        let paths: (stdout: String, stderr: String, status: String)
        do {
            directory = try launchDirectory(launchID)
            paths = (
                try root.resolve(directory + "/" + stdoutName), try root.resolve(directory + "/stderr"),
                try root.resolve(directory + "/exit")
            )
        } catch {
            throw ProcessStartFailure(code: .prepareFailed, detail: "\(error)")
        }
        unlink(paths.status)
        let out = open(paths.stdout, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o640)
        let err = open(paths.stderr, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o640)
        defer {
            if out >= 0 { close(out) }
            if err >= 0 { close(err) }
        }
        guard out >= 0, err >= 0 else {
            throw ProcessStartFailure(
                code: .prepareFailed, detail: "cannot create the output files: \(String(cString: strerror(errno)))")
        }
        var environment = self.environment
        environment[Self.markerVariable] = launchID
        environment[Self.rootMarkerVariable] = root.path
        let environmentStrings = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        var result = berth_spawn_result()
        withCStrings(argv) { argv in
            withCStrings(environmentStrings) { envp in
                berth_spawn_supervised(
                    executable, argv, envp, directory, out, err, outputLimit, paths.status, paths.status + ".tmp",
                    &result)
            }
        }
        guard result.failed_step == 0, result.pid > 0 else {
            let reason = result.error_number != 0 ? String(cString: strerror(result.error_number)) : "no report"
            let step = ["", "fork", "keeper setup", "exec \(executable)", "keeper report"]
            let name = Int(result.failed_step) < step.count ? step[Int(result.failed_step)] : "spawn"
            throw ProcessStartFailure(code: .startFailed, detail: "\(name): \(reason)")
        }
        // The workload runs already; its start time is read now, while it cannot have been reused.
        let workload =
            ProcessIdentity.current(pid: result.pid) ?? ProcessIdentity(pid: result.pid, startTime: 0)
        let keeper = ProcessIdentity.current(pid: result.keeper_pid)
        return ProcessHandle(
            workload: workload, keeper: keeper, stdoutPath: paths.stdout, stderrPath: paths.stderr,
            statusPath: paths.status)
    }

    /// Where the process stands now: the keeper's record wins; otherwise alive by /proc with
    /// the start time; otherwise still running while the keeper is finishing its record.
    public func outcome(of handle: ProcessHandle) -> ProcessOutcome {
        if let status = readStatus(handle) { return .ended(status) }
        if handle.workload.isAlive() { return .running }
        if let keeper = handle.keeper, keeper.isAlive() { return .running }
        // The keeper may have renamed the record in between the two reads above.
        if let status = readStatus(handle) { return .ended(status) }
        return .lost("process \(handle.workload.pid) is gone and no exit status was recorded")
    }

    /// SIGTERM to the workload's process group, SIGKILL after `terminateGrace`, then waits for
    /// the keeper's record. Signals only a process that is still the one started (same start
    /// time), never a reused pid.
    public func terminate(_ handle: ProcessHandle) async -> ProcessOutcome {
        guard handle.workload.isAlive() else { return await settled(handle) }
        kill(-handle.workload.pid, SIGTERM)
        let deadline = ContinuousClock.now + terminateGrace
        while ContinuousClock.now < deadline, handle.workload.isAlive() {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if handle.workload.isAlive() { kill(-handle.workload.pid, SIGKILL) }
        return await settled(handle)
    }

    /// The outcome once the keeper has had a moment to write its record.
    func settled(_ handle: ProcessHandle) async -> ProcessOutcome {
        let deadline = ContinuousClock.now + .seconds(3)
        while true {
            let now = outcome(of: handle)
            if now != .running || ContinuousClock.now >= deadline { return now }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    private func readStatus(_ handle: ProcessHandle) -> ExitStatusFile? {
        guard let text = try? String(contentsOfFile: handle.statusPath, encoding: .utf8) else { return nil }
        return ExitStatusFile(parsing: text)
    }

    /// An absolute program as given; a relative one with a slash inside the launch directory
    /// (under the root); a bare name searched on PATH, as a shell would, but before the fork.
    private func resolveProgram(_ program: String, workingDirectory: String) throws(ProcessStartFailure) -> String {
        if program.hasPrefix("/") {
            guard FileManager.default.isExecutableFile(atPath: program) else {
                throw ProcessStartFailure(code: .startFailed, detail: "\(program) is not an executable file")
            }
            return program
        }
        if program.contains("/") {
            let path: String
            do { path = try root.resolve(workingDirectory + "/" + program) } catch {
                throw ProcessStartFailure(code: .validationFailed, detail: "\(error)")
            }
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw ProcessStartFailure(code: .startFailed, detail: "\(program) is not an executable file")
            }
            return path
        }
        let search = (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
        for directory in search where !directory.isEmpty {
            let candidate = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw ProcessStartFailure(code: .startFailed, detail: "\(program) not found on PATH")
    }
}

/// Launch ids as directory names.
enum LaunchDirectory {
    /// One path component of `[A-Za-z0-9._-]`, not `.` or `..`, at most 128 bytes.
    static func isSafeName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 128 && name != "." && name != ".."
            && name.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            }
    }
}

/// `strings` as a NULL-terminated `char *[]` for the duration of `body`.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for pointer in pointers { free(pointer) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
