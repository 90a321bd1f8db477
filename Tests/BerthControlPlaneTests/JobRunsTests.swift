import BerthControlPlane
import Foundation
import Testing

/// Jobs run as launches: the launch a run is, the job status each launch state means, what a
/// run's change does to its job, new runs under `max_concurrent_runs`, pause and resume, and the
/// bounded output. No database.
@Suite struct JobRunsTests {
    func job(_ status: JobStatus = .pending, image: String? = nil, backend: String? = nil, maxRuns: Int = 1)
        -> JobRecord
    {
        JobRecord(
            id: "j1", command: "echo hello", image: image, status: status, createdAtMs: 10, updatedAtMs: 10,
            backend: backend, runID: "j1-run-1", runCount: 1, maxConcurrentRuns: maxRuns)
    }

    /// The first run of `job()`, placed on n1 of a fleet that fits it.
    func placedRun(_ job: JobRecord) throws -> (LaunchRecord, FleetView) {
        var fleet = Build.fleet([Build.envelope("n1")])
        let decision = try LaunchRules.execute(
            existing: LaunchRecord(id: "j1-run-1", intent: JobRuns.intent(for: job), createdAtMs: 10),
            launchID: "j1-run-1", intent: JobRuns.intent(for: job), nodeID: "n1", atMs: Build.now,
            expectStateIndex: nil, waitForCapacity: true, policy: .standard, fleet: &fleet, fleetChangedIndex: 0)
        guard case .placed(let record) = decision else { throw Failure("not placed: \(decision)") }
        return (record, fleet)
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    @Test("run ids number a job's runs")
    func runIDs() {
        #expect(JobRuns.runID(jobID: "j1", number: 1) == "j1-run-1")
        #expect(JobRuns.runID(jobID: "j1", number: 12) == "j1-run-12")
    }

    @Test("a command runs through the process backend under /bin/sh -c; an image in a VM")
    func intents() {
        let process = JobRuns.intent(for: job())
        #expect(process.backend == .process)
        #expect(process.command == WorkloadCommand(string: "echo hello", shell: true))
        #expect(process.vcpus == JobRuns.processVCPUs && process.memoryMiB == JobRuns.processMemoryMiB)
        #expect(process.name == "job-j1")
        let vm = JobRuns.intent(for: job(image: "/images/vmlinux"))
        #expect(vm.backend == .any)
        #expect(vm.image == WorkloadImage(kernel: "/images/vmlinux", cmdline: "echo hello"))
        #expect(JobRuns.intent(for: job(image: "/k", backend: "qemu")).backend == .qemu)
    }

    @Test("each launch state maps to the seed's job status")
    func statusMapping() {
        let expected: [LaunchState: JobStatus] = [
            .pending: .pending, .validated: .pending, .preparing: .running, .starting: .running, .running: .running,
            .terminating: .running, .terminated: .completed, .failed: .failed, .lost: .failed,
        ]
        for state in LaunchState.allCases {
            #expect(JobRuns.status(of: state) == expected[state], "\(state)")
        }
    }

    @Test("the job follows its current run: placed (executed_by), running, then completed with its output")
    func followsRun() throws {
        var (launch, _) = try placedRun(job())
        let placed = JobRules.follow(existing: job(), launch: launch, output: nil)
        guard case .write(let afterPlace) = placed else { throw Failure("\(placed)") }
        #expect(afterPlace.status == .pending && afterPlace.executedBy == "n1")
        try launch.transition(to: .preparing, atMs: Build.now + 1)
        try launch.transition(to: .starting, atMs: Build.now + 2)
        try launch.transition(to: .running, atMs: Build.now + 3)
        guard case .write(let running) = JobRules.follow(existing: afterPlace, launch: launch, output: nil) else {
            throw Failure("not written")
        }
        #expect(running.status == .running && running.updatedAtMs == Build.now + 3)
        try launch.transition(to: .terminated, atMs: Build.now + 4)
        let output = LaunchOutput(stdout: "hello\n", stderr: "", truncated: false)
        guard case .write(let done) = JobRules.follow(existing: running, launch: launch, output: output) else {
            throw Failure("not written")
        }
        #expect(done.status == .completed && done.output == "hello\n" && done.error == nil)
        #expect(done.status.isTerminal && done.updatedAtMs == Build.now + 4)
    }

    @Test("a failed run fails its job with the launch's reason")
    func followsFailure() throws {
        var (launch, _) = try placedRun(job())
        try launch.transition(to: .failed, atMs: Build.now + 5, reason: .exited(3))
        guard case .write(let failed) = JobRules.follow(existing: job(), launch: launch, output: nil) else {
            throw Failure("not written")
        }
        #expect(failed.status == .failed && failed.error == "exited with status 3")
    }

    @Test("a cancelled job, or a launch that is not the current run, is not moved")
    func followIgnores() throws {
        var (launch, _) = try placedRun(job())
        try launch.transition(to: .terminating, atMs: Build.now + 1)
        try launch.transition(to: .terminated, atMs: Build.now + 2)
        let cancelled = job(.cancelled)
        #expect(JobRules.follow(existing: cancelled, launch: launch, output: nil) == .unchanged(cancelled))
        var older = job()
        older.runID = "j1-run-2"
        #expect(JobRules.follow(existing: older, launch: launch, output: nil) == .unchanged(older))
    }

    @Test("trigger starts the next run, and is refused at max_concurrent_runs active runs")
    func trigger() {
        let done = job(.completed, maxRuns: 2)
        guard case .write(let next) = JobRules.trigger(existing: done, id: "j1", activeRuns: 1, atMs: 50) else {
            Issue.record("not triggered")
            return
        }
        #expect(next.runID == "j1-run-2" && next.runCount == 2 && next.status == .pending && next.updatedAtMs == 50)
        #expect(next.output == nil && next.executedBy == nil && next.error == nil)
        #expect(
            JobRules.trigger(existing: done, id: "j1", activeRuns: 2, atMs: 50)
                == .refused(.tooManyRuns(id: "j1", active: 2, limit: 2)))
        #expect(JobRules.trigger(existing: nil, id: "x", activeRuns: 0, atMs: 50) == .refused(.notFound(id: "x")))
    }

    @Test("pause and resume change the scheduler state once; repeating changes nothing")
    func scheduler() {
        let running = SchedulerState()
        let paused = running.setting(paused: true, atMs: 7)
        #expect(paused == SchedulerState(paused: true, changedAtMs: 7))
        #expect(paused?.setting(paused: true, atMs: 9) == nil)
        #expect(paused?.setting(paused: false, atMs: 9) == SchedulerState(paused: false, changedAtMs: 9))
        #expect(running.setting(paused: false, atMs: 9) == nil)
    }

    @Test("output is bounded per stream at a character boundary, and flagged when cut")
    func boundedOutput() {
        let small = LaunchOutput(stdout: "hello\n", stderr: "warn", truncated: false)
        #expect(small.bounded() == small)
        let cut = LaunchOutput(stdout: String(repeating: "é", count: 4), stderr: "", truncated: false).bounded(to: 5)
        #expect(cut.stdout == "éé" && cut.truncated)
        #expect(LaunchOutput(stdout: "", stderr: "", truncated: true).bounded().truncated)
        #expect(
            LaunchOutput(stdout: "", stderr: String(repeating: "x", count: 70_000), truncated: false).bounded()
                .stderr.utf8.count == LaunchOutput.reportLimitBytes)
    }
}

@Suite struct PendingLaunchJSONTests {
    @Test("a pending command launch written directly decodes to the same record as JSONEncoder's form")
    func sameRecord() throws {
        let commands = [
            WorkloadCommand(string: "echo \"hé\"\\ /tmp\n\t\u{01} 😀", shell: true),
            WorkloadCommand(argv: ["/bin/echo", "a b", "\"q\""]),
        ]
        for command in commands {
            let intent = WorkloadIntent(
                name: "job-x", vcpus: 1, memoryMiB: 64, backend: .process, labels: ["zone": "a", "b": "c\""],
                payload: .command(command))
            let record = LaunchRecord(id: "x-run-1", intent: intent, createdAtMs: -3, note: "run 1 of job x")
            let bytes = try #require(record.pendingCommandJSONBytes())
            let decoded = try JSONDecoder().decode(LaunchRecord.self, from: Data(bytes))
            #expect(decoded == record)
            let viaEncoder = try JSONDecoder().decode(LaunchRecord.self, from: JSONEncoder().encode(record))
            #expect(decoded == viaEncoder)
        }
        let vm = LaunchRecord(id: "v", intent: Build.vm(), createdAtMs: 1)
        #expect(vm.pendingCommandJSONBytes() == nil)
    }
}
