import Foundation
import Testing

extension ProcessClusterTests {
    /// Issue 11's first slice on real processes: a job's run is a launch, placed by the leader on
    /// a real `berth agent`, its output reported back and readable from any node; cancel stops
    /// a running run on its agent.
    @Suite("JobRuns")
    struct JobRuns {
        typealias RunningAgent = AgentLaunches.RunningAgent

        static func waitForJob(
            _ id: String, _ statuses: Set<String>, via base: String, within seconds: Double = 30
        ) async throws -> HTTPAnswer {
            let deadline = Date().addingTimeInterval(seconds)
            var last: HTTPAnswer?
            while Date() < deadline {
                let shown = try await HTTPCall.get("\(base)/api/jobs/\(id)?consistent=true")
                if let status = shown.string("status"), statuses.contains(status) { return shown }
                last = shown
                try await Task.sleep(for: .milliseconds(50))
            }
            throw Observation("job \(id) never reached \(statuses.sorted()): \(String(describing: last))")
        }

        @Test(
            "echo hello runs on the agent: completed, executed_by the agent's node, output read from a follower; cancel terminates a running sleep"
        )
        func echoAndCancel() async throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "berth-job-test-\(UUID().uuidString)"
            ).path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                let follower = try #require(cluster.ids.first { $0 != leader.id })
                let agent = try RunningAgent(
                    servers: cluster.ids.map { cluster.url($0) }, nodeID: "agent-jobs", directory: directory)
                defer { agent.stop() }
                do {
                    // Submitted through a follower before or after the agent registered: it waits
                    // for capacity either way.
                    let created = try await HTTPCall.post(
                        "\(cluster.url(follower))/api/jobs", json: #"{"command": "echo hello"}"#)
                    #expect(created.status == 201, "\(created)")
                    #expect(created.string("status") == "pending", "\(created)")
                    let jobID = try #require(created.string("job_id"), "\(created)")

                    let done = try await Self.waitForJob(
                        jobID, ["completed", "failed", "cancelled"], via: cluster.url(leader.id))
                    #expect(done.string("status") == "completed", "\(done) \(agent.log.suffix(2000))")
                    #expect(done.string("executed_by") == "agent-jobs", "\(done)")
                    #expect(done.string("output") == "hello\n", "\(done)")
                    let runID = try #require(done.string("run_id"), "\(done)")

                    // The output, from a follower's replicated state.
                    let output = try await HTTPCall.get(
                        "\(cluster.url(follower))/api/jobs/\(jobID)/output?consistent=true")
                    #expect(output.status == 200, "\(output)")
                    #expect(output.string("stdout") == "hello\n" && output.string("output") == "hello\n", "\(output)")
                    #expect(output.object?["truncated"] as? Bool == false, "\(output)")
                    #expect(output.object?["available"] as? Bool == true, "\(output)")

                    // The run is a launch, placed with an explanation like any other.
                    let launch = try await HTTPCall.get("\(cluster.url(follower))/api/v1alpha1/launch/\(runID)")
                    #expect(launch.string("node_id") == "agent-jobs", "\(launch)")
                    #expect(launch.string("state") == "terminated", "\(launch)")
                    let run = try await HTTPCall.get("\(cluster.url(follower))/api/runs/\(runID)")
                    #expect(run.string("status") == "completed" && run.string("job_id") == jobID, "\(run)")
                    let runs = try await HTTPCall.get("\(cluster.url(follower))/api/jobs/\(jobID)/runs?limit=5")
                    #expect(runs.array?.count == 1, "\(runs)")
                    let unknownRun = try await HTTPCall.get("\(cluster.url(follower))/api/runs/nope")
                    #expect(unknownRun.status == 404 && unknownRun.isErrorShape, "\(unknownRun)")
                    let unknownOutput = try await HTTPCall.get("\(cluster.url(follower))/api/jobs/nope/output")
                    #expect(unknownOutput.status == 404, "\(unknownOutput)")
                    let health = try await HTTPCall.get("\(cluster.url(follower))/api/health")
                    #expect(health.status == 200 && health.string("status") == "ok", "\(health)")
                    #expect(health.string("scheduler") == "running", "\(health)")

                    // Cancel of a running sleep terminates it on its agent.
                    let sleeper = try await HTTPCall.post(
                        "\(cluster.url(leader.id))/api/jobs", json: #"{"command": "sleep 30"}"#)
                    let sleeperID = try #require(sleeper.string("job_id"), "\(sleeper)")
                    let running = try await Self.waitForJob(sleeperID, ["running"], via: cluster.url(leader.id))
                    let sleeperRun = try #require(running.string("run_id"))
                    var workload: (pid: Int32, startTime: UInt64)?
                    let found = Date().addingTimeInterval(10)
                    while workload == nil, Date() < found {
                        workload = agent.recordedProcess(sleeperRun)
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    let recorded = try #require(workload, "the agent never recorded the sleep")
                    // One run at a time (max_concurrent_runs 1): a second is refused while it runs.
                    let tooMany = try await HTTPCall.post(
                        "\(cluster.url(follower))/api/jobs/\(sleeperID)/trigger", json: "")
                    #expect(tooMany.status == 429, "\(tooMany)")
                    #expect(tooMany.errorCode == "MAX_CONCURRENT_RUNS_EXCEEDED", "\(tooMany)")
                    let cancel = try await HTTPCall.delete("\(cluster.url(follower))/api/jobs/\(sleeperID)")
                    #expect(cancel.status == 200, "\(cancel)")
                    #expect(cancel.object?["success"] as? Bool == true, "\(cancel)")
                    #expect(cancel.string("status") == "cancelled", "\(cancel)")
                    let stopped = try await AgentLaunches.waitForState(
                        sleeperRun, ["terminated", "failed"], via: cluster.url(leader.id))
                    #expect(stopped.string("state") == "terminated", "\(stopped)")
                    #expect(!RunningAgent.isAlive(recorded.pid, startTime: recorded.startTime), "still running")
                    let again = try await HTTPCall.delete("\(cluster.url(leader.id))/api/jobs/\(sleeperID)")
                    #expect(again.status == 400 && again.errorCode == "JOB_ALREADY_TERMINAL", "\(again)")
                    let cancelledJob = try await HTTPCall.get(
                        "\(cluster.url(follower))/api/jobs/\(sleeperID)?consistent=true")
                    #expect(cancelledJob.string("status") == "cancelled", "\(cancelledJob)")

                    // Pause: a submitted job stays pending; resume: it runs.
                    let paused = try await HTTPCall.post("\(cluster.url(follower))/api/scheduler/pause", json: "")
                    #expect(paused.status == 200 && paused.string("state") == "paused", "\(paused)")
                    let state = try await HTTPCall.get("\(cluster.url(leader.id))/api/scheduler/state?consistent=true")
                    #expect(state.string("state") == "paused", "\(state)")
                    let held = try await HTTPCall.post(
                        "\(cluster.url(leader.id))/api/jobs", json: #"{"command": "echo later"}"#)
                    let heldID = try #require(held.string("job_id"), "\(held)")
                    try await Task.sleep(for: .seconds(1))
                    let stillPending = try await HTTPCall.get("\(cluster.url(leader.id))/api/jobs/\(heldID)")
                    #expect(stillPending.string("status") == "pending", "\(stillPending)")
                    #expect(stillPending.string("executed_by") == nil, "\(stillPending)")
                    let resumed = try await HTTPCall.post("\(cluster.url(leader.id))/api/scheduler/resume", json: "")
                    #expect(resumed.string("state") == "running", "\(resumed)")
                    let ran = try await Self.waitForJob(heldID, ["completed", "failed"], via: cluster.url(leader.id))
                    #expect(ran.string("output") == "later\n", "\(ran)")

                    // Trigger: a new run (a new launch) of a finished job.
                    let triggered = try await HTTPCall.post(
                        "\(cluster.url(follower))/api/jobs/\(jobID)/trigger", json: "")
                    #expect(triggered.status == 201 && triggered.string("run_id") == "\(jobID)-run-2", "\(triggered)")
                    let second = try await Self.waitForJob(jobID, ["completed", "failed"], via: cluster.url(leader.id))
                    #expect(
                        second.string("run_id") == "\(jobID)-run-2" && second.string("output") == "hello\n", "\(second)"
                    )
                } catch {
                    Issue.record("agent log: \(agent.log.suffix(3000))")
                    throw error
                }
            }
        }
    }
}
