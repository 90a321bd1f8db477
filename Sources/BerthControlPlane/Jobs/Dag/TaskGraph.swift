/// The pure rules of DAG runs: which task graphs are valid, which tasks may start, what a
/// failure does to the tasks after it, and what the run's status is.
public enum TaskGraph {
    public static let maxTasks = 64
    public static let maxNameLength = 64
    /// The reason given to a task whose dependency failed: `UPSTREAM_FAILED: task X failed`.
    public static let upstreamFailedCode = "UPSTREAM_FAILED"

    /// A graph that cannot run: `INVALID_TASKS` (400) with the reason.
    public struct Invalid: Error, Equatable, Sendable {
        public static let code = "INVALID_TASKS"
        public var message: String
    }

    /// Names unique and well-formed, commands not empty, dependencies naming tasks of the graph,
    /// and no cycle.
    public static func validate(_ tasks: [JobTask], maxCommandBytes: Int) throws(Invalid) {
        guard !tasks.isEmpty, tasks.count <= maxTasks else {
            throw Invalid(message: "tasks must hold 1–\(maxTasks) tasks")
        }
        var names = Set<String>()
        for task in tasks {
            guard !task.name.isEmpty, task.name.count <= maxNameLength,
                task.name.unicodeScalars.allSatisfy({
                    ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-"
                        || $0 == "_"
                })
            else {
                throw Invalid(
                    message: "task name \"\(task.name)\" must be 1–\(maxNameLength) letters, digits, - or _")
            }
            guard names.insert(task.name).inserted else { throw Invalid(message: "two tasks are named \(task.name)") }
            guard task.command.unicodeScalars.contains(where: { !$0.properties.isWhitespace }),
                task.command.utf8.count <= maxCommandBytes
            else {
                throw Invalid(message: "task \(task.name): command must be non-empty, at most \(maxCommandBytes) bytes")
            }
        }
        for task in tasks {
            for dependency in task.dependsOn ?? [] where !names.contains(dependency) {
                throw Invalid(message: "task \(task.name) depends on unknown task \(dependency)")
            }
        }
        // Kahn's algorithm: a graph whose tasks cannot all be ordered has a cycle.
        var remaining = Dictionary(uniqueKeysWithValues: tasks.map { ($0.name, Set($0.dependsOn ?? [])) })
        while let ready = remaining.first(where: { $0.value.isEmpty })?.key {
            remaining[ready] = nil
            for key in remaining.keys { remaining[key]?.remove(ready) }
        }
        if !remaining.isEmpty {
            throw Invalid(message: "tasks \(remaining.keys.sorted().joined(separator: ", ")) form a cycle")
        }
    }

    /// The waiting tasks that change now, given every task's state: a task whose dependencies all
    /// succeeded becomes ready (`pending`: the caller starts its launch); one with a dependency
    /// that failed, never ran or was cancelled becomes `upstreamFailed`, with a reason naming
    /// it. Repeated until nothing changes, so a failure reaches every task after it at once.
    public static func advance(_ tasks: [JobTask], states: [String: TaskState]) -> [String: (
        TaskState, reason: String?
    )] {
        var states = states
        var changes: [String: (TaskState, reason: String?)] = [:]
        var changed = true
        while changed {
            changed = false
            for task in tasks where states[task.name] == .waiting {
                let dependencies = task.dependsOn ?? []
                if let broken = dependencies.first(where: {
                    [.failed, .upstreamFailed, .cancelled].contains(states[$0] ?? .waiting)
                }) {
                    let reason = "\(upstreamFailedCode): task \(broken) \(states[broken]!.rawValue)"
                    states[task.name] = .upstreamFailed
                    changes[task.name] = (.upstreamFailed, reason)
                    changed = true
                } else if dependencies.allSatisfy({ states[$0] == .succeeded }) {
                    states[task.name] = .pending
                    changes[task.name] = (.pending, nil)
                    changed = true
                }
            }
        }
        return changes
    }

    /// The run's status from its tasks': completed when all succeeded, failed once every task is
    /// terminal and one did not succeed, cancelled when cancelled, running while any task runs,
    /// pending otherwise.
    public static func runStatus(_ states: [TaskState]) -> JobStatus {
        if states.allSatisfy({ $0 == .succeeded }) { return .completed }
        if states.allSatisfy(\.isTerminal) {
            return states.contains(.cancelled) && !states.contains(.failed) ? .cancelled : .failed
        }
        return states.contains(where: { $0 == .running || $0 == .succeeded || $0 == .failed }) ? .running : .pending
    }
}
