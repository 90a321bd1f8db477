extension LaunchRecord {
    /// The JSON `Encodable` writes for a launch that is still `pending` with a command payload
    /// (a job's new run), written directly; nil for any other record, which goes through
    /// `JSONEncoder`. Every job submission stores its first run on every member, and the write
    /// path must not pay `JSONEncoder` for it.
    public func pendingCommandJSONBytes() -> [UInt8]? {
        guard state == .pending, spec == nil, placement == nil, failure == nil, replaces == nil, replacedBy == nil,
            intent.onNodeLost == .fail,
            case .command(let command) = intent.payload,
            trace.allSatisfy({ $0.reason == nil })
        else { return nil }
        let writer = JSONByteWriter(capacity: 384 + command.argv.reduce(0) { $0 + $1.utf8.count })
        writer.raw(#"{"created_at_ms":"#)
        writer.integer(createdAtMs)
        writer.raw(#","id":"#)
        writer.string(id)
        writer.raw(#","intent":{"arch":"#)
        writer.string(intent.arch.rawValue)
        writer.raw(#","backend":"#)
        writer.string(intent.backend.rawValue)
        writer.raw(#","command":"#)
        if let script = command.script {
            writer.string(script)
        } else {
            writer.raw("[")
            for (index, argument) in command.argv.enumerated() {
                if index > 0 { writer.raw(",") }
                writer.string(argument)
            }
            writer.raw("]")
        }
        writer.raw(#","labels":{"#)
        let labels = intent.labels.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        for (index, label) in labels.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.string(label.key)
            writer.raw(":")
            writer.string(label.value)
        }
        writer.raw(#"},"memory_mib":"#)
        writer.integer(Int64(intent.memoryMiB))
        writer.raw(#","name":"#)
        writer.string(intent.name)
        writer.raw(#","requires_kvm":"#)
        writer.bool(intent.requiresKVM)
        if command.script != nil { writer.raw(#","shell":true"#) }
        writer.raw(#","vcpus":"#)
        writer.integer(Int64(intent.vcpus))
        writer.raw(#"},"state":"#)
        writer.string(state.rawValue)
        writer.raw(#","trace":["#)
        for (index, entry) in trace.enumerated() {
            writer.raw(index == 0 ? #"{"at_ms":"# : #",{"at_ms":"#)
            writer.integer(entry.atMs)
            if let note = entry.note {
                writer.raw(#","note":"#)
                writer.string(note)
            }
            writer.raw(#","state":"#)
            writer.string(entry.state.rawValue)
            writer.raw("}")
        }
        writer.raw(#"],"updated_at_ms":"#)
        writer.integer(updatedAtMs)
        writer.raw("}")
        return writer.bytes
    }
}
