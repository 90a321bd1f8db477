import Foundation
import Testing

extension ProcessClusterTests {
    /// Issue 11's cron and retries on real processes: a cron job every second keeps firing
    /// each due time exactly once while the leader is killed twice; a failing job is retried
    /// as new runs; `depends_on` refuses a trigger with 409.
    @Suite("JobSchedules")
    struct JobSchedules {
        typealias RunningAgent = AgentLaunches.RunningAgent

        static func temporaryDirectory() throws -> String {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "berth-cron-test-\(UUID().uuidString)"
            ).path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            return directory
        }

        /// The job's recorded due times, oldest first.
        static func fires(_ jobID: String, via base: String) async throws -> [[String: Any]] {
            let answer = try await HTTPCall.get("\(base)/api/jobs/\(jobID)/fires?limit=1000&consistent=true")
            guard answer.status == 200, let fires = answer.array else { throw Observation("fires: \(answer)") }
            return fires.reversed()
        }

        /// Waits until at least `count` more due times than `after` are recorded.
        static func waitForFires(_ jobID: String, moreThan after: Int, by count: Int, via cluster: ServerCluster)
            async throws -> Int
        {
            try await eventually("\(count) more due times of \(jobID)", within: 20) { () -> Int? in
                for id in cluster.ids where cluster.local.isRunning(id) {
                    guard let fires = try? await Self.fires(jobID, via: cluster.url(id)) else { continue }
                    if fires.count >= after + count { return fires.count }
                    throw Observation("\(fires.count) fires")
                }
                throw Observation("no node answered")
            }
        }

        @Test(
            "a cron job every second fires each due time once while the leader is kill -9'd twice: no duplicate, every gap counted as missed (run_once), a run per fire"
        )
        func cronAcrossFailovers() async throws {
            let directory = try Self.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try await withServerCluster { cluster in
                let agent = try RunningAgent(
                    servers: cluster.ids.map { cluster.url($0) }, nodeID: "agent-cron", directory: directory)
                defer { agent.stop() }
                do {
                    var leader = try await cluster.waitForLeader()
                    let created = try await HTTPCall.post(
                        "\(cluster.url(leader.id))/api/jobs",
                        json: #"{"command": "true", "schedule": "* * * * * *", "max_concurrent_runs": 50}"#)
                    #expect(created.status == 201, "\(created)")
                    let jobID = try #require(created.string("job_id"), "\(created)")
                    var seen = try await Self.waitForFires(jobID, moreThan: 0, by: 3, via: cluster)

                    // Twice: kill -9 the leader, wait for the next, then bring the killed node back
                    // (a quorum must remain for the second kill) and see firing continue.
                    for round in 1...2 {
                        let killed = leader.id
                        await cluster.stop(killed)
                        leader = try await cluster.waitForLeader(among: cluster.ids.filter { $0 != killed })
                        seen = try await Self.waitForFires(jobID, moreThan: seen, by: 2, via: cluster)
                        try await cluster.start(killed)
                        try await cluster.waitCaughtUp(killed, to: leader.id)
                        seen = try await Self.waitForFires(jobID, moreThan: seen, by: 2, via: cluster)
                        _ = round
                    }

                    // Stop the schedule, then read every recorded due time from each node.
                    let cancel = try await HTTPCall.delete("\(cluster.url(leader.id))/api/jobs/\(jobID)")
                    #expect(cancel.status == 200, "\(cancel)")
                    let fires = try await Self.fires(jobID, via: cluster.url(leader.id))
                    let dues = fires.compactMap { ($0["due_ms"] as? NSNumber)?.int64Value }
                    #expect(dues.count == fires.count && dues.count >= 10, "\(fires)")
                    #expect(Set(dues).count == dues.count, "a due time fired twice: \(dues)")
                    #expect(dues == dues.sorted(), "\(dues)")
                    #expect(dues.allSatisfy { $0 % 1000 == 0 }, "\(dues)")
                    // run_once: every gap between recorded due times is exactly the missed count the
                    // leader recorded (due times nobody fired during an election), and each
                    // recorded due time started a run.
                    var missedTotal = 0
                    for (previous, fire) in zip(fires, fires.dropFirst()) {
                        let gap = Int(
                            (fire["due_ms"] as! NSNumber).int64Value - (previous["due_ms"] as! NSNumber).int64Value)
                        let missed = (fire["missed"] as? NSNumber)?.intValue ?? -1
                        #expect(gap / 1000 - 1 == missed, "gap \(gap) ms but missed \(missed): \(fire)")
                        missedTotal += missed
                    }
                    #expect(fires.allSatisfy { $0["outcome"] as? String == "started" }, "\(fires)")
                    // Two elections cost a few seconds at most; the rest fired on time.
                    #expect(missedTotal < dues.count, "missed \(missedTotal) of \(dues.count + missedTotal)")
                    for id in cluster.ids {
                        let there = try await Self.fires(jobID, via: cluster.url(id))
                        #expect(there.count == fires.count, "node \(id) holds \(there.count) fires, not \(fires.count)")
                    }
                    let runs = try await HTTPCall.get("\(cluster.url(leader.id))/api/jobs/\(jobID)/runs?limit=1000")
                    #expect(
                        runs.array?.count == fires.count, "\(runs.array?.count ?? -1) runs for \(fires.count) fires")
                    let runIDs = Set(fires.compactMap { $0["run_id"] as? String })
                    #expect(runIDs.count == fires.count, "\(fires)")
                } catch {
                    Issue.record("agent log: \(agent.log.suffix(3000))")
                    throw error
                }
            }
        }

        @Test(
            "retries: a failing command is tried retries+1 times, each attempt a run; depends_on refuses a trigger with 409 until the dependency completed"
        )
        func retriesAndDependencies() async throws {
            let directory = try Self.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                let follower = try #require(cluster.ids.first { $0 != leader.id })
                let agent = try RunningAgent(
                    servers: cluster.ids.map { cluster.url($0) }, nodeID: "agent-retry", directory: directory)
                defer { agent.stop() }
                do {
                    let created = try await HTTPCall.post(
                        "\(cluster.url(follower))/api/jobs",
                        json: #"{"command": "echo try; exit 3", "retries": 2, "backoff_seconds": 1}"#)
                    #expect(created.status == 201, "\(created)")
                    let jobID = try #require(created.string("job_id"), "\(created)")
                    let failed = try await eventually("three failed attempts", within: 40) { () -> HTTPAnswer? in
                        let job = try await HTTPCall.get("\(cluster.url(leader.id))/api/jobs/\(jobID)?consistent=true")
                        return job.string("status") == "failed" ? job : nil
                    }
                    #expect(failed.object?["attempt"] as? Int == 3, "\(failed)")
                    #expect(failed.object?["run_count"] as? Int == 3, "\(failed)")
                    let runs = try await HTTPCall.get("\(cluster.url(follower))/api/jobs/\(jobID)/runs?consistent=true")
                    #expect(runs.array?.count == 3, "\(runs)")
                    #expect(runs.array?.allSatisfy { $0["status"] as? String == "failed" } == true, "\(runs)")

                    // depends_on: the failed job is not a satisfied dependency.
                    let dependent = try await HTTPCall.post(
                        "\(cluster.url(leader.id))/api/jobs",
                        json: #"{"command": "echo after", "schedule": "0 0 1 1 *", "depends_on": ["\#(jobID)"]}"#)
                    #expect(dependent.status == 201, "\(dependent)")
                    let dependentID = try #require(dependent.string("job_id"))
                    let refused = try await HTTPCall.post(
                        "\(cluster.url(follower))/api/jobs/\(dependentID)/trigger", json: "")
                    #expect(refused.status == 409 && refused.errorCode == "DEPENDENCY_NOT_SATISFIED", "\(refused)")
                    let oneOff = try await HTTPCall.post(
                        "\(cluster.url(follower))/api/jobs", json: #"{"command": "true", "depends_on": ["nope"]}"#)
                    #expect(oneOff.status == 409 && oneOff.errorCode == "DEPENDENCY_NOT_SATISFIED", "\(oneOff)")

                    // A dependency that completed lets the trigger through.
                    let first = try await HTTPCall.post(
                        "\(cluster.url(leader.id))/api/jobs", json: #"{"command": "echo first"}"#)
                    let firstID = try #require(first.string("job_id"))
                    _ = try await JobRuns.waitForJob(firstID, ["completed"], via: cluster.url(leader.id))
                    let second = try await HTTPCall.post(
                        "\(cluster.url(leader.id))/api/jobs",
                        json: #"{"command": "echo second", "depends_on": ["\#(firstID)"]}"#)
                    #expect(second.status == 201, "\(second)")
                    let secondID = try #require(second.string("job_id"))
                    let done = try await JobRuns.waitForJob(
                        secondID, ["completed", "failed"], via: cluster.url(leader.id))
                    #expect(done.string("output") == "second\n", "\(done)")

                    // Bad schedules and zones: 400 with stable codes.
                    for (body, code) in [
                        (#"{"command": "true", "schedule": "61 * * * *"}"#, "INVALID_SCHEDULE"),
                        (#"{"command": "true", "schedule": "* * * *"}"#, "INVALID_SCHEDULE"),
                        (
                            #"{"command": "true", "schedule": "* * * * *", "time_zone": "Mars/Olympus"}"#,
                            "INVALID_TIME_ZONE"
                        ),
                        (#"{"command": "true", "schedule": "* * * * *", "missed_runs": "all"}"#, "INVALID_ARGUMENT"),
                        (#"{"command": "true", "retries": -1}"#, "INVALID_ARGUMENT"),
                    ] {
                        let answer = try await HTTPCall.post("\(cluster.url(follower))/api/jobs", json: body)
                        #expect(
                            answer.status == 400 && answer.errorCode == code && answer.isErrorShape,
                            "\(body): \(answer)")
                    }
                } catch {
                    Issue.record("agent log: \(agent.log.suffix(3000))")
                    throw error
                }
            }
        }

        @Test(
            "a DAG of three tasks runs in order on the agent, each task a launch; a failed task fails its dependants with UPSTREAM_FAILED"
        )
        func dagInOrder() async throws {
            let directory = try Self.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let trail = directory + "/trail.txt"
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                let follower = try #require(cluster.ids.first { $0 != leader.id })
                let agent = try RunningAgent(
                    servers: cluster.ids.map { cluster.url($0) }, nodeID: "agent-dag", directory: directory)
                defer { agent.stop() }
                do {
                    // c is listed first and b last: the order comes from depends_on alone.
                    let body = """
                        {"tasks": [
                          {"name": "c", "command": "echo c >> \(trail); echo done-c", "depends_on": ["b"]},
                          {"name": "a", "command": "sleep 0.3; echo a >> \(trail)"},
                          {"name": "b", "command": "sleep 0.3; echo b >> \(trail)", "depends_on": ["a"]}
                        ]}
                        """
                    let created = try await HTTPCall.post("\(cluster.url(follower))/api/jobs", json: body)
                    #expect(created.status == 201, "\(created)")
                    let jobID = try #require(created.string("job_id"), "\(created)")
                    let done = try await JobRuns.waitForJob(
                        jobID, ["completed", "failed"], via: cluster.url(leader.id))
                    #expect(done.string("status") == "completed", "\(done)")
                    let order = try String(contentsOfFile: trail, encoding: .utf8)
                    #expect(order == "a\nb\nc\n", "\(order)")
                    let runID = "\(jobID)-run-1"
                    let tasks = try await HTTPCall.get(
                        "\(cluster.url(follower))/api/runs/\(runID)/tasks?consistent=true")
                    #expect(tasks.array?.map { $0["name"] as? String } == ["c", "a", "b"], "\(tasks)")
                    #expect(tasks.array?.allSatisfy { $0["state"] as? String == "succeeded" } == true, "\(tasks)")
                    #expect(tasks.array?.first?["stdout"] as? String == "done-c\n", "\(tasks)")
                    let run = try await HTTPCall.get("\(cluster.url(follower))/api/runs/\(runID)")
                    #expect(run.string("status") == "completed", "\(run)")
                    let runs = try await HTTPCall.get("\(cluster.url(follower))/api/jobs/\(jobID)/runs")
                    #expect(runs.array?.count == 1, "\(runs)")
                    let launch = try await HTTPCall.get("\(cluster.url(follower))/api/v1alpha1/launch/\(runID).a")
                    #expect(
                        launch.string("node_id") == "agent-dag" && launch.string("state") == "terminated", "\(launch)")

                    // A failing first task: the others never run.
                    let failing = try await HTTPCall.post(
                        "\(cluster.url(leader.id))/api/jobs",
                        json:
                            #"{"tasks": [{"name": "a", "command": "exit 4"}, {"name": "b", "command": "true", "depends_on": ["a"]}, {"name": "c", "command": "true", "depends_on": ["b"]}]}"#
                    )
                    let failingID = try #require(failing.string("job_id"), "\(failing)")
                    let failed = try await JobRuns.waitForJob(
                        failingID, ["completed", "failed"], via: cluster.url(leader.id))
                    #expect(failed.string("status") == "failed", "\(failed)")
                    let failedTasks = try await HTTPCall.get(
                        "\(cluster.url(follower))/api/runs/\(failingID)-run-1/tasks?consistent=true")
                    let states = failedTasks.array?.map { $0["state"] as? String ?? "" }
                    #expect(states == ["failed", "upstream_failed", "upstream_failed"], "\(failedTasks)")
                    #expect(
                        (failedTasks.array?[2]["reason"] as? String)?.hasPrefix("UPSTREAM_FAILED") == true,
                        "\(failedTasks)")

                    // Cycles and unknown names: 400 INVALID_TASKS.
                    for tasks in [
                        #"[{"name": "a", "command": "true", "depends_on": ["b"]}, {"name": "b", "command": "true", "depends_on": ["a"]}]"#,
                        #"[{"name": "a", "command": "true", "depends_on": ["zz"]}]"#,
                    ] {
                        let answer = try await HTTPCall.post(
                            "\(cluster.url(follower))/api/jobs", json: #"{"tasks": \#(tasks)}"#)
                        #expect(answer.status == 400 && answer.errorCode == "INVALID_TASKS", "\(answer)")
                    }
                } catch {
                    Issue.record("agent log: \(agent.log.suffix(3000))")
                    throw error
                }
            }
        }
    }
}
