import BerthControlPlane

/// Launch answers as people read them (`berth launch …`).
enum LaunchTables {
    /// A plan: the node, the spec, the explanation table, the state_index, what execute takes,
    /// and with `dry_run` the PrepareOnNode action.
    static func plan(_ answer: JSONValue, intentName: String?, file: String) -> String {
        let node = answer["node_id"]?.text ?? "-"
        let index = answer["state_index"]?.integer.map(String.init) ?? "-"
        var list = KeyValueList()
        list.add("node", node)
        list.add("spec", spec(answer["spec"]))
        list.add("state_index", index)
        var lines = [
            list.render(), "", explanation(answer["explanation"], stateIndex: answer["state_index"], intentName),
        ]
        for action in answer["preparation"]?["actions"]?.items ?? [] {
            lines.append("")
            lines.append(
                "preparation \(answer["preparation"]?["status"]?.text ?? "-"): \(action["type"]?.text ?? "-") "
                    + "on \(action["node_id"]?.text ?? "-")")
            lines.append("  $ \(action["command"]?.text ?? "-")")
            if let detail = action["detail"]?.text { lines.append("  (\(detail))") }
        }
        lines.append("")
        lines.append("execute this plan: berth launch execute \(file) --node \(node) --expect-state-index \(index)")
        return lines.joined(separator: "\n")
    }

    /// A launch record (`get`, and what `execute` created).
    static func record(_ record: JSONValue) -> String {
        var list = KeyValueList()
        list.add("launch", record["launch_id"]?.text ?? record["id"]?.text ?? "-")
        list.add("state", record["state"]?.text ?? "-")
        list.add("node", record["node_id"]?.text ?? "none (not placed)")
        list.add("name", record["intent"]?["name"]?.text ?? "-")
        list.add("spec", record["spec"].map(spec) ?? "none (not placed)")
        if let failure = record["failure"], failure != .null {
            list.add("failure", reason(failure))
        }
        list.add("created", time(record["created_at_ms"]))
        list.add("updated", time(record["updated_at_ms"]))
        var lines = [list.render()]
        let trace = record["trace"]?.items ?? []
        if !trace.isEmpty {
            var table = TextTable("AT", "STATE", "REASON", "NOTE")
            for entry in trace {
                table.add(
                    time(entry["at_ms"]), entry["state"]?.text ?? "-",
                    entry["reason"].flatMap { $0 == .null ? nil : reason($0) } ?? "", entry["note"]?.text ?? "")
            }
            lines += ["", "trace:", table.render()]
        }
        let name = record["intent"]?["name"]?.text
        if let whyPending = record["why_pending"], whyPending != .null {
            lines += ["", "why pending (evaluated now):", explanation(whyPending, stateIndex: nil, name)]
        }
        if let placement = record["placement"], placement != .null {
            let lists = (placement["ranked_nodes"]?.items ?? []) + (placement["rejected_nodes"]?.items ?? [])
            if lists.isEmpty {
                // Execute's answer and list rows carry the placement without its node lists.
                let id = record["launch_id"]?.text ?? record["id"]?.text ?? "ID"
                lines += [
                    "",
                    "placed on \(record["node_id"]?.text ?? "-")"
                        + (placement["evaluated_at"]?.text.map { " (evaluated at \($0))" } ?? "")
                        + "; every node's verdict: berth launch get \(id)",
                ]
            } else {
                lines += ["", "placement (as decided):", explanation(placement, stateIndex: nil, name)]
            }
        }
        return lines.joined(separator: "\n")
    }

    /// One row per launch.
    static func list(_ answer: JSONValue) -> String {
        var table = TextTable("ID", "STATE", "NODE", "NAME", "CREATED", "UPDATED")
        for record in answer.items ?? [] {
            table.add(
                record["launch_id"]?.text ?? record["id"]?.text ?? "-", record["state"]?.text ?? "-",
                record["node_id"]?.text ?? "-", record["intent"]?["name"]?.text ?? "-",
                time(record["created_at_ms"]), time(record["updated_at_ms"]))
        }
        return table.render()
    }

    /// The explanation table, with `stateIndex` (given beside the explanation) in its summary.
    static func explanation(_ value: JSONValue?, stateIndex: JSONValue?, _ intentName: String?) -> String {
        guard case .object(var explanation)? = value else { return "(no explanation)" }
        if explanation["state_index"] == nil, let index = stateIndex?.integer ?? stateIndex?.text.flatMap({ Int64($0) })
        {
            explanation["state_index"] = .integer(index)
        }
        return ExplanationTable.render(.object(explanation), intentName: intentName)
    }

    /// For a refusal about the fleet (NO_ELIGIBLE_NODE, PLAN_STALE, PLACEMENT_STALE), the
    /// explanation the server sent along (the fleet as it is now), on stdout.
    static func showRefusalExplanation(_ answer: APIAnswer, intentName: String?) {
        guard let code = answer.errorCode, ["NO_ELIGIBLE_NODE", "PLAN_STALE", "PLACEMENT_STALE"].contains(code),
            let details = answer.json?["error"]?["details"], let value = details["explanation"]
        else { return }
        Output.line(explanation(value, stateIndex: details["state_index"], intentName))
    }

    /// "payments on arm-01: aarch64, firecracker, kvm, 4 vCPU, 8192 MiB, image, labels env=prod".
    static func spec(_ spec: JSONValue?) -> String {
        guard let spec, spec != .null else { return "-" }
        var parts: [String] = []
        for key in ["arch", "backend", "accel"] {
            if let text = spec[key]?.text { parts.append(text) }
        }
        if let vcpus = spec["vcpus"] { parts.append("\(vcpus.display) vCPU") }
        if let memory = spec["memory_mib"] { parts.append("\(memory.display) MiB") }
        if spec["image"] != nil {
            parts.append("image")
        } else if let command = spec["command"] {
            parts.append(spec["shell"]?.boolean == true ? "sh -c \(command.display)" : "command \(command.display)")
        }
        if let labels = spec["labels"]?.fields, !labels.isEmpty {
            parts.append("labels \(JSONValue.object(labels).display)")
        }
        let head = "\(spec["name"]?.text ?? "-") on \(spec["node_id"]?.text ?? "-")"
        return parts.isEmpty ? head : "\(head): \(parts.joined(separator: ", "))"
    }

    /// "EXITED: exited with status 2 (detail)".
    static func reason(_ reason: JSONValue) -> String {
        let code = reason["code"]?.text ?? "-"
        var text = reason["message"]?.text.map { "\(code): \($0)" } ?? code
        if let detail = reason["detail"]?.text, !(reason["message"]?.text?.contains(detail) ?? false) {
            text += " (\(detail))"
        }
        return text
    }

    /// Milliseconds since the epoch as RFC 3339.
    static func time(_ value: JSONValue?) -> String {
        value?.integer.map { RFC3339.string(fromMilliseconds: $0) } ?? "-"
    }
}
