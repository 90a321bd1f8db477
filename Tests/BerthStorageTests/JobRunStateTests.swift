import BerthControlPlane
import BerthRaft
import Foundation
import Testing

@testable import BerthStorage

/// Jobs that run as launches, applied: a job's create stores its first run as a pending launch,
/// the job follows its run's reports (output kept with the run), cancel terminates the run,
/// trigger starts another under `max_concurrent_runs`, and the scheduler state is replicated.
@Suite struct JobRunStateTests {
    private static let t0: Int64 = 1_800_000_000_000

    private final class Log {
        let state: StateStore
        var index: LogIndex = 0
        init() throws { state = try StateStore.inMemory() }

        func apply(_ command: StateCommand) throws -> CommandOutcome {
            index += 1
            let result = try state.apply(index: index, term: 1, command: command)
            guard let outcome = result.outcome else { throw Failure("not applied: \(result)") }
            return outcome
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    private func envelope(_ id: String) -> SchedulerEnvelope {
        SchedulerEnvelope(
            nodeID: id, sequence: 1, observedAtMs: Self.t0, arch: .x86_64,
            cpus: ResourceCapacity(total: 2, allocatable: 2),
            memoryMiB: ResourceCapacity(total: 4096, allocatable: 4096),
            kvm: KVMStatus(present: false, usable: false), kernel: "6.1.0",
            backends: [InstalledBackend(kind: .process, binary: "/usr/bin/berth", version: "0.1.0")],
            labels: [:], health: .healthy)
    }

    private func create(_ log: Log, _ id: String, maxRuns: Int? = nil) throws -> JobRecord {
        guard
            case .jobCreated(let job) = try log.apply(
                .createJob(
                    .init(id: id, command: "echo hello", maxConcurrentRuns: maxRuns, createdAtMs: Self.t0)))
        else { throw Failure("not created") }
        return job
    }

    private func place(_ log: Log, _ runID: String, on node: String = "n1") throws {
        guard let launch = try log.state.launch(id: runID) else { throw Failure("no launch \(runID)") }
        let outcome = try log.apply(
            .executeLaunch(
                .init(
                    launchID: runID, intent: launch.intent, nodeID: node, atMs: Self.t0 + 1, waitForCapacity: true)))
        guard case .launchCreated(let placed) = outcome, placed.state == .validated else {
            throw Failure("not placed: \(outcome)")
        }
    }

    private func report(
        _ log: Log, _ runID: String, _ state: LaunchState, output: LaunchOutput? = nil, reason: FailureReason? = nil,
        at ms: Int64
    ) throws {
        let outcome = try log.apply(
            .reportLaunch(
                .init(launchID: runID, nodeID: "n1", state: state, reason: reason, output: output, atMs: ms)))
        guard case .launchUpdated = outcome else { throw Failure("report refused: \(outcome)") }
    }

    @Test("a job's create stores its first run as a pending launch, with no node and no evaluation")
    func createStoresRun() throws {
        let log = try Log()
        let job = try create(log, "j1")
        #expect(job.runID == "j1-run-1" && job.runCount == 1 && job.status == .pending)
        let launch = try #require(try log.state.launch(id: "j1-run-1"))
        #expect(launch.state == .pending && launch.nodeID == nil)
        #expect(launch.intent == JobRuns.intent(for: job))
        #expect(try log.state.runs(ofJob: "j1", limit: 10).map(\.launch.id) == ["j1-run-1"])
        #expect(try log.state.run(id: "j1-run-1")?.jobID == "j1")
        #expect(try log.state.job(id: "j1") == job)
    }

    @Test("the job follows its run to completed; the reported output is kept with the run")
    func followsToCompletion() throws {
        let log = try Log()
        _ = try create(log, "j1")
        _ = try log.apply(.recordEnvelope(.init(envelope: envelope("n1"), receivedAtMs: Self.t0)))
        try place(log, "j1-run-1")
        #expect(try log.state.job(id: "j1")?.executedBy == "n1")
        #expect(try log.state.job(id: "j1")?.status == .pending)
        try report(log, "j1-run-1", .preparing, at: Self.t0 + 2)
        try report(log, "j1-run-1", .starting, at: Self.t0 + 3)
        try report(log, "j1-run-1", .running, at: Self.t0 + 4)
        #expect(try log.state.job(id: "j1")?.status == .running)
        let output = LaunchOutput(stdout: "hello\n", stderr: "", truncated: false)
        try report(log, "j1-run-1", .terminated, output: output, at: Self.t0 + 5)
        let done = try #require(try log.state.job(id: "j1"))
        #expect(done.status == .completed && done.output == "hello\n" && done.updatedAtMs == Self.t0 + 5)
        #expect(try log.state.launchOutput(id: "j1-run-1") == output)
        // Its capacity is given back like any launch's.
        #expect(log.state.fleet().view.placedLaunches.isEmpty)
    }

    @Test("cancel terminates the running run through the launch path; a terminal job is refused")
    func cancelTerminates() throws {
        let log = try Log()
        _ = try create(log, "j1")
        _ = try log.apply(.recordEnvelope(.init(envelope: envelope("n1"), receivedAtMs: Self.t0)))
        try place(log, "j1-run-1")
        try report(log, "j1-run-1", .preparing, at: Self.t0 + 2)
        let cancelled = try log.apply(.cancelJob(.init(id: "j1", atMs: Self.t0 + 3)))
        guard case .jobCancelled(let job) = cancelled else { throw Failure("\(cancelled)") }
        #expect(job.status == .cancelled)
        #expect(try log.state.launch(id: "j1-run-1")?.state == .terminating)
        #expect(try log.state.pendingActions(for: "n1").map(\.id) == ["j1-run-1"])
        try report(log, "j1-run-1", .terminated, at: Self.t0 + 4)
        #expect(try log.state.job(id: "j1")?.status == .cancelled)
        let again = try log.apply(.cancelJob(.init(id: "j1", atMs: Self.t0 + 5)))
        #expect(again == .rejected(.jobAlreadyTerminal(id: "j1", status: .cancelled)))
        // A job cancelled before it was placed: its run ends at once.
        _ = try create(log, "j2")
        _ = try log.apply(.cancelJob(.init(id: "j2", atMs: Self.t0 + 6)))
        #expect(try log.state.launch(id: "j2-run-1")?.state == .terminated)
    }

    @Test("trigger starts a new run (a new launch) and answers 429 over max_concurrent_runs")
    func trigger() throws {
        let log = try Log()
        _ = try create(log, "j1")
        let refused = try log.apply(.triggerJob(.init(jobID: "j1", atMs: Self.t0 + 1)))
        #expect(refused == .rejected(.tooManyRuns(id: "j1", active: 1, limit: 1)))
        #expect(refused.httpStatus == 429)
        _ = try log.apply(.cancelJob(.init(id: "j1", atMs: Self.t0 + 2)))
        let triggered = try log.apply(.triggerJob(.init(jobID: "j1", atMs: Self.t0 + 3)))
        guard case .jobTriggered(let job, let runID) = triggered else { throw Failure("\(triggered)") }
        #expect(runID == "j1-run-2" && job.status == .pending && job.runCount == 2)
        #expect(try log.state.launch(id: "j1-run-2")?.state == .pending)
        #expect(try log.state.runs(ofJob: "j1", limit: 10).map(\.number) == [2, 1])
        #expect(try log.state.runs(ofJob: "j1", limit: 1).map(\.number) == [2])
        #expect(try log.apply(.triggerJob(.init(jobID: "nope", atMs: Self.t0))) == .rejected(.jobNotFound(id: "nope")))
        _ = try create(log, "j3", maxRuns: 2)
        guard case .jobTriggered = try log.apply(.triggerJob(.init(jobID: "j3", atMs: Self.t0 + 4))) else {
            throw Failure("a second concurrent run was refused")
        }
    }

    @Test("pause and resume are replicated; repeating one changes nothing")
    func scheduler() throws {
        let log = try Log()
        #expect(try log.state.schedulerState() == SchedulerState())
        let paused = try log.apply(.setSchedulerPaused(.init(paused: true, atMs: Self.t0)))
        #expect(paused == .schedulerChanged(state: SchedulerState(paused: true, changedAtMs: Self.t0)))
        _ = try log.apply(.setSchedulerPaused(.init(paused: true, atMs: Self.t0 + 5)))
        #expect(try log.state.schedulerState() == SchedulerState(paused: true, changedAtMs: Self.t0))
        _ = try log.apply(.setSchedulerPaused(.init(paused: false, atMs: Self.t0 + 9)))
        #expect(try log.state.schedulerState().paused == false)
    }

    @Test("the new commands and outcomes round-trip through their binary and JSON forms")
    func encodings() throws {
        let commands: [StateCommand] = [
            .createJob(
                .init(
                    id: "j", command: "echo", backend: "process", maxConcurrentRuns: 3, createdAtMs: 1,
                    idempotencyKey: "k", requestHash: 2)),
            .createJob(.init(id: "j", command: "echo", createdAtMs: 1)),
            .triggerJob(.init(jobID: "j", atMs: 4, idempotencyKey: "t", requestHash: 5)),
            .setSchedulerPaused(.init(paused: true, atMs: 4, idempotencyKey: "p")),
            .reportLaunch(
                .init(
                    launchID: "l", nodeID: "n1", state: .terminated,
                    output: LaunchOutput(stdout: "hi", stderr: "", truncated: true), atMs: 3)),
        ]
        for command in commands {
            #expect(StateCommand(encoded: command.encoded()) == command)
            #expect(StateCommand(json: command.jsonEncoded()) == command)
        }
        let job = JobRecord(
            id: "j", command: "echo", status: .pending, createdAtMs: 1, updatedAtMs: 1, backend: "process",
            runID: "j-run-2", runCount: 2, maxConcurrentRuns: 4)
        let outcomes: [CommandOutcome] = [
            .jobCreated(job: job), .jobTriggered(job: job, runID: "j-run-2"),
            .schedulerChanged(state: SchedulerState(paused: true, changedAtMs: 8)),
            .rejected(.tooManyRuns(id: "j", active: 1, limit: 1)),
        ]
        for outcome in outcomes {
            #expect(CommandOutcome(encoded: outcome.encoded()) == outcome)
        }
    }
}
