import BerthControlPlane
import Foundation

/// Why a Cloud Hypervisor or Firecracker VM did not come up, or an API call failed.
public enum VMMAPIError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The API socket did not accept connections in time.
    case socketTimeout(path: String, after: Duration)
    /// The VMM process ended while it was being brought up.
    case exited(String)
    /// The request could not be sent or its answer read.
    case transport(request: String, UnixHTTPError)
    /// The VMM answered a non-2xx status; `message` is its fault message.
    case fault(request: String, status: Int, message: String)
    /// An answer Berth cannot read (a readiness answer without `state`).
    case unexpected(request: String, detail: String)
    /// The readiness call never said the ready state; `last` is what it said last.
    case notReady(after: Duration, last: String)

    public var description: String {
        switch self {
        case .socketTimeout(let path, let after): return "the API socket \(path) did not appear within \(after)"
        case .exited(let detail): return detail
        case .transport(let request, let error): return "\(request): \(error)"
        case .fault(let request, let status, let message): return "\(request) answered \(status): \(message)"
        case .unexpected(let request, let detail): return "\(request): \(detail)"
        case .notReady(let after, let last): return "not running after \(after): \(last)"
        }
    }

    /// The launch's failure code: a VM whose API never came up or never said running timed
    /// out; one that refused its configuration, or ended, failed to start.
    public var failureCode: FailureCode {
        switch self {
        case .socketTimeout, .notReady: return .readinessTimeout
        case .exited, .transport, .fault, .unexpected: return .startFailed
        }
    }

    public var failure: ProcessStartFailure { ProcessStartFailure(code: failureCode, detail: description) }
}

/// The Cloud Hypervisor and Firecracker backends (spec §6): the VMM is started through the same
/// keeper as a `process` or QEMU launch (own session, Berth's marker, found again after an agent
/// restart), with its REST API on `launches/<id>/api.sock`; the VM is configured and booted
/// through that API (`CloudHypervisorAPI`, `FirecrackerAPI`), is ready when the API's `state`
/// says `Running`, and is stopped through the API, then SIGKILL.
public struct VMMBackend: Sendable {
    public let processes: ProcessBackend
    /// Where `cloud-hypervisor` and `firecracker` are searched.
    public var searchPath: [String] = BackendDiscovery.environmentPath
    /// How long the VMM may take to listen on its API socket.
    public var socketTimeout: Duration = .seconds(5)
    /// How long one API call may take (`vm.boot` loads the kernel: not instant).
    public var requestTimeout: Duration = .seconds(10)
    /// How long a booted VM may take to say `Running`.
    public var readinessTimeout: Duration = .seconds(30)
    /// How long the VMM gets to exit after the terminate calls (or SIGTERM) before SIGKILL.
    public var shutdownGrace: Duration = .seconds(3)

    public init(processes: ProcessBackend) {
        self.processes = processes
    }

    /// The plan `spec` would run with for `launchID`: the binary must be on `searchPath`, the
    /// boot artifacts present and under the root.
    public func plan(launchID: String, spec: LaunchSpec) throws(VMMPlanError) -> VMMLaunchPlan {
        let name = VMMLaunchPlan.binaryName(spec.backend)
        guard let program = VMMLaunchPlan.findProgram(name, searchPath: searchPath) else {
            throw VMMPlanError(code: .startFailed, detail: "\(name) not found on PATH")
        }
        guard LaunchDirectory.isSafeName(launchID) else {
            throw VMMPlanError(code: .validationFailed, detail: "launch id unusable as a directory name")
        }
        let plan = try VMMLaunchPlan.build(
            spec: spec, root: processes.root, launchDirectory: "launches/\(launchID)", program: program)
        if case .image(let image) = spec.payload {
            for (name, path) in [("kernel", image.kernel), ("initrd", image.initrd), ("disk", image.disk)] {
                guard let path, let resolved = try? processes.root.resolve(path) else { continue }
                if !FileManager.default.fileExists(atPath: resolved) {
                    throw VMMPlanError(code: .prepareFailed, detail: "\(name) \(resolved) is missing")
                }
            }
        }
        return plan
    }

    /// Starts the VMM process of `plan`; returns once it has been exec'd. The VM is not
    /// created yet: see `bringUp`.
    public func start(launchID: String, plan: VMMLaunchPlan) throws(ProcessStartFailure) -> ProcessHandle {
        do { _ = try processes.launchDirectory(launchID) } catch {
            throw ProcessStartFailure(code: .prepareFailed, detail: "\(error)")
        }
        for path in plan.precreated {
            let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o640)
            guard descriptor >= 0 else {
                throw ProcessStartFailure(
                    code: .prepareFailed, detail: "cannot create \(path): \(String(cString: strerror(errno)))")
            }
            close(descriptor)
        }
        // A socket left by an earlier run would be taken for the new VMM's.
        unlink(plan.api.socket)
        var handle = try processes.spawn(
            launchID: launchID, executable: plan.program, argv: plan.argv, stdoutName: plan.stdoutName)
        handle.apiSocketPath = plan.api.socket
        return handle
    }

    /// Waits for the API socket, sends the boot calls in order (when `configure`; not again
    /// for a VM re-attached after an agent restart), then polls readiness until `Running`.
    public func bringUp(_ handle: ProcessHandle, api: VMMAPIPlan, configure: Bool = true) async throws(VMMAPIError) {
        try await waitForSocket(handle, api.socket)
        if configure {
            for request in api.boot { _ = try call(request, socket: api.socket) }
        }
        try await waitUntilReady(handle, api: api)
    }

    /// Until the socket accepts connections; the process ending first, or the timeout, throws.
    public func waitForSocket(_ handle: ProcessHandle, _ socket: String) async throws(VMMAPIError) {
        let deadline = ContinuousClock.now + socketTimeout
        while true {
            if UnixHTTPClient.isListening(socket) { return }
            if processes.outcome(of: handle) != .running {
                throw .exited("the VMM ended before its API socket appeared; see \(handle.stderrPath)")
            }
            guard ContinuousClock.now < deadline else { throw .socketTimeout(path: socket, after: socketTimeout) }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Polls the readiness call every 10 ms until its `state` is the ready one.
    public func waitUntilReady(_ handle: ProcessHandle, api: VMMAPIPlan) async throws(VMMAPIError) {
        let deadline = ContinuousClock.now + readinessTimeout
        var last = "no answer yet"
        while ContinuousClock.now < deadline {
            if processes.outcome(of: handle) != .running {
                throw .exited("the VMM ended before the VM was running (\(last)); see \(handle.stderrPath)")
            }
            do {
                let state = try self.state(api)
                if state == api.readyState { return }
                last = "state \(state)"
            } catch {
                last = error.description
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        throw .notReady(after: readinessTimeout, last: last)
    }

    /// The readiness call's `state`.
    public func state(_ api: VMMAPIPlan) throws(VMMAPIError) -> String {
        let answer = try call(api.readiness, socket: api.socket)
        guard let state = VMMJSON.parse(answer.body)?["state"]?.stringValue else {
            throw .unexpected(request: api.readiness.description, detail: "no state in the answer")
        }
        return state
    }

    /// Sends one request; a non-2xx answer throws its fault message.
    @discardableResult
    public func call(_ request: VMMAPIRequest, socket: String) throws(VMMAPIError) -> UnixHTTPResponse {
        let client = UnixHTTPClient(path: socket, timeout: requestTimeout)
        let answer: UnixHTTPResponse
        do { answer = try client.send(request.method, request.path, body: request.body?.encoded()) } catch {
            throw .transport(request: request.description, error)
        }
        guard answer.isSuccess else {
            throw .fault(request: request.description, status: answer.status, message: Self.faultMessage(answer))
        }
        return answer
    }

    /// What a failed answer says: Firecracker's `fault_message`, Cloud Hypervisor's array of
    /// messages (outermost first), or the text itself.
    public static func faultMessage(_ answer: UnixHTTPResponse) -> String {
        switch VMMJSON.parse(answer.body) {
        case .object(let members)?:
            if let message = members["fault_message"]?.stringValue { return message }
        case .array(let elements)?:
            let messages = elements.compactMap(\.stringValue)
            if !messages.isEmpty { return messages.joined(separator: ": ") }
        case .string(let text)?:
            return text
        default:
            break
        }
        let text = String(decoding: answer.body.prefix(2000), as: UTF8.self).trimmingCharacters(
            in: .whitespacesAndNewlines)
        return text.isEmpty ? "HTTP \(answer.status) \(answer.reason)" : text
    }

    /// The terminate calls (or SIGTERM when there are none, or the API does not answer), then
    /// SIGKILL to the process group after `shutdownGrace`; signals only the process that was
    /// started (same start time). Returns how it ended, and the steps taken.
    public func terminate(_ handle: ProcessHandle, api: VMMAPIPlan?) async -> (outcome: ProcessOutcome, steps: [String])
    {
        var steps: [String] = []
        guard handle.workload.isAlive() else { return (await processes.settled(handle), steps) }
        var asked = false
        if let api, !api.terminate.isEmpty, UnixHTTPClient.isListening(api.socket) {
            for request in api.terminate {
                do {
                    try call(request, socket: api.socket)
                    steps.append(request.description)
                    asked = true
                } catch {
                    steps.append("\(request.description) failed: \(error)")
                }
            }
            // `vmm.shutdown` may end the process before its answer is written.
            asked = asked || !handle.workload.isAlive()
        }
        if !asked {
            Glibc.kill(-handle.workload.pid, SIGTERM)
            steps.append("SIGTERM")
        }
        let deadline = ContinuousClock.now + shutdownGrace
        while ContinuousClock.now < deadline, handle.workload.isAlive() {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if handle.workload.isAlive() {
            Glibc.kill(-handle.workload.pid, SIGKILL)
            steps.append("SIGKILL")
        }
        return (await processes.settled(handle), steps)
    }

    /// Kills a VMM that failed to come up (SIGKILL to its group, if still the one started).
    public func killNow(_ handle: ProcessHandle) async -> ProcessOutcome {
        if handle.workload.isAlive() { Glibc.kill(-handle.workload.pid, SIGKILL) }
        return await processes.settled(handle)
    }
}
