extension SchedulerEnvelope: ValidatedDocument {
    /// Reads an envelope, checking every limit in `ValidationLimits`. Unknown members are
    /// ignored, not refused: agents upgrade on their own schedule, and a newer agent's extra
    /// fingerprint field must not make its node vanish from the fleet.
    public static func read(_ value: JSONValue) throws(ValidationFailure) -> SchedulerEnvelope {
        let limits = ValidationLimits.self
        var reader = FieldReader()
        let root = reader.object(Field(value: value, path: ""))
        let nodeID = reader.string(reader.required(root, "node_id"), bytes: limits.nodeIDBytes, charset: .identifier)
        let sequence = reader.integer(reader.required(root, "sequence"), in: limits.sequence)
        let observedAt = reader.timestamp(reader.required(root, "observed_at"))
        let arch = reader.choice(reader.required(root, "arch"), as: Architecture.self)
        let cpus = reader.capacity(reader.required(root, "cpus"), total: limits.nodeCPUs)
        let memory = reader.capacity(reader.required(root, "memory_mib"), total: limits.nodeMemoryMiB)
        let kvm = reader.kvm(reader.required(root, "kvm"))
        let kernel = reader.string(reader.required(root, "kernel"), bytes: limits.kernelBytes)
        let backends = reader.backends(reader.required(root, "backends"))
        let labels = reader.labels(reader.required(root, "labels"))
        let health = reader.choice(reader.required(root, "health"), as: NodeHealth.self)
        guard reader.problems.isEmpty, let nodeID, let sequence, let observedAt, let arch, let cpus, let memory,
            let kvm, let kernel, let backends, let labels, let health
        else { throw reader.failure }
        return SchedulerEnvelope(
            nodeID: nodeID, sequence: UInt64(sequence), observedAtMs: observedAt, arch: arch, cpus: cpus,
            memoryMiB: memory, kvm: kvm, kernel: kernel, backends: backends, labels: labels, health: health)
    }
}

extension FieldReader {
    /// `{total, allocatable}` with total in `total` and allocatable in 0...total.
    fileprivate mutating func capacity(_ field: Field?, total range: ClosedRange<Int64>) -> ResourceCapacity? {
        let object = object(field)
        let total = integer(required(object, "total"), in: range)
        let allocatableField = required(object, "allocatable")
        guard let allocatable = integer(allocatableField, in: 0...range.upperBound) else { return nil }
        if let total, allocatable > total, let allocatableField {
            report(allocatableField.path, .inconsistent, "must not exceed total (\(total)), got \(allocatable)")
            return nil
        }
        guard let total else { return nil }
        return ResourceCapacity(total: Int(total), allocatable: Int(allocatable))
    }

    fileprivate mutating func kvm(_ field: Field?) -> KVMStatus? {
        let object = object(field)
        let present = bool(required(object, "present"))
        let usableField = required(object, "usable")
        guard let usable = bool(usableField), let present else { return nil }
        if usable && !present, let usableField {
            report(usableField.path, .inconsistent, "cannot be true while kvm.present is false")
            return nil
        }
        return KVMStatus(present: present, usable: usable)
    }

    fileprivate mutating func backends(_ field: Field?) -> [InstalledBackend]? {
        guard let elements = array(field, maxCount: ValidationLimits.backendsMax) else { return nil }
        var backends: [InstalledBackend] = []
        for element in elements {
            let object = object(element)
            let kind = choice(required(object, "kind"), as: BackendKind.self)
            let binary = string(required(object, "binary"), bytes: ValidationLimits.backendBinaryBytes)
            let version = string(required(object, "version"), bytes: ValidationLimits.backendVersionBytes)
            if let kind, let binary, let version {
                backends.append(InstalledBackend(kind: kind, binary: binary, version: version))
            }
        }
        return backends.count == elements.count ? backends : nil
    }
}
