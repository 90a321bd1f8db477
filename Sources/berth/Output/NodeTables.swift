import BerthControlPlane
import Foundation

/// `GET /api/v1alpha1/nodes` and `/nodes/:id/explain` for people.
enum NodeTables {
    /// One row per node: what it is, what it has free, and whether placement may use it.
    static func list(_ answer: JSONValue) -> String {
        let nodes = answer["nodes"]?.items ?? []
        var table = TextTable("NODE", "ARCH", "VCPU FREE", "MEMORY FREE", "KVM", "HEALTH", "TELEMETRY", "SCHEDULING")
        for node in nodes {
            table.add(
                node["node_id"]?.text ?? "-", node["arch"]?.text ?? "-",
                freeOf(node["cpus"], unit: ""), freeOf(node["memory_mib"], unit: " MiB"), kvm(node["kvm"]),
                node["health"]?.text ?? "-", telemetry(node["telemetry"], long: false), scheduling(node))
        }
        let suffix = context(answer)
        if nodes.isEmpty { return "no node has reported yet" + suffix }
        return table.render() + "\n\(nodes.count) node\(nodes.count == 1 ? "" : "s")" + suffix
    }

    /// " (state_index 12, evaluated at …)", or nothing when the answer has neither.
    static func context(_ answer: JSONValue) -> String {
        var parts: [String] = []
        if let index = answer["state_index"]?.integer { parts.append("state_index \(index)") }
        if let at = answer["evaluated_at"]?.text { parts.append("evaluated at \(at)") }
        return parts.isEmpty ? "" : " (\(parts.joined(separator: ", ")))"
    }

    /// Everything placement knows about one node, a line per aspect.
    static func explain(_ node: JSONValue) -> String {
        var list = KeyValueList()
        list.add("node", node["node_id"]?.text ?? "-")
        list.add("arch", node["arch"]?.text ?? "-")
        list.add("kernel", node["kernel"]?.text ?? "-")
        list.add("health", node["health"]?.text ?? "-")
        list.add("scheduling", scheduling(node) + (node["cordoned_at"]?.text.map { " since \($0)" } ?? ""))
        list.add("vcpus", usage(node["cpus"], unit: ""))
        list.add("memory", usage(node["memory_mib"], unit: " MiB"))
        list.add("kvm", kvm(node["kvm"]))
        list.add("telemetry", telemetry(node["telemetry"], long: true))
        list.add(
            "report",
            "sequence \(node["sequence"]?.display ?? "-"), observed \(node["observed_at"]?.text ?? "-"), "
                + "received \(node["received_at"]?.text ?? "-")")
        let labels = node["labels"]?.fields ?? [:]
        list.add(
            "labels",
            labels.isEmpty
                ? "none"
                : labels.keys.sorted().map { "\($0)=\(labels[$0]!.display)" }
                    .joined(separator: ", "))
        for (index, backend) in (node["backends"]?.items ?? []).enumerated() {
            var line =
                "\(backend["kind"]?.text ?? "-") \(backend["version"]?.text ?? "-") (\(backend["binary"]?.text ?? "-"))"
            if backend["supported"]?.boolean == false {
                line += ", unsupported" + (backend["minimum_version"]?.text.map { ": needs \($0) or later" } ?? "")
            }
            list.add(index == 0 ? "backends" : "", line)
        }
        if node["backends"]?.items?.isEmpty ?? true { list.add("backends", "none") }
        let capabilities = node["capabilities"]?.fields ?? [:]
        let names = capabilities.keys.sorted()
        let can = names.filter { capabilities[$0]?.boolean == true }.map(capabilityName)
        let cannot = names.filter { capabilities[$0]?.boolean == false }.map(capabilityName)
        list.add("can run", can.isEmpty ? "nothing" : can.joined(separator: ", "))
        list.add("cannot run", cannot.isEmpty ? "-" : cannot.joined(separator: ", "))
        list.add("launches", "\(node["active_launches"]?.display ?? "0") active")
        let asOf = context(node)
        if !asOf.isEmpty { list.add("as of", String(asOf.dropFirst(2).dropLast())) }
        return list.render()
    }

    /// A cordon answer: "arm-01 cordoned (draining)", "arm-01 uncordoned: schedulable".
    static func cordon(_ answer: JSONValue) -> String {
        let id = answer["node_id"]?.text ?? "-"
        if answer["cordoned"]?.boolean == true {
            return "\(id) cordoned" + (answer["draining"]?.boolean == true ? " and draining" : "")
                + ": no new placements" + (answer["cordoned_at"]?.text.map { " (since \($0))" } ?? "")
        }
        return "\(id) uncordoned: schedulable"
    }

    /// `GET /api/v1alpha1/nodes/:id`: lost or not, cordon, the drain's progress, orphans, usage.
    static func state(_ node: JSONValue) -> String {
        var list = KeyValueList()
        list.add("node", node["node_id"]?.text ?? "-")
        list.add("agent", node["lost"]?.boolean == true ? "LOST since \(node["lost_at"]?.text ?? "?")" : "reporting")
        list.add("scheduling", scheduling(node))
        if let usage = node["usage"] {
            list.add(
                "holds",
                "\(usage["active_launches"]?.display ?? "0") launches, \(usage["vcpus"]?.display ?? "0") vCPU, "
                    + "\(usage["memory_mib"]?.display ?? "0") MiB")
        }
        if let drain = node["drain"], drain != .null {
            func ids(_ key: String) -> String {
                let items = drain[key]?.items?.compactMap(\.text) ?? []
                return items.isEmpty ? "-" : items.joined(separator: ", ")
            }
            let status = drain["done"]?.boolean == true ? "done" : "in progress"
            list.add("drain", status + (drain["active"]?.boolean == false ? " (cancelled)" : ""))
            list.add("  remaining", ids("remaining"))
            list.add("  moving", ids("moving"))
            list.add("  moved", ids("moved"))
            list.add("  staying", ids("staying"))
            let blocked = drain["blocked"]?.items ?? []
            if !blocked.isEmpty {
                list.add(
                    "  blocked",
                    blocked.map {
                        "\($0["launch_id"]?.text ?? "?"): replacement \($0["replacement"]?.text ?? "?") "
                            + ($0["replacement_state"]?.text ?? "?")
                    }.joined(separator: ", "))
            }
        }
        list.add("orphans", orphanSummary(node["orphans"]))
        return list.render() + context(node)
    }

    /// An orphans answer: one line per orphan, and the sweeps.
    static func orphans(_ answer: JSONValue) -> String {
        "\(answer["node_id"]?.text ?? "-"): " + orphanSummary(answer["orphans"])
    }

    static func orphanSummary(_ orphans: JSONValue?) -> String {
        let list = orphans?["orphans"]?.items ?? []
        var text =
            list.isEmpty
            ? "none"
            : list.map { "\($0["launch_id"]?.text ?? "?") (pid \($0["pid"]?.display ?? "?"))" }.joined(separator: ", ")
        if let pending = orphans?["sweep_requested"], pending != .null {
            text += "; sweep \(pending["id"]?.display ?? "?") asked for"
        }
        if let last = orphans?["last_sweep"], last != .null {
            text += "; last sweep \(last["id"]?.display ?? "?") done"
        }
        return text
    }

    static func scheduling(_ node: JSONValue) -> String {
        if node["lost_at"]?.text != nil { return "LOST" }
        if node["draining"]?.boolean == true { return "draining" }
        if node["cordoned"]?.boolean == true { return "cordoned" }
        return "schedulable"
    }

    static func kvm(_ kvm: JSONValue?) -> String {
        switch (kvm?["present"]?.boolean, kvm?["usable"]?.boolean) {
        case (true, true): return "usable"
        case (true, _): return "present, unusable"
        case (false, _): return "absent"
        default: return "-"
        }
    }

    /// "30 of 30" free of allocatable.
    static func freeOf(_ resource: JSONValue?, unit: String) -> String {
        guard let free = resource?["free"]?.integer, let allocatable = resource?["allocatable"]?.integer else {
            return "-"
        }
        return "\(free) of \(allocatable)\(unit)"
    }

    /// "61440 MiB free: 61440 allocatable of 65536, 0 used".
    static func usage(_ resource: JSONValue?, unit: String) -> String {
        guard let resource else { return "-" }
        return "\(resource["free"]?.display ?? "-")\(unit) free: \(resource["allocatable"]?.display ?? "-") "
            + "allocatable of \(resource["total"]?.display ?? "-"), \(resource["used"]?.display ?? "-") used"
    }

    /// "2.1s" or "10m0s STALE"; long: "2.1s old (limit 1m0s)".
    static func telemetry(_ telemetry: JSONValue?, long: Bool) -> String {
        guard let age = telemetry?["age_ms"]?.integer else { return "-" }
        let stale = telemetry?["stale"]?.boolean == true
        guard long else { return Format.duration(milliseconds: age) + (stale ? " STALE" : "") }
        let limit = telemetry?["max_age_ms"]?.integer.map { " (limit \(Format.duration(milliseconds: $0)))" } ?? ""
        return "\(Format.duration(milliseconds: age)) old\(limit)" + (stale ? ": STALE, not placed on" : "")
    }

    /// `can_run_cloud_hypervisor` → `cloud-hypervisor`, `can_run_qemu_tcg` → `qemu-tcg`.
    static func capabilityName(_ key: String) -> String {
        String(key.hasPrefix("can_run_") ? key.dropFirst(8) : Substring(key)).replacingOccurrences(of: "_", with: "-")
    }
}
