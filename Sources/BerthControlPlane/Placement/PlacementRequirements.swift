/// An intent's requirements, worked out once per evaluation so the per-node loop only compares
/// integers and bit masks. Also answers, for one node, which backend and acceleration the
/// workload would get there (hydration and scoring use the same answer).
struct PlacementRequirements: Sendable {
    let workloadName: String
    let arch: Architecture?
    let vcpus: Int
    let memoryMiB: Int
    /// The node must have usable KVM (`WorkloadIntent.needsKVM`).
    let needsKVM: Bool
    /// The backend asked for by name, or nil for `any`.
    let namedBackend: BackendKind?
    /// The workload runs an image (a VM) rather than a command.
    let runsImage: Bool
    /// Required labels as `(key, "key=value")`, by key ascending, so LABEL_MISMATCH reasons come
    /// out in a fixed order and the pair string is built once per evaluation, not per node.
    let labels: [(key: String, pair: String)]
    /// `hashValue` of each key of `labels` (see `NodeEvidence.labelPair`).
    let labelKeyHashes: [Int]
    /// BACKEND_MISSING's `needed` evidence on a node with (index 1) and without (index 0) usable KVM.
    private let missingBackendEvidence: [Evidence]

    init(_ intent: WorkloadIntent) {
        workloadName = intent.name
        arch = intent.arch.architecture
        vcpus = intent.vcpus
        memoryMiB = intent.memoryMiB
        needsKVM = intent.needsKVM
        namedBackend = intent.backend.kind
        if case .image = intent.payload { runsImage = true } else { runsImage = false }
        labels = intent.labels.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            .map { (key: $0.key, pair: $0.key + "=" + $0.value) }
        labelKeyHashes = labels.map(\.key.hashValue)
        missingBackendEvidence = [false, true].map { [namedBackend, runsImage, needsKVM] kvmUsable in
            let candidates = Self.candidates(
                named: namedBackend, runsImage: runsImage, needsKVM: needsKVM, kvmUsable: kvmUsable)
            let names = candidates.kinds.map(\.rawValue)
            return names.count == 1 ? .string(names[0]) : .list(names)
        }
    }

    /// The backend kinds that could run the workload on a node whose KVM is (or is not) usable.
    /// A named backend is the only candidate. For `any`, an image can run on any VM backend —
    /// except that without usable KVM, a workload that does not insist on KVM can still run
    /// under QEMU's TCG, and nothing else. A workload that does need KVM keeps every VM
    /// backend as a candidate: its missing KVM is reported once, as a KVM reason, not again as
    /// a backend reason.
    func candidates(kvmUsable: Bool) -> BackendSet {
        Self.candidates(named: namedBackend, runsImage: runsImage, needsKVM: needsKVM, kvmUsable: kvmUsable)
    }

    private static func candidates(named: BackendKind?, runsImage: Bool, needsKVM: Bool, kvmUsable: Bool) -> BackendSet
    {
        if let named { return BackendSet(named) }
        guard runsImage else { return BackendSet(.process) }
        if !kvmUsable && !needsKVM { return BackendSet(.qemu) }
        return .virtualMachines
    }

    /// The backend and acceleration the workload would run with on a node with `capabilities`,
    /// or nil when no candidate backend is installed and supported there. Among several, `any`
    /// takes the first in `BackendKind.virtualMachinePreference`.
    func resolve(on capabilities: NodeCapabilities) -> (backend: BackendKind, acceleration: Acceleration)? {
        let runnable = candidates(kvmUsable: capabilities.kvmUsable).intersection(capabilities.supported)
        let order: [BackendKind] = runsImage ? BackendKind.virtualMachinePreference : [.process]
        guard let backend = order.first(where: runnable.contains) else { return nil }
        return (backend, acceleration(kvmUsable: capabilities.kvmUsable))
    }

    /// How the workload's guest would execute on a node: a command runs natively; an image runs
    /// under KVM where it is usable and under TCG (QEMU being then the only candidate) elsewhere.
    func acceleration(kvmUsable: Bool) -> Acceleration {
        guard runsImage else { return .none }
        return kvmUsable ? .kvm : .tcg
    }

    // MARK: Deciding, without allocating

    /// The checks other than labels that `node` fails. With `labelsMatch`, this is where a
    /// verdict is decided; evidence is built afterwards, and only for a rejected node.
    func failedChecks(_ node: FleetNode, atMs: Int64, policy: PlacementPolicy) -> FailedChecks {
        var failed = failedHardwareChecks(node)
        if vcpus > node.freeCPUs { failed.insert(.cpu) }
        if memoryMiB > node.freeMemoryMiB { failed.insert(.memory) }
        if atMs &- node.telemetryTakenAtMs > policy.telemetryMaxAgeMs { failed.insert(.telemetry) }
        if node.health == .unhealthy || node.lost { failed.insert(.health) }
        if node.cordon != .schedulable { failed.insert(.cordon) }
        return failed
    }

    /// The checks that depend only on the node's hardware and runtimes (what hydration needs).
    func failedHardwareChecks(_ node: FleetNode) -> FailedChecks {
        var failed: FailedChecks = []
        if let arch, arch != node.arch { failed.insert(.arch) }
        if needsKVM && !node.capabilities.kvmUsable { failed.insert(.kvm) }
        if candidates(kvmUsable: node.capabilities.kvmUsable).isDisjoint(with: node.capabilities.supported) {
            failed.insert(.backend)
        }
        return failed
    }

    // MARK: Explaining what was decided

    /// The rejections for the checks in `failed`, plus one LABEL_MISMATCH per label `labels`
    /// says the node lacks, each with its evidence, in `RejectionCode` order.
    func rejections(
        _ failed: FailedChecks, node: FleetNode, slot: Int, labels matches: LabelMatches?, evidence: NodeEvidence,
        atMs: Int64, policy: PlacementPolicy
    ) -> [Rejection] {
        var reasons: [Rejection] = []
        reasons.reserveCapacity(failed.count + labels.count)
        if failed.contains(.arch), let arch {
            reasons.append(
                Rejection(code: .archMismatch, needed: .string(arch.rawValue), available: .string(node.arch.rawValue)))
        }
        if failed.contains(.cpu) {
            reasons.append(
                Rejection(code: .insufficientCPU, needed: .int(Int64(vcpus)), available: .int(Int64(node.freeCPUs))))
        }
        if failed.contains(.memory) {
            reasons.append(
                Rejection(
                    code: .insufficientMemory, needed: .int(Int64(memoryMiB)),
                    available: .int(Int64(node.freeMemoryMiB))))
        }
        if failed.contains(.kvm) {
            let code: RejectionCode = node.capabilities.kvmPresent ? .kvmUnusable : .kvmMissing
            reasons.append(Rejection(code: code, needed: .bool(true), available: .bool(false)))
        }
        if failed.contains(.backend) {
            reasons.append(backendRejection(node.capabilities, evidence: evidence))
        }
        if failed.contains(.telemetry) {
            reasons.append(
                Rejection(
                    code: .telemetryStale, needed: .int(policy.telemetryMaxAgeMs),
                    available: .int(atMs &- node.telemetryTakenAtMs)))
        }
        if failed.contains(.health) {
            // A lost node is not fit for work either: same code, the evidence says why.
            reasons.append(
                Rejection(
                    code: .nodeUnhealthy, needed: .string("healthy"),
                    available: .string(node.lost ? "lost" : "unhealthy")))
        }
        if failed.contains(.cordon) {
            let state = node.cordon == .draining ? "draining" : "cordoned"
            reasons.append(Rejection(code: .nodeCordoned, needed: .string("schedulable"), available: .string(state)))
        }
        for (index, (key, pair)) in labels.enumerated() where matches?.matches(label: index, slot: slot) == false {
            let actual = evidence.labelPair(key, keyHash: labelKeyHashes[index])
            reasons.append(
                Rejection(code: .labelMismatch, needed: .string(pair), available: actual.map { .string($0) } ?? .none))
        }
        return reasons
    }

    /// The codes `rejections` would give, one bit per `RejectionCode.allCases` position, without
    /// building any evidence (for summaries). A test holds the two to the same answer.
    func rejectionCodeBits(_ failed: FailedChecks, node: FleetNode, slot: Int, labels matches: LabelMatches) -> UInt16 {
        var bits: UInt16 = 0
        func set(_ code: RejectionCode) { bits |= 1 << UInt16(Self.codePositions[code]!) }
        if failed.contains(.arch), arch != nil { set(.archMismatch) }
        if failed.contains(.cpu) { set(.insufficientCPU) }
        if failed.contains(.memory) { set(.insufficientMemory) }
        if failed.contains(.kvm) { set(node.capabilities.kvmPresent ? .kvmUnusable : .kvmMissing) }
        if failed.contains(.backend) {
            let present = candidates(kvmUsable: node.capabilities.kvmUsable).intersection(node.capabilities.installed)
            set(present.isEmpty ? .backendMissing : .backendVersionUnsupported)
        }
        if failed.contains(.telemetry) { set(.telemetryStale) }
        if failed.contains(.health) { set(.nodeUnhealthy) }
        if failed.contains(.cordon) { set(.nodeCordoned) }
        if !matches.matchesAll(slot: slot) { set(.labelMismatch) }
        return bits
    }

    static let codePositions: [RejectionCode: Int] = Dictionary(
        uniqueKeysWithValues: RejectionCode.allCases.enumerated().map { ($1, $0) })

    /// BACKEND_MISSING when no candidate is installed, BACKEND_VERSION_UNSUPPORTED when some are
    /// but none is new enough; the evidence lists what the node has.
    private func backendRejection(_ capabilities: NodeCapabilities, evidence: NodeEvidence) -> Rejection {
        let candidates = candidates(kvmUsable: capabilities.kvmUsable)
        let present = candidates.intersection(capabilities.installed)
        if present.isEmpty {
            return Rejection(
                code: .backendMissing, needed: missingBackendEvidence[capabilities.kvmUsable ? 1 : 0],
                available: .list(evidence.backendSummaries))
        }
        let needed = present.kinds.map(BackendSupport.requirement)
        let available = zip(evidence.backendKinds, evidence.backendSummaries).filter { present.contains($0.0) }.map(\.1)
        return Rejection(
            code: .backendVersionUnsupported, needed: needed.count == 1 ? .string(needed[0]) : .list(needed),
            available: available.count == 1 ? .string(available[0]) : .list(available))
    }

    /// Why `truth`'s node cannot run the workload at all (arch, KVM, backend), whatever its
    /// capacity, age, cordon or labels; empty when it can. Hydration uses this.
    func hardwareRejections(_ truth: NodeTruth) -> [Rejection] {
        let node = FleetNode(truth, labelGroup: 0)
        let failed = failedHardwareChecks(node)
        guard !failed.isEmpty else { return [] }
        // No label matches given: labels are not checked.
        return rejections(
            failed, node: node, slot: 0, labels: nil, evidence: NodeEvidence(truth.envelope), atMs: 0,
            policy: .standard)
    }
}
