import BerthControlPlane
import Foundation
import Logging

// Watching what runs and reporting it: how each process ended becomes the launch's final
// state, and every transition reaches the control plane in order, across restarts.
extension Agent {
    func watchLoop() async {
        var orphansScannedAt = ContinuousClock.now
        var quickUntil = ContinuousClock.now
        while !Task.isCancelled {
            let watched = runningProcessCount
            observeProcesses()
            let baseline = runningProcessCount
            await flushSerialized()
            if ContinuousClock.now - orphansScannedAt >= configuration.orphanScanInterval {
                scanOrphans()
                orphansScannedAt = ContinuousClock.now
            }
            reportOrphansIfChanged()
            // Many workloads are short (a job's `echo`): a process that starts ends the wait
            // (noticed within a slice), and for a while after that the watch looks every slice,
            // so that its end is reported in milliseconds rather than at the next
            // `watchInterval`. Counting is in memory; only `observeProcesses` reads files.
            if runningProcessCount > watched { quickUntil = ContinuousClock.now + Self.quickWatchWindow }
            let until =
                ContinuousClock.now
                + (ContinuousClock.now < quickUntil
                    ? min(Self.quickWatchInterval, configuration.watchInterval) : configuration.watchInterval)
            while ContinuousClock.now < until, !Task.isCancelled {
                try? await Task.sleep(for: min(Self.quickWatchInterval, configuration.watchInterval))
                if runningProcessCount > baseline {
                    quickUntil = ContinuousClock.now + Self.quickWatchWindow
                    break
                }
            }
        }
    }

    /// Launches with a process that has not ended, as the watch last left them.
    var runningProcessCount: Int {
        launches.values.reduce(0) { $0 + (!$1.state.isTerminal && $1.process != nil ? 1 : 0) }
    }

    /// How often the watch looks while a process started recently, and for how long after.
    static let quickWatchInterval: Duration = .milliseconds(10)
    static let quickWatchWindow: Duration = .seconds(2)

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
                    if launch.state == .starting && !launch.stopRequested {
                        // A VM that ended before QMP (or its VMM's API) said running never
                        // started, whatever its status.
                        let program = launch.spec.backend == .qemu ? "QEMU" : launch.spec.backend.rawValue
                        launch.move(
                            to: .failed,
                            reason: FailureReason(
                                code: .startFailed, exitCode: code,
                                detail:
                                    "\(program) exited with status \(code) before it was running; see launches/\(launch.launchID)/stderr"
                            ))
                    } else if launch.stopRequested || code == 0 {
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

    /// Starts a flush of the reports without waiting for it.
    func flushSoon() {
        if flushing {
            flushRequested = true
            return
        }
        Task { await self.flushSerialized() }
    }

    /// One flush at a time (two would send the same transition twice and count it twice);
    /// one asked for during a flush runs right after it.
    func flushSerialized() async {
        guard !flushing else {
            flushRequested = true
            return
        }
        flushing = true
        repeat {
            flushRequested = false
            await flushReports()
        } while flushRequested
        flushing = false
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
                if transition.state.isTerminal, let handle = launch.process {
                    body["output"] = capturedOutput(handle)
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

    /// What a process printed, for its terminal report: at most `LaunchOutput.reportLimitBytes`
    /// of each stream, `truncated` when the capture limit dropped bytes or the report cut them.
    func capturedOutput(_ handle: ProcessHandle) -> [String: Any] {
        let limit = LaunchOutput.reportLimitBytes
        func read(_ path: String) -> (text: String, cut: Bool) {
            guard let file = FileHandle(forReadingAtPath: path) else { return ("", false) }
            defer { try? file.close() }
            let data = (try? file.read(upToCount: limit + 1)) ?? Data()
            let size = (try? file.seekToEnd()) ?? UInt64(data.count)
            let text = String(decoding: data.prefix(limit + 1), as: UTF8.self)
            let bounded = LaunchOutput(stdout: text, stderr: "", truncated: false).bounded(to: limit)
            // The capture keeps `outputLimit` bytes and drops the rest: a full file may have lost some.
            return (bounded.stdout, bounded.truncated || Int64(size) >= backend.outputLimit)
        }
        let out = read(handle.stdoutPath)
        let err = read(handle.stderrPath)
        return ["stdout": out.text, "stderr": err.text, "truncated": out.cut || err.cut]
    }
}
