import BerthControlPlane
import BerthRaft
import Foundation
import Testing

@testable import BerthStorage

/// Cron firing, retries and dependencies, applied: a due time is recorded at most once and only
/// moving forward (whatever leader proposes it, however often), a fire starts a run under
/// `max_concurrent_runs`, a paused scheduler records nothing, a failed attempt with retries
/// left owes a retry that starts once, and `depends_on` refuses a trigger.
@Suite struct JobScheduleStateTests {
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

    private func createCron(_ log: Log, _ id: String, maxRuns: Int? = nil, dependsOn: [String]? = nil) throws
        -> JobRecord
    {
        let plan = JobPlan(schedule: "* * * * * *", dependsOn: dependsOn)
        guard
            case .jobCreated(let job) = try log.apply(
                .createJob(
                    .init(id: id, command: "true", maxConcurrentRuns: maxRuns, plan: plan, createdAtMs: Self.t0)))
        else { throw Failure("not created") }
        return job
    }

    private func fire(_ log: Log, _ id: String, due: Int64, missed: Int = 0, runs: Bool = true) throws
        -> CommandOutcome
    {
        try log.apply(.fireJob(.init(jobID: id, dueMs: due, missed: missed, runs: runs, atMs: due + 50)))
    }

    @Test("a cron job has no run until its first due time; the plan survives the row and the log entry")
    func createCron() throws {
        let log = try Log()
        let job = try createCron(log, "c1")
        #expect(job.runID == nil && job.runCount == 0 && job.lastDueMs == Self.t0)
        let stored = try #require(try log.state.job(id: "c1"))
        #expect(stored.plan?.schedule == "* * * * * *" && stored.lastDueMs == Self.t0)
        let command = StateCommand.createJob(
            .init(
                id: "c1", command: "true", plan: JobPlan(schedule: "0 * * * *", timeZone: "Europe/Paris"),
                createdAtMs: 1))
        #expect(StateCommand(encoded: command.encoded()) == command)
        let fireCommand = StateCommand.fireJob(.init(jobID: "c1", dueMs: 5000, missed: 2, runs: true, atMs: 5001))
        #expect(StateCommand(encoded: fireCommand.encoded()) == fireCommand)
        #expect(try log.state.scheduledJobs().map(\.id) == ["c1"])
    }

    @Test("a due time fires once: the same or an earlier due time is ignored, whoever proposes it")
    func exactlyOnce() throws {
        let log = try Log()
        _ = try createCron(log, "c1", maxRuns: 10)
        guard case .jobFired(let first) = try fire(log, "c1", due: Self.t0 + 1000) else { throw Failure("no fire") }
        #expect(first.outcome == .started && first.runID == "c1-run-1")
        // A second leader proposing the same due time, then an older one: nothing changes.
        #expect(try fire(log, "c1", due: Self.t0 + 1000) == .fireIgnored(reason: .alreadyFired))
        #expect(try fire(log, "c1", due: Self.t0 + 500) == .fireIgnored(reason: .alreadyFired))
        guard case .jobFired(let later) = try fire(log, "c1", due: Self.t0 + 4000, missed: 2) else {
            throw Failure("no fire")
        }
        #expect(later.runID == "c1-run-2" && later.missed == 2)
        #expect(try log.state.fires(ofJob: "c1", limit: 10).map(\.dueMs) == [Self.t0 + 4000, Self.t0 + 1000])
        #expect(try log.state.runs(ofJob: "c1", limit: 10).count == 2)
        #expect(try log.state.job(id: "c1")?.lastDueMs == Self.t0 + 4000)
    }

    @Test("max_concurrent_runs is checked at apply: the due time is recorded without a run")
    func concurrency() throws {
        let log = try Log()
        _ = try createCron(log, "c1", maxRuns: 1)
        _ = try fire(log, "c1", due: Self.t0 + 1000)
        guard case .jobFired(let second) = try fire(log, "c1", due: Self.t0 + 2000) else { throw Failure("no fire") }
        #expect(second.outcome == .skippedConcurrency && second.runID == nil)
        guard case .jobFired(let late) = try fire(log, "c1", due: Self.t0 + 3000, runs: false) else {
            throw Failure("no fire")
        }
        #expect(late.outcome == .skippedLate)
        #expect(try log.state.runs(ofJob: "c1", limit: 10).count == 1)
    }

    @Test("paused, a fire records nothing (the due time stays owed to the missed-runs policy); cancelled, neither")
    func pausedAndCancelled() throws {
        let log = try Log()
        _ = try createCron(log, "c1")
        _ = try log.apply(.setSchedulerPaused(.init(paused: true, atMs: Self.t0)))
        #expect(try fire(log, "c1", due: Self.t0 + 1000) == .fireIgnored(reason: .paused))
        #expect(try log.state.job(id: "c1")?.lastDueMs == Self.t0)
        _ = try log.apply(.setSchedulerPaused(.init(paused: false, atMs: Self.t0 + 5000)))
        guard case .jobFired = try fire(log, "c1", due: Self.t0 + 5000, missed: 4) else { throw Failure("no fire") }
        // A cron job whose last run ended can still be cancelled; then nothing fires.
        guard case .jobCancelled = try log.apply(.cancelJob(.init(id: "c1", atMs: Self.t0 + 5100))) else {
            throw Failure("not cancelled")
        }
        #expect(try fire(log, "c1", due: Self.t0 + 6000) == .fireIgnored(reason: .cancelled))
        #expect(try log.state.scheduledJobs().isEmpty)
    }

    @Test("a failed attempt with retries left owes a retry after the backoff; it starts once, as a new run")
    func retries() throws {
        let log = try Log()
        let plan = JobPlan(retries: 1, backoffSeconds: 2)
        _ = try log.apply(.createJob(.init(id: "r1", command: "exit 1", plan: plan, createdAtMs: Self.t0)))
        _ = try log.apply(
            .recordEnvelope(
                .init(
                    envelope: SchedulerEnvelope(
                        nodeID: "n1", sequence: 1, observedAtMs: Self.t0, arch: .x86_64,
                        cpus: ResourceCapacity(total: 2, allocatable: 2),
                        memoryMiB: ResourceCapacity(total: 4096, allocatable: 4096),
                        kvm: KVMStatus(present: false, usable: false), kernel: "6.1.0",
                        backends: [InstalledBackend(kind: .process, binary: "/usr/bin/berth", version: "0.1.0")],
                        labels: [:], health: .healthy), receivedAtMs: Self.t0)))
        func runToFailure(_ runID: String, at ms: Int64) throws {
            let launch = try #require(try log.state.launch(id: runID))
            _ = try log.apply(
                .executeLaunch(
                    .init(launchID: runID, intent: launch.intent, nodeID: "n1", atMs: ms, waitForCapacity: true)))
            for (offset, state) in [LaunchState.preparing, .starting, .running].enumerated() {
                _ = try log.apply(
                    .reportLaunch(.init(launchID: runID, nodeID: "n1", state: state, atMs: ms + Int64(offset) + 1)))
            }
            _ = try log.apply(
                .reportLaunch(
                    .init(launchID: runID, nodeID: "n1", state: .failed, reason: .exited(1), atMs: ms + 10)))
        }
        try runToFailure("r1-run-1", at: Self.t0 + 1)
        var job = try #require(try log.state.job(id: "r1"))
        #expect(job.status == .pending && job.retryAtMs == Self.t0 + 11 + 2000 && job.attempt == 1)
        #expect(try log.state.jobsAwaitingRetry(dueBy: Self.t0 + 2000).isEmpty)
        #expect(try log.state.jobsAwaitingRetry(dueBy: Self.t0 + 3000).map(\.id) == ["r1"])
        // Early, or for another run: nothing.
        #expect(
            try log.apply(.retryJob(.init(jobID: "r1", runNumber: 1, atMs: Self.t0 + 100))) == .jobUpdated(job: job))
        _ = try log.apply(.retryJob(.init(jobID: "r1", runNumber: 1, atMs: Self.t0 + 3000)))
        job = try #require(try log.state.job(id: "r1"))
        #expect(job.runCount == 2 && job.attempt == 2 && job.retryAtMs == nil && job.runID == "r1-run-2")
        // Proposed twice (a new leader): the second changes nothing.
        _ = try log.apply(.retryJob(.init(jobID: "r1", runNumber: 1, atMs: Self.t0 + 3001)))
        #expect(try log.state.job(id: "r1")?.runCount == 2)
        try runToFailure("r1-run-2", at: Self.t0 + 4000)
        job = try #require(try log.state.job(id: "r1"))
        #expect(job.status == .failed && job.retryAtMs == nil && job.attempt == 2)
    }

    @Test("depends_on: a trigger is refused with 409 until the dependency completed; a one-off create too")
    func dependencies() throws {
        let log = try Log()
        _ = try createCron(log, "c1", dependsOn: ["dep"])
        guard case .rejected(let rejection) = try log.apply(.triggerJob(.init(jobID: "c1", atMs: Self.t0 + 1))) else {
            throw Failure("not refused")
        }
        #expect(rejection == .dependencyNotSatisfied(id: "c1", dependency: "dep", status: nil))
        #expect(rejection.httpStatus == 409 && rejection.code == "DEPENDENCY_NOT_SATISFIED")
        guard case .jobFired(let fired) = try fire(log, "c1", due: Self.t0 + 1000) else { throw Failure("no fire") }
        #expect(fired.outcome == .skippedDependency)
        let oneOff = try log.apply(
            .createJob(.init(id: "o1", command: "true", plan: JobPlan(dependsOn: ["c1"]), createdAtMs: Self.t0)))
        guard case .rejected(.dependencyNotSatisfied(_, "c1", .pending)) = oneOff else {
            throw Failure("\(oneOff)")
        }
        #expect(CommandOutcome(encoded: oneOff.encoded()) == oneOff)
    }
}

/// DAG runs, applied: tasks start as launches in dependency order as their launches report,
/// and a failure fails the dependants and the run.
@Suite struct DagRunStateTests {
    private static let t0: Int64 = 1_800_000_000_000

    @Test("a three-task chain runs in order; a failed middle task fails the last with UPSTREAM_FAILED")
    func chain() throws {
        let state = try StateStore.inMemory()
        var index: LogIndex = 0
        func apply(_ command: StateCommand) throws -> CommandOutcome {
            index += 1
            return try #require(try state.apply(index: index, term: 1, command: command).outcome)
        }
        let tasks = [
            JobTask(name: "a", command: "echo a"), JobTask(name: "b", command: "echo b", dependsOn: ["a"]),
            JobTask(name: "c", command: "echo c", dependsOn: ["b"]),
        ]
        func finish(_ launchID: String, _ final: LaunchState, at ms: Int64) throws {
            let launch = try #require(try state.launch(id: launchID))
            _ = try apply(
                .executeLaunch(
                    .init(launchID: launchID, intent: launch.intent, nodeID: "n1", atMs: ms, waitForCapacity: true)))
            for (offset, step) in [LaunchState.preparing, .starting, .running].enumerated() {
                _ = try apply(
                    .reportLaunch(.init(launchID: launchID, nodeID: "n1", state: step, atMs: ms + Int64(offset) + 1)))
            }
            _ = try apply(
                .reportLaunch(
                    .init(
                        launchID: launchID, nodeID: "n1", state: final, reason: final == .failed ? .exited(2) : nil,
                        atMs: ms + 10)))
        }
        _ = try apply(
            .recordEnvelope(
                .init(
                    envelope: SchedulerEnvelope(
                        nodeID: "n1", sequence: 1, observedAtMs: Self.t0, arch: .x86_64,
                        cpus: ResourceCapacity(total: 2, allocatable: 2),
                        memoryMiB: ResourceCapacity(total: 4096, allocatable: 4096),
                        kvm: KVMStatus(present: false, usable: false), kernel: "6.1.0",
                        backends: [InstalledBackend(kind: .process, binary: "/usr/bin/berth", version: "0.1.0")],
                        labels: [:], health: .healthy), receivedAtMs: Self.t0)))
        _ = try apply(.createJob(.init(id: "d1", command: "dag", plan: JobPlan(tasks: tasks), createdAtMs: Self.t0)))
        var run = try #require(try state.dagRun(id: "d1-run-1"))
        #expect(run.tasks.map(\.state) == [.pending, .waiting, .waiting])
        #expect(try state.launch(id: "d1-run-1.a") != nil && state.launch(id: "d1-run-1.b") == nil)
        #expect(try state.job(id: "d1")?.status == .pending)
        try finish("d1-run-1.a", .terminated, at: Self.t0 + 100)
        run = try #require(try state.dagRun(id: "d1-run-1"))
        #expect(run.tasks.map(\.state) == [.succeeded, .pending, .waiting])
        #expect(try state.job(id: "d1")?.status == .running)
        try finish("d1-run-1.b", .failed, at: Self.t0 + 200)
        run = try #require(try state.dagRun(id: "d1-run-1"))
        #expect(run.tasks.map(\.state) == [.succeeded, .failed, .upstreamFailed])
        #expect(run.tasks[2].reason == "UPSTREAM_FAILED: task b failed")
        #expect(try state.launch(id: "d1-run-1.c") == nil)
        #expect(try state.job(id: "d1")?.status == .failed)
        #expect(try state.dagRuns(ofJob: "d1", limit: 5).map(\.runID) == ["d1-run-1"])
        // The job's runs list holds the DAG run, not its task launches.
        #expect(try state.runs(ofJob: "d1", limit: 5).isEmpty)
    }
}
