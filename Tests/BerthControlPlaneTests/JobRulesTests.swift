import BerthControlPlane
import Testing

/// The jobs' state machine, without a database: every transition and every refusal.
@Suite struct JobRulesTests {
    func job(_ status: JobStatus, id: String = "j1") -> JobRecord {
        JobRecord(id: id, command: "echo hi", image: "alpine", status: status, createdAtMs: 10, updatedAtMs: 10)
    }

    @Test("create makes a pending job stamped with the leader's time, whose current run is its first")
    func createNew() {
        let decision = JobRules.create(existing: nil, id: "j1", command: "echo hi", image: "alpine", atMs: 10)
        var expected = job(.pending)
        expected.runID = "j1-run-1"
        expected.runCount = 1
        #expect(decision == .write(expected))
        let limited = JobRules.create(
            existing: nil, id: "j1", command: "echo hi", image: nil, backend: "process", maxConcurrentRuns: 3, atMs: 10)
        guard case .write(let created) = limited else {
            Issue.record("\(limited)")
            return
        }
        #expect(created.maxConcurrentRuns == 3 && created.backend == "process")
    }

    @Test("create of a taken id with another backend is refused")
    func createOtherBackend() {
        #expect(
            JobRules.create(
                existing: job(.pending), id: "j1", command: "echo hi", image: "alpine", backend: "qemu", atMs: 9)
                == .refused(.alreadyExists(id: "j1")))
    }

    @Test("create of the same id, command and image again answers with the stored job")
    func createRetried() {
        var stored = job(.running)
        stored.executedBy = "n1"
        let decision = JobRules.create(existing: stored, id: "j1", command: "echo hi", image: "alpine", atMs: 99)
        #expect(decision == .unchanged(stored))
    }

    @Test("create of a taken id with another command or image is refused")
    func createTaken() {
        let stored = job(.pending)
        #expect(
            JobRules.create(existing: stored, id: "j1", command: "echo bye", image: "alpine", atMs: 99)
                == .refused(.alreadyExists(id: "j1")))
        #expect(
            JobRules.create(existing: stored, id: "j1", command: "echo hi", image: nil, atMs: 99)
                == .refused(.alreadyExists(id: "j1")))
    }

    @Test("cancel ends a pending or running job")
    func cancel() {
        for status in [JobStatus.pending, .running] {
            var expected = job(status)
            expected.status = .cancelled
            expected.updatedAtMs = 20
            #expect(JobRules.cancel(existing: job(status), id: "j1", atMs: 20) == .write(expected))
        }
    }

    @Test("cancel of a missing or ended job is refused")
    func cancelRefused() {
        #expect(JobRules.cancel(existing: nil, id: "j9", atMs: 20) == .refused(.notFound(id: "j9")))
        for status in [JobStatus.completed, .failed, .cancelled] {
            #expect(
                JobRules.cancel(existing: job(status), id: "j1", atMs: 20)
                    == .refused(.alreadyTerminal(id: "j1", status: status)))
        }
    }

    @Test("start runs a pending job on its worker")
    func start() {
        var expected = job(.running)
        expected.executedBy = "n2"
        expected.updatedAtMs = 30
        #expect(JobRules.start(existing: job(.pending), id: "j1", executedBy: "n2", atMs: 30) == .write(expected))
    }

    @Test("start of a missing or non-pending job is refused")
    func startRefused() {
        #expect(JobRules.start(existing: nil, id: "j9", executedBy: "n2", atMs: 30) == .refused(.notFound(id: "j9")))
        for status in [JobStatus.running, .completed, .failed, .cancelled] {
            #expect(
                JobRules.start(existing: job(status), id: "j1", executedBy: "n2", atMs: 30)
                    == .refused(.illegalTransition(id: "j1", from: status, to: .running)))
        }
    }

    @Test("finish completes or fails a running job, with its output or error")
    func finish() {
        var completed = job(.completed)
        completed.output = "hi\n"
        completed.updatedAtMs = 40
        #expect(
            JobRules.finish(existing: job(.running), id: "j1", succeeded: true, output: "hi\n", error: nil, atMs: 40)
                == .write(completed))
        var failed = job(.failed)
        failed.error = "exit 1"
        failed.updatedAtMs = 40
        #expect(
            JobRules.finish(existing: job(.running), id: "j1", succeeded: false, output: nil, error: "exit 1", atMs: 40)
                == .write(failed))
    }

    @Test("finish of a missing or non-running job is refused, naming the target state")
    func finishRefused() {
        #expect(
            JobRules.finish(existing: nil, id: "j9", succeeded: true, output: nil, error: nil, atMs: 40)
                == .refused(.notFound(id: "j9")))
        for status in [JobStatus.pending, .completed, .failed, .cancelled] {
            #expect(
                JobRules.finish(existing: job(status), id: "j1", succeeded: true, output: nil, error: nil, atMs: 40)
                    == .refused(.illegalTransition(id: "j1", from: status, to: .completed)))
            #expect(
                JobRules.finish(existing: job(status), id: "j1", succeeded: false, output: nil, error: "x", atMs: 40)
                    == .refused(.illegalTransition(id: "j1", from: status, to: .failed)))
        }
    }

    @Test("a job's coding keys are the jobs table's columns")
    func codingKeys() {
        var record = job(.running)
        record.executedBy = "n1"
        record.output = ""
        record.error = ""
        record.backend = "process"
        record.runID = "j1-run-1"
        record.plan = JobPlan(schedule: "* * * * *")
        record.lastDueMs = 5
        record.retryAtMs = 6
        #expect(
            JSON.keys(record)
                == [
                    "id", "command", "image", "status", "created_at_ms", "updated_at_ms", "executed_by", "output",
                    "error", "backend", "run_id", "run_count", "max_concurrent_runs", "plan", "last_due_ms",
                    "retry_at_ms", "attempt",
                ])
    }
}
