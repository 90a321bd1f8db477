import BerthControlPlane

/// A `schedule/explain` answer as a table people read at a glance: one row per node, ranked
/// nodes first (the best is "selected"), then every rejected node with each of its reason codes
/// on a line of its own and the evidence as "needed X, has Y".
enum ExplanationTable {
    /// `explanation` is the answer's JSON (`ranked_nodes`, `rejected_nodes`, `state_index`,
    /// `evaluated_at`). With `singleNode` (`?node=ID`) a fitting node is "eligible": the answer
    /// does not say how it ranks among the others.
    static func render(_ explanation: JSONValue, intentName: String? = nil, singleNode: Bool = false) -> String {
        var table = TextTable("NODE", "VERDICT", "SCORE", "REASON", "EVIDENCE")
        let ranked = explanation["ranked_nodes"]?.items ?? []
        let rejected = explanation["rejected_nodes"]?.items ?? []
        for (index, node) in ranked.enumerated() {
            let verdict = singleNode ? "eligible" : index == 0 ? "selected" : "ranked #\(index + 1)"
            table.add(
                node["node_id"]?.text ?? "-", verdict, node["score"]?.number.map(Format.decimal) ?? "-", "fits",
                components(node["components"]))
        }
        for node in rejected {
            let reasons = node["reasons"]?.items ?? []
            for (index, reason) in reasons.enumerated() {
                let code = reason["code"]?.text ?? "-"
                let evidence = evidence(code: code, needed: reason["needed"], available: reason["available"])
                if index == 0 {
                    table.add(node["node_id"]?.text ?? "-", "rejected", "-", code, evidence)
                } else {
                    table.add("", "", "", code, evidence)
                }
            }
            if reasons.isEmpty { table.add(node["node_id"]?.text ?? "-", "rejected", "-", "-", "-") }
        }
        return table.render() + "\n" + summary(explanation, ranked: ranked, rejected: rejected, intentName: intentName)
    }

    /// "arm-01 selected for payments; 3 of 4 nodes rejected (state_index 12, evaluated at …)".
    static func summary(
        _ explanation: JSONValue, ranked: [JSONValue], rejected: [JSONValue], intentName: String?
    ) -> String {
        let total = ranked.count + rejected.count
        let what = intentName.map { " for \($0)" } ?? ""
        var line: String
        if let best = ranked.first?["node_id"]?.text {
            line = "\(best) selected\(what); \(rejected.count) of \(total) nodes rejected"
        } else if total == 0 {
            line = "no node is known\(what)"
        } else {
            line = "no node fits\(what): \(rejected.count) of \(total) rejected"
        }
        var context: [String] = []
        if let index = explanation["state_index"]?.integer { context.append("state_index \(index)") }
        if let at = explanation["evaluated_at"]?.text { context.append("evaluated at \(at)") }
        if !context.isEmpty { line += " (\(context.joined(separator: ", ")))" }
        return line
    }

    /// The score's components in the documented order (then any others by name):
    /// "resource_fit 0.6, spread 0.2, …".
    static func components(_ value: JSONValue?) -> String {
        guard let fields = value?.fields, !fields.isEmpty else { return "-" }
        let known = ["resource_fit", "spread", "backend_preference", "health"]
        let names = known.filter { fields[$0] != nil } + fields.keys.filter { !known.contains($0) }.sorted()
        return names.map { "\($0) \(fields[$0]!.number.map(Format.decimal) ?? fields[$0]!.display)" }
            .joined(separator: ", ")
    }

    /// "needed X, has Y", in the units of the code (docs/reason-codes.md).
    static func evidence(code: String, needed: JSONValue?, available: JSONValue?) -> String {
        let need = needed ?? .null
        let have = available ?? .null
        switch RejectionCode(rawValue: code) {
        case .insufficientCPU:
            return "needed \(need.display) vCPU, has \(have.display) free"
        case .insufficientMemory:
            return "needed \(need.display) MiB, has \(have.display) MiB free"
        case .kvmMissing where need.boolean != nil && have.boolean != nil:
            return "needed KVM, has no /dev/kvm"
        case .kvmUnusable where need.boolean != nil && have.boolean != nil:
            return "needed usable KVM, has /dev/kvm that cannot run guests"
        case .telemetryStale:
            let limit = need.integer.map { Format.duration(milliseconds: $0) } ?? need.display
            let age = have.integer.map { Format.duration(milliseconds: $0) } ?? have.display
            return "needed age ≤ \(limit), has age \(age)"
        case .labelMismatch where have == .null:
            return "needed \(need.display), has no such label"
        default:
            return "needed \(need.display), has \(have.display)"
        }
    }
}
