/// The message-type byte at header offset 5. Values are stable: a value, once assigned, is never
/// reused for another meaning. A receiver refuses any other value with `WireError.unknownFrameType`.
public enum FrameType: UInt8, CaseIterable, Equatable, Hashable, Sendable {
    /// Handshake: who the sender is (`Hello`).
    case hello = 0x01
    /// Handshake refused, and why (`HelloRejected`); the sender closes right after it.
    case helloRejected = 0x02
    /// Raft `WireMessageBody.appendEntries`.
    case appendEntries = 0x10
    /// Raft `WireMessageBody.appendEntriesResponse`.
    case appendEntriesResponse = 0x11
    /// Raft `WireMessageBody.heartbeat`.
    case heartbeat = 0x12
    /// Raft `WireMessageBody.heartbeatResponse`.
    case heartbeatResponse = 0x13
    /// Raft `WireMessageBody.requestVote`, including pre-votes.
    case requestVote = 0x14
    /// Raft `WireMessageBody.requestVoteResponse`.
    case requestVoteResponse = 0x15
    /// Raft `WireMessageBody.timeoutNow`.
    case timeoutNow = 0x16
    /// One piece of a Raft InstallSnapshot (`SnapshotChunk`).
    case snapshotChunk = 0x20
    /// The receiver's progress through a snapshot stream (`SnapshotChunkAck`).
    case snapshotChunkAck = 0x21
    /// A client write a follower forwards to the leader (`ForwardRequest`).
    case forward = 0x30
    /// The leader's answer to a forwarded write (`ForwardResponse`).
    case forwardResponse = 0x31

    /// The name used in logs and documentation.
    public var name: String {
        switch self {
        case .hello: return "hello"
        case .helloRejected: return "helloRejected"
        case .appendEntries: return "appendEntries"
        case .appendEntriesResponse: return "appendEntriesResponse"
        case .heartbeat: return "heartbeat"
        case .heartbeatResponse: return "heartbeatResponse"
        case .requestVote: return "requestVote"
        case .requestVoteResponse: return "requestVoteResponse"
        case .timeoutNow: return "timeoutNow"
        case .snapshotChunk: return "snapshotChunk"
        case .snapshotChunkAck: return "snapshotChunkAck"
        case .forward: return "forward"
        case .forwardResponse: return "forwardResponse"
        }
    }
}
