import BerthControlPlane
import Foundation

/// What `berth agent prepare` prints: whether this host can run a LaunchSpec, every reason it
/// cannot, and what the backend would be started with. Nothing is launched.
public struct LaunchPreparationResult: Codable, Equatable, Sendable {
    /// `ready` or `not_ready`.
    public var status: String
    public var nodeID: String
    public var name: String
    public var backend: BackendKind
    public var accel: Acceleration
    public var reasons: [PreparationReason]
    /// The backend's invocation, when the agent can build it. Cloud Hypervisor and Firecracker
    /// get theirs (with the exact API calls) even on a host that cannot run them: a dry run.
    public var invocation: Invocation?

    /// How a `process` launch is started.
    public struct Invocation: Codable, Equatable, Sendable {
        /// The program exec'd (PATH already searched).
        public var program: String
        public var argv: [String]
        /// Under the root; `{launch_id}` is filled in when the launch runs.
        public var workingDirectory: String
        public var stdout: String
        public var stderr: String
        public var outputLimitBytes: Int64
        /// QEMU: the QMP socket (readiness and terminate) and the serial console's log (bounded
        /// by `output_limit_bytes`, like stdout).
        public var qmpSocket: String?
        public var serialLog: String?
        /// Cloud Hypervisor and Firecracker: the API socket and every call, in order.
        public var api: VMMAPIPlan?

        enum CodingKeys: String, CodingKey {
            case program, argv, stdout, stderr, api
            case qmpSocket = "qmp_socket"
            case serialLog = "serial_log"
            case workingDirectory = "working_directory"
            case outputLimitBytes = "output_limit_bytes"
        }
    }

    public var isReady: Bool { reasons.isEmpty }

    enum CodingKeys: String, CodingKey {
        case status, name, backend, accel, reasons, invocation
        case nodeID = "node_id"
    }
}

/// Checks a LaunchSpec against this host (its fingerprint and its root) the way a launch would,
/// without launching: the node and architecture, the backend binary and its version, KVM when
/// the spec runs with it, every boot artifact present and under the root, and for `process` the
/// program.
public struct LaunchPreparation: Sendable {
    public var fingerprint: HostFingerprint
    public var root: AgentRoot
    /// This host's node id, when known: a spec for another node is refused.
    public var nodeID: String?
    public var outputLimitBytes: Int64 = 1 << 20
    public var searchPath: [String] = BackendDiscovery.environmentPath
    /// The host TSC frequency a TCG guest's command line is given (see `QEMUCommandLine`).
    public var hostTSCkHz: Int? = QEMUCommandLine.hostTSCkHz()

    public init(fingerprint: HostFingerprint, root: AgentRoot, nodeID: String?) {
        self.fingerprint = fingerprint
        self.root = root
        self.nodeID = nodeID
    }

    public func prepare(_ spec: LaunchSpec) -> LaunchPreparationResult {
        var reasons: [PreparationReason] = []
        if let nodeID, spec.nodeID != nodeID {
            reasons.append(PreparationReason(.nodeMismatch, needed: spec.nodeID, available: nodeID))
        }
        if spec.arch != fingerprint.arch {
            reasons.append(
                PreparationReason(.archMismatch, needed: spec.arch.rawValue, available: fingerprint.arch.rawValue))
        }
        if spec.accel == .kvm || spec.backend.requiresKVM {
            if !fingerprint.kvm.present {
                reasons.append(
                    PreparationReason(
                        .kvmMissing, needed: "/dev/kvm", available: "absent", detail: fingerprint.kvmEvidence))
            } else if !fingerprint.kvm.usable {
                reasons.append(
                    PreparationReason(
                        .kvmUnusable, needed: "a guest that runs", available: "present, not usable",
                        detail: fingerprint.kvmEvidence))
            }
        }
        var invocation: LaunchPreparationResult.Invocation?
        switch spec.payload {
        case .command(let command):
            switch program(command.argv.first ?? "") {
            case .success(let path):
                let directory = root.path + "/launches/{launch_id}"
                invocation = .init(
                    program: path, argv: command.argv, workingDirectory: directory, stdout: directory + "/stdout",
                    stderr: directory + "/stderr", outputLimitBytes: outputLimitBytes)
            case .failure(let reason):
                reasons.append(reason)
            }
        case .image(let image):
            reasons += backendReasons(spec.backend)
            for (name, path) in [("kernel", image.kernel), ("initrd", image.initrd), ("disk", image.disk)] {
                guard let path else { continue }
                do {
                    let resolved = try root.resolve(path)
                    if !FileManager.default.fileExists(atPath: resolved) {
                        reasons.append(
                            PreparationReason(.artifactMissing, needed: "\(name) \(resolved)", available: "absent"))
                    }
                } catch {
                    reasons.append(
                        PreparationReason(
                            .pathOutsideRoot, needed: "\(name) under \(root.path)", available: path,
                            detail: error.description))
                }
            }
            if spec.backend == .qemu {
                if reasons.isEmpty {
                    invocation = qemuInvocation(spec, &reasons)
                }
            } else if !reasons.contains(where: { $0.code == .pathOutsideRoot }) {
                // The dry run: the API calls are printed whatever else the host lacks.
                invocation = vmmInvocation(spec, &reasons)
            }
        }
        return LaunchPreparationResult(
            status: reasons.isEmpty ? "ready" : "not_ready", nodeID: spec.nodeID, name: spec.name,
            backend: spec.backend, accel: spec.accel, reasons: reasons, invocation: invocation)
    }

    /// The QEMU command line, with `{launch_id}` for the launch's directory.
    private func qemuInvocation(_ spec: LaunchSpec, _ reasons: inout [PreparationReason])
        -> LaunchPreparationResult.Invocation?
    {
        let program =
            fingerprint.backends.first { $0.kind == .qemu && $0.isSupported }?.binary
            ?? QEMUCommandLine.findProgram(arch: spec.arch, searchPath: searchPath)
            ?? "qemu-system-\(spec.arch.rawValue)"
        do {
            let command = try QEMUCommandLine.build(
                spec: spec, root: root, launchDirectory: "launches/{launch_id}", program: program,
                hostTSCkHz: hostTSCkHz)
            let directory = root.path + "/launches/{launch_id}"
            return .init(
                program: program, argv: command.argv, workingDirectory: directory, stdout: command.serialLog,
                stderr: directory + "/stderr", outputLimitBytes: outputLimitBytes, qmpSocket: command.qmpSocket,
                serialLog: command.serialLog)
        } catch {
            reasons.append(
                PreparationReason(
                    error.code == .validationFailed ? .pathOutsideRoot : .backendNotImplemented,
                    needed: "a QEMU command line", available: "refused", detail: error.detail))
            return nil
        }
    }

    /// The Cloud Hypervisor or Firecracker process and API calls, with `{launch_id}` for the
    /// launch's directory.
    private func vmmInvocation(_ spec: LaunchSpec, _ reasons: inout [PreparationReason])
        -> LaunchPreparationResult.Invocation?
    {
        let name = VMMLaunchPlan.binaryName(spec.backend)
        let program =
            fingerprint.backends.first { $0.kind == spec.backend && $0.isSupported }?.binary
            ?? VMMLaunchPlan.findProgram(name, searchPath: searchPath) ?? name
        do {
            let plan = try VMMLaunchPlan.build(
                spec: spec, root: root, launchDirectory: "launches/{launch_id}", program: program)
            let directory = root.path + "/launches/{launch_id}"
            return .init(
                program: program, argv: plan.argv, workingDirectory: directory,
                stdout: directory + "/" + plan.stdoutName, stderr: directory + "/stderr",
                outputLimitBytes: outputLimitBytes, serialLog: plan.serialLog, api: plan.api)
        } catch {
            reasons.append(
                PreparationReason(
                    .backendRefused, needed: "a \(spec.backend.rawValue) launch plan", available: "refused",
                    detail: error.detail))
            return nil
        }
    }

    /// The backend's binary from the fingerprint, and whether its version is supported.
    private func backendReasons(_ kind: BackendKind) -> [PreparationReason] {
        let installed = fingerprint.backends.filter { $0.kind == kind }
        guard !installed.isEmpty else {
            return [PreparationReason(.backendMissing, needed: kind.rawValue, available: "not on PATH")]
        }
        guard installed.contains(where: \.isSupported) else {
            let minimum = BackendSupport.minimumVersion(of: kind).map { "\(kind.rawValue) >= \($0)" } ?? kind.rawValue
            return [
                PreparationReason(
                    .backendVersionUnsupported, needed: minimum,
                    available: installed.map { "\($0.binary) \($0.version)" }.joined(separator: ", "))
            ]
        }
        return []
    }

    /// The program as the process backend would resolve it (absolute, or searched on PATH).
    /// A relative path with a slash is resolved in the launch directory, which does not exist
    /// before the launch: it is only checked to stay under the root.
    private func program(_ name: String) -> Result<String, PreparationReason> {
        if name.hasPrefix("/") {
            return FileManager.default.isExecutableFile(atPath: name)
                ? .success(name) : .failure(PreparationReason(.programNotFound, needed: name, available: "absent"))
        }
        if name.contains("/") {
            do {
                return .success(try root.resolve("launches/{launch_id}/" + name))
            } catch {
                return .failure(
                    PreparationReason(
                        .pathOutsideRoot, needed: "under \(root.path)", available: name, detail: "\(error)"))
            }
        }
        for directory in searchPath where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return .success(candidate) }
        }
        return .failure(PreparationReason(.programNotFound, needed: name, available: "not on PATH"))
    }
}

extension PreparationReason: Error {}
