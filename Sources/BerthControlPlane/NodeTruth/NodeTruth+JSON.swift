import Foundation

extension SchedulerEnvelope {
    /// The envelope as compact JSON with its keys in byte order, the document `Encodable`
    /// describes, written directly. Every member stores each envelope it applies, and with
    /// `JSONEncoder` that encoding was a sixth of a leader's time during intake.
    public func jsonBytes() -> [UInt8] {
        let writer = JSONByteWriter(capacity: 384 + backends.count * 96 + labels.count * 48)
        write(into: writer)
        return writer.bytes
    }

    func write(into writer: JSONByteWriter) {
        writer.raw(#"{"arch":"#)
        writer.string(arch.rawValue)
        writer.raw(#","backends":["#)
        for (index, backend) in backends.enumerated() {
            writer.raw(index == 0 ? #"{"binary":"# : #",{"binary":"#)
            writer.string(backend.binary)
            writer.raw(#","kind":"#)
            writer.string(backend.kind.rawValue)
            writer.raw(#","version":"#)
            writer.string(backend.version)
            writer.raw("}")
        }
        writer.raw(#"],"cpus":"#)
        writer.capacity(cpus)
        writer.raw(#","health":"#)
        writer.string(health.rawValue)
        writer.raw(#","kernel":"#)
        writer.string(kernel)
        writer.raw(#","kvm":{"present":"#)
        writer.bool(kvm.present)
        writer.raw(#","usable":"#)
        writer.bool(kvm.usable)
        writer.raw(#"},"labels":{"#)
        let sorted = labels.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        for (index, label) in sorted.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.string(label.key)
            writer.raw(":")
            writer.string(label.value)
        }
        writer.raw(#"},"memory_mib":"#)
        writer.capacity(memoryMiB)
        writer.raw(#","node_id":"#)
        writer.string(nodeID)
        writer.raw(#","observed_at":"#)
        writer.string(RFC3339.string(fromMilliseconds: observedAtMs))
        writer.raw(#","sequence":"#)
        writer.digits(sequence)
        writer.raw("}")
    }
}

extension NodeTruth {
    /// The node's truth as compact JSON with keys in byte order, written directly (see
    /// `SchedulerEnvelope.jsonBytes`).
    public func jsonBytes() -> [UInt8] {
        let writer = JSONByteWriter(capacity: 512 + envelope.backends.count * 96 + envelope.labels.count * 48)
        writer.raw(#"{"cordoned":"#)
        writer.bool(cordoned)
        if let cordonedAtMs {
            writer.raw(#","cordoned_at":"#)
            writer.string(RFC3339.string(fromMilliseconds: cordonedAtMs))
        }
        writer.raw(#","draining":"#)
        writer.bool(draining)
        writer.raw(#","envelope":"#)
        envelope.write(into: writer)
        if let lostAtMs {
            writer.raw(#","lost_at":"#)
            writer.string(RFC3339.string(fromMilliseconds: lostAtMs))
        }
        if !orphans.isEmpty, let encoded = try? JSONEncoder.sortedKeys.encode(orphans) {
            // Rare and small: the generic encoder is fine here.
            writer.raw(#","orphans":"#)
            writer.rawJSON(Array(encoded))
        }
        writer.raw(#","received_at":"#)
        writer.string(RFC3339.string(fromMilliseconds: receivedAtMs))
        writer.raw("}")
        return writer.bytes
    }
}

extension JSONEncoder {
    fileprivate static var sortedKeys: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

extension JSONByteWriter {
    fileprivate func capacity(_ value: ResourceCapacity) {
        raw(#"{"allocatable":"#)
        integer(Int64(value.allocatable))
        raw(#","total":"#)
        integer(Int64(value.total))
        raw("}")
    }
}
