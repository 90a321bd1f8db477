import BerthControlPlane
import Testing

/// DAG runs without a database: which graphs are valid, which tasks start when, and how a
/// failure reaches the tasks after it.
@Suite struct TaskGraphTests {
    let diamond = [
        JobTask(name: "fetch", command: "echo fetch"),
        JobTask(name: "left", command: "echo left", dependsOn: ["fetch"]),
        JobTask(name: "right", command: "echo right", dependsOn: ["fetch"]),
        JobTask(name: "join", command: "echo join", dependsOn: ["left", "right"]),
    ]

    func states(_ pairs: [String: TaskState]) -> [String: TaskState] { pairs }

    @Test("valid graphs pass; unknown names, cycles, duplicates and bad names are refused")
    func validation() throws {
        try TaskGraph.validate(diamond, maxCommandBytes: 1024)
        let invalid: [[JobTask]] = [
            [],
            [JobTask(name: "a", command: "true", dependsOn: ["b"])],
            [
                JobTask(name: "a", command: "true", dependsOn: ["b"]),
                JobTask(name: "b", command: "true", dependsOn: ["a"]),
            ],
            [JobTask(name: "a", command: "true", dependsOn: ["a"])],
            [JobTask(name: "a", command: "true"), JobTask(name: "a", command: "true")],
            [JobTask(name: "a.b", command: "true")],
            [JobTask(name: "a", command: "  ")],
            [
                JobTask(name: "a", command: "true", dependsOn: ["c"]),
                JobTask(name: "b", command: "true", dependsOn: ["a"]),
                JobTask(name: "c", command: "true", dependsOn: ["b"]),
            ],
        ]
        for tasks in invalid {
            #expect(throws: TaskGraph.Invalid.self, "\(tasks)") { try TaskGraph.validate(tasks, maxCommandBytes: 1024) }
        }
    }

    @Test("tasks start only when every dependency succeeded, in order")
    func ordering() {
        let waiting = Dictionary(uniqueKeysWithValues: diamond.map { ($0.name, TaskState.waiting) })
        #expect(TaskGraph.advance(diamond, states: waiting).keys.sorted() == ["fetch"])
        var now = waiting
        now["fetch"] = .succeeded
        #expect(TaskGraph.advance(diamond, states: now).keys.sorted() == ["left", "right"])
        now["left"] = .succeeded
        now["right"] = .running
        #expect(TaskGraph.advance(diamond, states: now).isEmpty)
        now["right"] = .succeeded
        #expect(TaskGraph.advance(diamond, states: now).mapValues(\.0) == ["join": .pending])
        now["join"] = .succeeded
        #expect(TaskGraph.runStatus(Array(now.values)) == .completed)
    }

    @Test("a failed task fails every task after it with UPSTREAM_FAILED; the run fails once nothing runs")
    func failure() {
        var now = Dictionary(uniqueKeysWithValues: diamond.map { ($0.name, TaskState.waiting) })
        now["fetch"] = .succeeded
        now["left"] = .failed
        now["right"] = .running
        let changes = TaskGraph.advance(diamond, states: now)
        #expect(changes.mapValues(\.0) == ["join": .upstreamFailed])
        #expect(changes["join"]?.reason == "UPSTREAM_FAILED: task left failed")
        now["join"] = .upstreamFailed
        #expect(TaskGraph.runStatus(Array(now.values)) == .running)
        now["right"] = .succeeded
        #expect(TaskGraph.runStatus(Array(now.values)) == .failed)
        // Transitively, in one step.
        let chain = [
            JobTask(name: "a", command: "true"), JobTask(name: "b", command: "true", dependsOn: ["a"]),
            JobTask(name: "c", command: "true", dependsOn: ["b"]),
        ]
        let cascade = TaskGraph.advance(chain, states: ["a": .failed, "b": .waiting, "c": .waiting])
        #expect(cascade.mapValues(\.0) == ["b": .upstreamFailed, "c": .upstreamFailed])
        #expect(cascade["c"]?.reason == "UPSTREAM_FAILED: task b upstream_failed")
        #expect(TaskGraph.runStatus([.waiting, .pending]) == .pending)
    }
}
