/// Everything that travels on a peer connection, one value per frame.
public enum PeerFrame: Equatable, Hashable, Sendable {
    /// The handshake: who the sender is.
    case hello(Hello)
    /// The handshake was refused; the connection closes after this frame.
    case helloRejected(HelloRejected)
    /// A Raft message. Every `WireMessageBody` has its own frame type except `.installSnapshot`,
    /// which travels as `snapshotChunk` frames (`SnapshotSender`); encoding it here throws.
    case raft(WireMessage)
    /// One piece of an InstallSnapshot.
    case snapshotChunk(SnapshotChunk)
    /// The receiver's progress through a snapshot stream.
    case snapshotChunkAck(SnapshotChunkAck)
    /// A client write forwarded to the leader.
    case forward(ForwardRequest)
    /// The leader's answer to a forwarded write.
    case forwardResponse(ForwardResponse)

    /// The header's type byte for this frame, or nil for a Raft InstallSnapshot (never framed whole).
    public var frameType: FrameType? {
        switch self {
        case .hello: return .hello
        case .helloRejected: return .helloRejected
        case .raft(let message):
            switch message.body {
            case .appendEntries: return .appendEntries
            case .appendEntriesResponse: return .appendEntriesResponse
            case .heartbeat: return .heartbeat
            case .heartbeatResponse: return .heartbeatResponse
            case .requestVote: return .requestVote
            case .requestVoteResponse: return .requestVoteResponse
            case .timeoutNow: return .timeoutNow
            case .installSnapshot: return nil
            }
        case .snapshotChunk: return .snapshotChunk
        case .snapshotChunkAck: return .snapshotChunkAck
        case .forward: return .forward
        case .forwardResponse: return .forwardResponse
        }
    }
}
