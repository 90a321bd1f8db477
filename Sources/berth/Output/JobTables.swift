import BerthControlPlane

/// The jobs API's answers for people.
enum JobTables {
    static func job(_ job: JSONValue) -> String {
        var list = KeyValueList()
        for (label, key) in [
            ("job", "id"), ("job", "job_id"), ("status", "status"), ("command", "command"), ("image", "image"),
            ("schedule", "schedule"), ("time zone", "time_zone"), ("missed runs", "missed_runs"),
            ("last due", "last_due_at"), ("retries", "retries"), ("backoff", "backoff_seconds"),
            ("attempt", "attempt"), ("retry at", "retry_at"), ("depends on", "depends_on"), ("run", "run_id"),
            ("runs", "run_count"), ("executed by", "executed_by"), ("created", "created_at"),
            ("completed", "completed_at"), ("error", "error"),
        ] {
            guard let value = job[key], value != .null else { continue }
            list.add(label, value.display)
        }
        return list.render()
    }

    static func list(_ answer: JSONValue) -> String {
        let jobs = answer.items ?? []
        var table = TextTable("JOB", "STATUS", "RUNS", "SCHEDULE", "EXECUTED BY", "CREATED", "COMMAND")
        for job in jobs {
            table.add(
                job["id"]?.text ?? "-", job["status"]?.text ?? "-", job["run_count"]?.display ?? "-",
                job["schedule"]?.text ?? "-", job["executed_by"]?.text ?? "-", job["created_at"]?.text ?? "-",
                job["command"]?.text ?? "-")
        }
        return jobs.isEmpty ? "no jobs" : table.render()
    }

    static func output(_ answer: JSONValue) -> String {
        guard answer["available"]?.boolean == true else {
            return "no output yet (job is \(answer["status"]?.text ?? "-"))"
        }
        var text = answer["stdout"]?.text ?? ""
        if let stderr = answer["stderr"]?.text, !stderr.isEmpty { text += stderr }
        if answer["truncated"]?.boolean == true { text += "\n(truncated)" }
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }

    static func runs(_ answer: JSONValue) -> String {
        let runs = answer.items ?? []
        var table = TextTable("RUN", "NUMBER", "STATUS", "LAUNCH STATE", "EXECUTED BY", "CREATED", "ERROR")
        for run in runs {
            table.add(
                run["run_id"]?.text ?? "-", run["number"]?.display ?? "-", run["status"]?.text ?? "-",
                run["launch_state"]?.text ?? "-", run["executed_by"]?.text ?? "-", run["created_at"]?.text ?? "-",
                run["error"]?.text ?? "")
        }
        return runs.isEmpty ? "no runs" : table.render()
    }

    static func fires(_ answer: JSONValue) -> String {
        let fires = answer.items ?? []
        var table = TextTable("DUE", "FIRED", "MISSED", "OUTCOME", "RUN")
        for fire in fires {
            table.add(
                fire["due_at"]?.text ?? "-", fire["fired_at"]?.text ?? "-", fire["missed"]?.display ?? "-",
                fire["outcome"]?.text ?? "-", fire["run_id"]?.text ?? "-")
        }
        return fires.isEmpty ? "no due time fired yet" : table.render()
    }

    static func tasks(_ answer: JSONValue) -> String {
        let tasks = answer.items ?? []
        var table = TextTable("TASK", "STATE", "LAUNCH", "UPDATED", "REASON")
        for task in tasks {
            table.add(
                task["name"]?.text ?? "-", task["state"]?.text ?? "-", task["launch_id"]?.text ?? "-",
                task["updated_at"]?.text ?? "-", task["reason"]?.text ?? "")
        }
        return tasks.isEmpty ? "no tasks (not a DAG run)" : table.render()
    }

    static func scheduler(_ answer: JSONValue) -> String {
        "scheduler \(answer["state"]?.text ?? "-")" + (answer["changed_at"]?.text.map { " since \($0)" } ?? "")
    }
}
