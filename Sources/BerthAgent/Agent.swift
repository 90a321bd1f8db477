import BerthControlPlane
import Foundation
import Logging

/// The node agent (spec §6): reports its host's truth, takes its actions from the control
/// plane, carries them out with the `process` backend, and reports every transition. What it
/// runs is recorded under the root, so a restarted agent re-attaches instead of launching again.
public actor Agent {
    public let configuration: AgentConfiguration
    let root: AgentRoot
    let backend: ProcessBackend
    let store: LaunchStore
    let servers: ServerPool
    let sequence: SequenceFile
    let probe: HostProbe
    let fixture: HostFingerprint?
    let logger: Logger
    private var launches: [String: LocalLaunch] = [:]
    /// Terminates in progress, so a re-offered terminate does not signal twice.
    private var stopping: Set<String> = []

    public init(configuration: AgentConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        root = try AgentRoot(configuration.rootPath)
        backend = ProcessBackend(root: root, outputLimit: configuration.outputLimitBytes)
        store = LaunchStore(backend: backend)
        servers = ServerPool(servers: configuration.servers)
        sequence = SequenceFile(path: try root.resolve("sequence"))
        var probe = HostProbe()
        probe.labels = configuration.labels
        probe.reservedCPUs = configuration.reservedCPUs
        probe.reservedMemoryMiB = configuration.reservedMemoryMiB
        self.probe = probe
        if let path = configuration.fixturePath {
            var fixed = try FingerprintFixture.read(path: path)
            fixed.labels.merge(configuration.labels) { _, flag in flag }
            fixture = fixed
        } else {
            fixture = nil
        }
    }

    /// Runs until cancelled.
    public func run() async throws {
        rehydrate()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.envelopeLoop() }
            group.addTask { await self.actionLoop() }
            group.addTask { await self.watchLoop() }
            await group.waitForAll()
        }
    }

    // MARK: Recovery

    /// Takes back the launches recorded under the root: a process still alive (same pid, same
    /// start time) is re-attached and reported, never started again.
    func rehydrate() {
        let (recorded, unreadable) = store.loadAll()
        for path in unreadable { logger.error("unreadable launch record", metadata: ["path": "\(path)"]) }
        for var launch in recorded {
            if launch.process == nil, launch.state == .preparing || launch.state == .starting {
                // `starting` is recorded before the spawn and the pid after it: a crash in
                // between may have left a process this agent cannot find, so the launch is
                // reported failed rather than started a second time.
                launch.move(
                    to: .failed,
                    reason: FailureReason(
                        code: .agentError, detail: "the agent restarted while the launch was \(launch.state.rawValue)"))
                persist(launch)
            }
            if let process = launch.process, !launch.state.isTerminal {
                let alive = process.workload.isAlive()
                logger.info(
                    "rehydrated launch",
                    metadata: [
                        "launch": "\(launch.launchID)", "pid": "\(process.workload.pid)", "alive": "\(alive)",
                    ])
            }
            launches[launch.launchID] = launch
        }
    }

    // MARK: Envelopes

    private func envelopeLoop() async {
        var kvm = await takeKVMProbe()
        var kvmTakenAt = ContinuousClock.now
        var backends = probe.discoverBackends()
        var backendsTakenAt = ContinuousClock.now
        var lastSent: HostFingerprint?
        var lastSentAt = ContinuousClock.now
        while !Task.isCancelled {
            if fixture == nil, ContinuousClock.now - kvmTakenAt >= configuration.kvmReprobeInterval {
                kvm = await takeKVMProbe()
                kvmTakenAt = ContinuousClock.now
            }
            if fixture == nil, ContinuousClock.now - backendsTakenAt >= configuration.backendRescanInterval {
                backends = probe.discoverBackends()
                backendsTakenAt = ContinuousClock.now
            }
            let fingerprint: HostFingerprint
            do {
                fingerprint = try fixture ?? probe.fingerprint(kvm: kvm, backends: backends)
            } catch {
                logger.error("cannot fingerprint the host", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: configuration.envelopeInterval)
                continue
            }
            if fingerprint != lastSent || ContinuousClock.now - lastSentAt >= configuration.envelopeInterval {
                if fingerprint != lastSent { recordFingerprint(fingerprint) }
                if await push(fingerprint) {
                    lastSent = fingerprint
                    lastSentAt = ContinuousClock.now
                }
            }
            try? await Task.sleep(for: configuration.fingerprintInterval)
        }
    }

    private func takeKVMProbe() async -> KVMProbeResult {
        if let fixture {
            return KVMProbeResult(
                present: fixture.kvm.present, usable: fixture.kvm.usable, apiVersion: nil,
                evidence: fixture.kvmEvidence, elapsedMs: 0)
        }
        let result = await probe.probeKVM()
        logger.info(
            "KVM probe",
            metadata: [
                "present": "\(result.present)", "usable": "\(result.usable)", "evidence": "\(result.evidence)",
            ])
        return result
    }

    /// `fingerprint.json` under the root: what the agent reports, with the KVM evidence the
    /// envelope has no room for.
    private func recordFingerprint(_ fingerprint: HostFingerprint) {
        let envelope = fingerprint.envelope(nodeID: configuration.nodeID, sequence: 1, observedAtMs: 0)
        guard let encoded = try? JSONEncoder().encode(envelope),
            case .object(var fields)? = try? JSONParser.parse(Array(encoded)),
            let path = try? root.resolve("fingerprint.json")
        else { return }
        fields["sequence"] = nil
        fields["observed_at"] = nil
        fields["kvm_evidence"] = .string(fingerprint.kvmEvidence)
        let text =
            "{" + fields.keys.sorted().map { "\"\($0)\":\(Self.json(fields[$0]!))" }.joined(separator: ",") + "}\n"
        try? AtomicFile.write(Array(text.utf8), to: path)
    }

    private static func json(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .integer(let number): return String(number)
        case .number(let number): return String(number)
        case .string(let text):
            let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes]))
            return data.map { String(decoding: $0.dropFirst().dropLast(), as: UTF8.self) } ?? "\"\""
        case .array(let values): return "[" + values.map(json).joined(separator: ",") + "]"
        case .object(let fields):
            return "{" + fields.keys.sorted().map { "\(json(.string($0))):\(json(fields[$0]!))" }.joined(separator: ",")
                + "}"
        }
    }

    /// Sends one envelope with a fresh sequence; after a STALE_SEQUENCE (the root was wiped, or
    /// another agent used this node id) it continues above the stored sequence once.
    private func push(_ fingerprint: HostFingerprint) async -> Bool {
        var floor: UInt64 = 0
        for _ in 0..<2 {
            let number: UInt64
            do {
                number = try sequence.next(atLeast: floor)
            } catch {
                logger.error("cannot record the envelope sequence", metadata: ["error": "\(error)"])
                return false
            }
            let envelope = fingerprint.envelope(
                nodeID: configuration.nodeID, sequence: number, observedAtMs: Self.nowMs())
            guard let body = try? JSONEncoder().encode(envelope) else { return false }
            do {
                let answer = try await servers.send("POST", "/api/v1alpha1/intake/envelope", body: Array(body))
                if answer.isSuccess { return true }
                if answer.errorCode == "STALE_SEQUENCE",
                    let stored = answer.json?["error"]?["details"]?["stored_sequence"]?.integer, stored >= 0
                {
                    floor = UInt64(stored)
                    continue
                }
                logger.warning(
                    "envelope refused",
                    metadata: ["status": "\(answer.status)", "body": "\(String(decoding: answer.body, as: UTF8.self))"])
                return false
            } catch {
                logger.warning("envelope not delivered", metadata: ["error": "\(error)"])
                return false
            }
        }
        return false
    }

    static func nowMs() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    // MARK: Actions

    private func actionLoop() async {
        let path = "/api/v1alpha1/agents/\(configuration.nodeID)/actions?wait=\(configuration.pollWaitSeconds)"
        while !Task.isCancelled {
            let answer: ServerAnswer
            do {
                answer = try await servers.send(
                    "GET", path, timeoutSeconds: Int64(configuration.pollWaitSeconds) + 10)
            } catch {
                logger.warning("action poll failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            guard answer.isSuccess, let actions = try? JSONDecoder().decode(AgentActions.self, from: Data(answer.body))
            else {
                logger.warning("action poll refused", metadata: ["status": "\(answer.status)"])
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            var tookAny = false
            for action in actions.actions { tookAny = await take(action) || tookAny }
            // Actions stay offered until their first report lands: do not spin on them meanwhile.
            if !actions.actions.isEmpty && !tookAny { try? await Task.sleep(for: .milliseconds(300)) }
        }
    }

    /// Carries out one action; whether it was new to this agent.
    func take(_ action: AgentAction) async -> Bool {
        switch action.type {
        case "launch":
            guard launches[action.launchID] == nil else { return false }
            guard let spec = action.spec else {
                logger.error("launch action without a spec", metadata: ["launch": "\(action.launchID)"])
                return false
            }
            launch(action.launchID, spec: spec)
            return true
        case "terminate":
            return stop(action.launchID, spec: action.spec)
        default:
            logger.warning("unknown action", metadata: ["type": "\(action.type)"])
            return false
        }
    }

    /// preparing → starting → running, each recorded before the next step and reported after.
    private func launch(_ launchID: String, spec: LaunchSpec) {
        var launch = LocalLaunch(launchID: launchID, spec: spec)
        guard LaunchDirectory.isSafeName(launchID) else {
            logger.error("launch id unusable as a directory name", metadata: ["launch": "\(launchID)"])
            return
        }
        func refuse(_ code: FailureCode, _ detail: String) {
            launch.move(to: .failed, reason: FailureReason(code: code, detail: detail))
            persist(launch)
        }
        guard spec.nodeID == configuration.nodeID else {
            return refuse(
                .validationFailed, "the spec is for node \(spec.nodeID), this agent is \(configuration.nodeID)")
        }
        guard spec.backend == .process, case .command(let command) = spec.payload else {
            return refuse(
                .validationFailed, "this agent runs only the process backend so far, not \(spec.backend.rawValue)")
        }
        launch.move(to: .preparing)
        persist(launch)
        launch.move(to: .starting)
        persist(launch)
        do {
            let handle = try backend.start(launchID: launchID, command: command)
            launch.process = handle
            launch.move(to: .running, note: "pid \(handle.workload.pid)")
            persist(launch)
            logger.info("started", metadata: ["launch": "\(launchID)", "pid": "\(handle.workload.pid)"])
        } catch {
            refuse(error.code, error.detail)
        }
    }

    /// A terminate: the process is signalled; the watch loop records how it ended.
    private func stop(_ launchID: String, spec: LaunchSpec?) -> Bool {
        guard var launch = launches[launchID] else {
            // Placed, then terminated before this agent took it: nothing runs.
            guard let spec else { return false }
            var launch = LocalLaunch(launchID: launchID, spec: spec)
            launch.state = .terminating
            launch.stopRequested = true
            launch.move(to: .terminated, note: "stopped before the agent started it")
            persist(launch)
            return true
        }
        guard !launch.state.isTerminal, !stopping.contains(launchID) else { return false }
        launch.stopRequested = true
        persist(launch)
        if let handle = launch.process {
            stopping.insert(launchID)
            let backend = self.backend
            Task {
                _ = await backend.terminate(handle)
                self.stopped(launchID)
            }
        } else {
            launch.move(to: .terminated, note: "stopped before it started")
            persist(launch)
        }
        return true
    }

    private func stopped(_ launchID: String) {
        stopping.remove(launchID)
    }

    // MARK: Watching and reporting

    private func watchLoop() async {
        while !Task.isCancelled {
            observeProcesses()
            await flushReports()
            try? await Task.sleep(for: configuration.watchInterval)
        }
    }

    /// Records how each running process ended: status 0 is `terminated`, another status
    /// `failed` EXITED, a signal `failed` KILLED, and any ending after a terminate `terminated`.
    func observeProcesses() {
        for var launch in launches.values where !launch.state.isTerminal {
            guard let handle = launch.process else { continue }
            let outcome = backend.outcome(of: handle)
            switch outcome {
            case .running:
                continue
            case .ended(let status):
                var notes: [String] = []
                if status.truncated {
                    notes.append(
                        "output over \(backend.outputLimit) bytes was dropped (stdout \(status.stdoutDropped), stderr \(status.stderrDropped))"
                    )
                }
                switch status.ending {
                case .exited(let code):
                    notes.insert("exited with status \(code)", at: 0)
                    if launch.stopRequested || code == 0 {
                        launch.move(to: .terminated, note: notes.joined(separator: "; "))
                    } else {
                        launch.move(to: .failed, reason: .exited(code, detail: notes.dropFirst().first))
                    }
                case .signaled(let signal):
                    notes.insert("killed by signal \(signal)", at: 0)
                    if launch.stopRequested {
                        launch.move(to: .terminated, note: notes.joined(separator: "; "))
                    } else {
                        launch.move(
                            to: .failed,
                            reason: FailureReason(code: .killed, signal: signal, detail: notes.dropFirst().first))
                    }
                case .unknown:
                    launch.move(
                        to: launch.stopRequested ? .terminated : .failed,
                        reason: launch.stopRequested
                            ? nil : FailureReason(code: .agentError, detail: "the keeper could not tell how it ended"),
                        note: launch.stopRequested ? "stopped; exit status unknown" : nil)
                }
            case .lost(let detail):
                if launch.stopRequested {
                    launch.move(to: .terminated, note: detail)
                } else {
                    launch.move(to: .failed, reason: FailureReason(code: .agentError, detail: detail))
                }
            }
            persist(launch)
            logger.info("ended", metadata: ["launch": "\(launch.launchID)", "state": "\(launch.state.rawValue)"])
        }
    }

    /// Sends every unreported transition, in order per launch. A refusal that says the control
    /// plane has moved on (ILLEGAL_TRANSITION, LAUNCH_NOT_FOUND, LAUNCH_NOT_ON_NODE) is skipped:
    /// its state is the truth, and a later report may still apply.
    func flushReports() async {
        for launchID in launches.keys.sorted() {
            while let launch = launches[launchID], let transition = launch.unreported.first {
                var body: [String: Any] = ["node_id": configuration.nodeID, "state": transition.state.rawValue]
                if let note = transition.note { body["note"] = String(note.prefix(1000)) }
                if let reason = transition.reason {
                    var fields: [String: Any] = ["code": reason.code.rawValue]
                    if let exitCode = reason.exitCode { fields["exit_code"] = exitCode }
                    if let signal = reason.signal { fields["signal"] = signal }
                    if let detail = reason.detail { fields["detail"] = String(detail.prefix(4000)) }
                    body["reason"] = fields
                }
                guard let bytes = try? JSONSerialization.data(withJSONObject: body) else { return }
                let answer: ServerAnswer
                do {
                    answer = try await servers.send(
                        "POST", "/api/v1alpha1/launch/\(launchID)/transitions", body: Array(bytes))
                } catch {
                    logger.warning("report not delivered", metadata: ["error": "\(error)"])
                    return
                }
                guard answer.isSuccess || [400, 404, 409].contains(answer.status) else {
                    logger.warning("report refused", metadata: ["status": "\(answer.status)"])
                    return
                }
                if !answer.isSuccess {
                    logger.warning(
                        "report skipped",
                        metadata: [
                            "launch": "\(launchID)", "state": "\(transition.state.rawValue)",
                            "code": "\(answer.errorCode ?? "\(answer.status)")",
                        ])
                }
                // The launch may have changed while the report was in flight: count on the latest.
                guard var current = launches[launchID] else { break }
                current.reported += 1
                persist(current)
            }
        }
    }

    /// Records `launch` in memory and on disk.
    private func persist(_ launch: LocalLaunch) {
        launches[launch.launchID] = launch
        do {
            try store.save(launch)
        } catch {
            logger.error("cannot record launch", metadata: ["launch": "\(launch.launchID)", "error": "\(error)"])
        }
    }

    /// The launches as the agent holds them (for tests and diagnostics).
    public func snapshot() -> [LocalLaunch] {
        launches.values.sorted { $0.launchID < $1.launchID }
    }
}
