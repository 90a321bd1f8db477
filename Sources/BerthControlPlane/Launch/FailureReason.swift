/// Why a launch is `failed`: a code, its evidence (exit status, signal) and the agent's detail.
/// The message is derived from them, never stored.
public struct FailureReason: Codable, Equatable, Hashable, Sendable {
    public var code: FailureCode
    /// The exit status, for EXITED (`exit_code`).
    public var exitCode: Int32?
    /// The signal number, for KILLED when known (`signal`).
    public var signal: Int32?
    /// What the agent or runtime said, verbatim (`detail`).
    public var detail: String?

    public init(code: FailureCode, exitCode: Int32? = nil, signal: Int32? = nil, detail: String? = nil) {
        self.code = code
        self.exitCode = exitCode
        self.signal = signal
        self.detail = detail
    }

    /// It exited on its own with `status` (not 0: a clean exit is `terminated`).
    public static func exited(_ status: Int32, detail: String? = nil) -> FailureReason {
        FailureReason(code: .exited, exitCode: status, detail: detail)
    }

    /// The reason in words, e.g. "exited with status 3: disk full".
    public var message: String {
        let summary: String
        switch code {
        case .validationFailed: summary = "the node refused the launch in validation"
        case .prepareFailed: summary = "preparing the runtime failed"
        case .startFailed: summary = "the workload could not be started"
        case .readinessTimeout: summary = "the workload did not become ready in time"
        case .exited: summary = exitCode.map { "exited with status \($0)" } ?? "exited"
        case .killed: summary = signal.map { "killed by signal \($0)" } ?? "killed"
        case .nodeLost: summary = "the node stopped reporting"
        case .terminateTimeout: summary = "the workload did not stop in time"
        case .agentError: summary = "the agent failed"
        }
        guard let detail, !detail.isEmpty else { return summary }
        return summary + ": " + detail
    }

    enum CodingKeys: String, CodingKey {
        case code
        case exitCode = "exit_code"
        case signal
        case detail
        case message
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            code: try container.decode(FailureCode.self, forKey: .code),
            exitCode: try container.decodeIfPresent(Int32.self, forKey: .exitCode),
            signal: try container.decodeIfPresent(Int32.self, forKey: .signal),
            detail: try container.decodeIfPresent(String.self, forKey: .detail))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(code, forKey: .code)
        try container.encodeIfPresent(exitCode, forKey: .exitCode)
        try container.encodeIfPresent(signal, forKey: .signal)
        try container.encodeIfPresent(detail, forKey: .detail)
        try container.encode(message, forKey: .message)
    }
}
