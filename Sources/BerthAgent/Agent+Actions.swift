import BerthControlPlane
import Foundation
import Logging

// Actions: long-polled from any server, each carried out once. An action stays offered until
// its first report lands, so taking one is keyed by the launch id, never repeated.
extension Agent {
    func actionLoop() async {
        let base = "/api/v1alpha1/agents/\(configuration.nodeID)/actions?wait=\(configuration.pollWaitSeconds)"
        var backoff = Backoff()
        // Actions offered again that this agent already carries out: the server leaves them out
        // of the next answer and waits for something new.
        var held: [String] = []
        while !Task.isCancelled {
            let path = held.isEmpty ? base : base + "&held=" + Self.queryValue(held.joined(separator: ","))
            let asked = ContinuousClock.now
            let answer: ServerAnswer
            do {
                answer = try await servers.send(
                    "GET", path, timeoutSeconds: Int64(configuration.pollWaitSeconds) + 10)
            } catch {
                let delay = backoff.failed()
                if backoff.isFirstFailure { logger.warning("action poll failed", metadata: ["error": "\(error)"]) }
                try? await Task.sleep(for: delay)
                continue
            }
            guard answer.isSuccess, let actions = try? JSONDecoder().decode(AgentActions.self, from: Data(answer.body))
            else {
                let delay = backoff.failed()
                logger.warning("action poll refused", metadata: ["status": "\(answer.status)"])
                try? await Task.sleep(for: delay)
                continue
            }
            if backoff.failures > 0 {
                logger.info("action poll answered again", metadata: ["server": "\(answer.server)"])
            }
            backoff.succeeded()
            if actions.unreadable > 0 {
                logger.warning(
                    "actions this agent cannot read were skipped", metadata: ["count": "\(actions.unreadable)"])
            }
            var tookAny = false
            for action in actions.actions where await take(action) { tookAny = true }
            // After this pass the agent holds every action offered: the answer lists all that are
            // still offered, so this also forgets those whose reports have landed. A server that
            // answers at once with nothing new (one from before `held`) is not polled in a tight loop.
            let offered = actions.actions.map { "\($0.type):\($0.launchID)" }
            let nothingNew = !tookAny && Set(offered).isSubset(of: Set(held))
            held = offered
            let answeredAtOnce = ContinuousClock.now - asked < .milliseconds(500)
            if nothingNew && (!offered.isEmpty || actions.unreadable > 0) && answeredAtOnce {
                try? await Task.sleep(for: .milliseconds(300))
            }
        }
    }

    /// `text` percent-encoded for a query value (a launch id is a safe name, but never trust it).
    static func queryValue(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~:,")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
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
        case "abandon":
            // This node was declared lost while the agent was silent: the control plane gave the
            // launch up (and perhaps runs a replacement elsewhere), so the workload must not run on.
            let stopping = stop(action.launchID, spec: action.spec)
            if stopping {
                logger.warning(
                    "stopping a workload the control plane gave up while this node was lost",
                    metadata: ["launch": "\(action.launchID)", "replaced_by": "\(action.replacedBy ?? "none")"])
            }
            return stopping
        case "sweep_orphans":
            guard let sweepID = action.sweepID, let orphans = action.orphans else { return false }
            return sweep(sweepID, orphans: orphans)
        default:
            logger.warning("unknown action", metadata: ["type": "\(action.type)"])
            return false
        }
    }

    /// preparing → starting → running, each recorded before the next step and reported after.
    func launch(_ launchID: String, spec: LaunchSpec) {
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
        switch (spec.backend, spec.payload) {
        case (.process, .command(let command)):
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
        case (.qemu, .image):
            launch.move(to: .preparing)
            persist(launch)
            let command: QEMUCommandLine
            do { command = try qemu.commandLine(launchID: launchID, spec: spec) } catch {
                return refuse(error.code, error.detail)
            }
            launch.move(to: .starting, note: "accel \(spec.accel.rawValue): \(command.argv.joined(separator: " "))")
            persist(launch)
            do {
                let handle = try qemu.start(launchID: launchID, spec: spec)
                launch.process = handle
                persist(launch)
                logger.info("VM started", metadata: ["launch": "\(launchID)", "pid": "\(handle.workload.pid)"])
                awaitReadiness(launchID, handle)
            } catch {
                refuse(error.code, error.detail)
            }
        case (.cloudHypervisor, .image), (.firecracker, .image):
            launchThroughAPI(launch)
        default:
            refuse(
                .validationFailed,
                "the \(spec.backend.rawValue) backend does not run this payload")
        }
    }

    /// Waits for QMP to say `running`, then records `running`; a VM that is not ready in time
    /// is stopped and fails READINESS_TIMEOUT. A VM that ends first is left to the watch loop.
    func awaitReadiness(_ launchID: String, _ handle: ProcessHandle) {
        let qemu = self.qemu
        Task {
            let started = ContinuousClock.now
            do {
                try await qemu.waitUntilReady(handle)
                self.ready(
                    launchID, note: "QMP query-status: running (\(ContinuousClock.now - started) after the spawn)")
            } catch let error as ProcessStartFailure {
                if error.code == .readinessTimeout {
                    _ = await qemu.terminate(handle)
                    self.notReady(launchID, error)
                }
            } catch {}
        }
    }

    func ready(_ launchID: String, note: String) {
        guard var launch = launches[launchID], launch.state == .starting, !launch.stopRequested else { return }
        launch.move(to: .running, note: note)
        persist(launch)
        logger.info("VM running", metadata: ["launch": "\(launchID)"])
    }

    func notReady(_ launchID: String, _ failure: ProcessStartFailure) {
        guard var launch = launches[launchID], launch.state == .starting else { return }
        launch.move(to: .failed, reason: FailureReason(code: failure.code, detail: failure.detail))
        persist(launch)
    }

    /// A terminate: the process is signalled; the watch loop records how it ended.
    func stop(_ launchID: String, spec: LaunchSpec?) -> Bool {
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
        if launch.state == .starting {
            // Not running yet: its ending cannot be reported straight from `starting`.
            launch.move(to: .terminating)
        }
        persist(launch)
        if let handle = launch.process {
            stopping.insert(launchID)
            if launch.spec.backend == .cloudHypervisor || launch.spec.backend == .firecracker {
                stopThroughAPI(launchID, launch.spec, handle)
                return true
            }
            if launch.spec.backend == .qemu {
                let qemu = self.qemu
                Task {
                    let (_, steps) = await qemu.terminate(handle)
                    self.logger.info(
                        "VM stopped", metadata: ["launch": "\(launchID)", "steps": "\(steps.joined(separator: ", "))"])
                    self.stopped(launchID)
                }
                return true
            }
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

    func stopped(_ launchID: String) {
        stopping.remove(launchID)
    }
}
