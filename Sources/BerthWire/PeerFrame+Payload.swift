import NIOCore

/// The payload of each frame type, field by field (docs/wire-protocol.md §4). Field names given
/// to the reader and writer are the ones errors report and the document uses.
extension PeerFrame {
    /// Writes this frame's payload (not its header) at the buffer's writer index.
    func writePayload(into buffer: inout ByteBuffer) throws(WireError) {
        switch self {
        case .hello(let hello):
            buffer.writeWire(hello.protocolVersion)
            buffer.writeWire(hello.nodeID)
            buffer.writeWire(hello.incarnation)
            buffer.writeWire(hello.hasLog)
            try buffer.writeWireString(hello.clusterID, field: "clusterID")
            try buffer.writeWireString(hello.httpAddress, field: "httpAddress")
        case .helloRejected(let rejected):
            buffer.writeWire(rejected.reason.rawValue)
            buffer.writeWire(rejected.supportedVersion)
            try buffer.writeWireString(rejected.detail, field: "detail")
        case .raft(let message):
            buffer.writeWire(message.from)
            buffer.writeWire(message.to)
            buffer.writeWire(message.term)
            try Self.writeBody(message.body, into: &buffer)
        case .snapshotChunk(let chunk):
            buffer.writeWire(chunk.from)
            buffer.writeWire(chunk.to)
            buffer.writeWire(chunk.term)
            buffer.writeWire(chunk.metadata.index)
            buffer.writeWire(chunk.metadata.term)
            buffer.writeWire(chunk.totalBytes)
            buffer.writeWire(chunk.offset)
            buffer.writeWire(chunk.isLast)
            try Self.writeConfiguration(chunk.metadata.configuration, into: &buffer)
            try buffer.writeWireBytes(chunk.data, field: "data")
        case .snapshotChunkAck(let ack):
            buffer.writeWire(ack.from)
            buffer.writeWire(ack.to)
            buffer.writeWire(ack.term)
            buffer.writeWire(ack.snapshotIndex)
            buffer.writeWire(ack.nextOffset)
        case .forward(let request):
            buffer.writeWire(request.requestID)
            try buffer.writeWireBytes(request.payload, field: "payload")
        case .forwardResponse(let response):
            buffer.writeWire(response.requestID)
            buffer.writeWire(response.status)
            try buffer.writeWireBytes(response.payload, field: "payload")
        }
    }

    private static func writeBody(_ body: WireMessageBody, into buffer: inout ByteBuffer)
        throws(WireError)
    {
        switch body {
        case .appendEntries(let append):
            buffer.writeWire(append.prevIndex)
            buffer.writeWire(append.prevTerm)
            buffer.writeWire(append.commit)
            try buffer.writeWireCount(append.entries.count, field: "entries")
            for entry in append.entries {
                try writeEntry(entry, into: &buffer)
            }
        case .appendEntriesResponse(let response):
            buffer.writeWire(response.success)
            buffer.writeWire(response.matchIndex)
            buffer.writeWire(response.conflictTerm)
            buffer.writeWire(response.conflictIndex)
        case .heartbeat(let heartbeat):
            buffer.writeWire(heartbeat.commit)
            buffer.writeWire(heartbeat.readRound)
        case .heartbeatResponse(let response):
            buffer.writeWire(response.readRound)
        case .requestVote(let vote):
            buffer.writeWire(vote.lastIndex)
            buffer.writeWire(vote.lastTerm)
            buffer.writeWire(vote.preVote)
            buffer.writeWire(vote.leadershipTransfer)
        case .requestVoteResponse(let response):
            buffer.writeWire(response.granted)
            buffer.writeWire(response.preVote)
        case .timeoutNow:
            break
        case .installSnapshot:
            throw .unencodable(.installSnapshotNotChunked)
        }
    }

    /// WireEntry payload tags.
    private enum EntryTag: UInt8 {
        case empty = 0
        case command = 1
        case configChange = 2
    }

    /// WireConfiguration-change kind tags.
    private enum ChangeTag: UInt8 {
        case addLearner = 0
        case promote = 1
        case remove = 2
        case rejoin = 3
    }

    /// The fewest bytes an entry takes: term, index and tag.
    private static let minimumEntryBytes: UInt64 = 17

    private static func writeEntry(_ entry: WireEntry, into buffer: inout ByteBuffer) throws(WireError) {
        buffer.writeWire(entry.term)
        buffer.writeWire(entry.index)
        switch entry.payload {
        case .empty:
            buffer.writeWire(EntryTag.empty.rawValue)
        case .command(let bytes):
            buffer.writeWire(EntryTag.command.rawValue)
            try buffer.writeWireBytes(bytes, field: "entry.command")
        case .configChange(let change):
            buffer.writeWire(EntryTag.configChange.rawValue)
            switch change {
            case .addLearner(let node, let incarnation):
                buffer.writeWire(ChangeTag.addLearner.rawValue)
                buffer.writeWire(node)
                buffer.writeWire(incarnation)
            case .rejoin(let node, let incarnation):
                buffer.writeWire(ChangeTag.rejoin.rawValue)
                buffer.writeWire(node)
                buffer.writeWire(incarnation)
            case .promote(let node):
                buffer.writeWire(ChangeTag.promote.rawValue)
                buffer.writeWire(node)
            case .remove(let node):
                buffer.writeWire(ChangeTag.remove.rawValue)
                buffer.writeWire(node)
            }
        }
    }

    private static func writeConfiguration(
        _ configuration: WireConfiguration, into buffer: inout ByteBuffer
    )
        throws(WireError)
    {
        try buffer.writeWireNodeSet(configuration.voters, field: "voters")
        try buffer.writeWireNodeSet(configuration.learners, field: "learners")
        for member in configuration.voters.sorted() + configuration.learners.sorted() {
            buffer.writeWire(configuration.incarnation(of: member))
        }
    }

    // MARK: - Reading

    /// Reads the payload of a frame of `reader.frameType`. The caller checks for trailing bytes.
    static func readPayload(from reader: inout PayloadReader) throws(WireError) -> PeerFrame {
        switch reader.frameType {
        case .hello:
            let version = try reader.uint8("protocolVersion")
            let node = try reader.uint64("nodeID")
            let incarnation = try reader.uint64("incarnation")
            let hasLog = try reader.bool("hasLog")
            let cluster = try reader.string("clusterID")
            let http = try reader.string("httpAddress")
            return .hello(
                Hello(
                    clusterID: cluster, nodeID: node, incarnation: incarnation, hasLog: hasLog,
                    protocolVersion: version, httpAddress: http))
        case .helloRejected:
            let reason = HelloRejectReason(rawValue: try reader.uint16("reason"))
            let version = try reader.uint8("supportedVersion")
            let detail = try reader.string("detail")
            return .helloRejected(
                HelloRejected(reason: reason, supportedVersion: version, detail: detail))
        case .appendEntries, .appendEntriesResponse, .heartbeat, .heartbeatResponse, .requestVote,
            .requestVoteResponse, .timeoutNow:
            return .raft(try readMessage(from: &reader))
        case .snapshotChunk:
            let from = try reader.uint64("from")
            let to = try reader.uint64("to")
            let term = try reader.uint64("term")
            let index = try reader.uint64("snapshotIndex")
            let snapshotTerm = try reader.uint64("snapshotTerm")
            let total = try reader.uint64("totalBytes")
            let offset = try reader.uint64("offset")
            let last = try reader.bool("isLast")
            let configuration = try readConfiguration(from: &reader)
            let data = try reader.bytes("data")
            return .snapshotChunk(
                SnapshotChunk(
                    from: from,
                    to: to,
                    term: term,
                    metadata: WireSnapshotMetadata(
                        index: index, term: snapshotTerm, configuration: configuration),
                    totalBytes: total,
                    offset: offset,
                    data: data,
                    isLast: last
                )
            )
        case .snapshotChunkAck:
            let from = try reader.uint64("from")
            let to = try reader.uint64("to")
            let term = try reader.uint64("term")
            let index = try reader.uint64("snapshotIndex")
            let next = try reader.uint64("nextOffset")
            return .snapshotChunkAck(
                SnapshotChunkAck(from: from, to: to, term: term, snapshotIndex: index, nextOffset: next)
            )
        case .forward:
            let id = try reader.uint64("requestID")
            let payload = try reader.bytes("payload")
            return .forward(ForwardRequest(requestID: id, payload: payload))
        case .forwardResponse:
            let id = try reader.uint64("requestID")
            let status = try reader.uint16("status")
            let payload = try reader.bytes("payload")
            return .forwardResponse(ForwardResponse(requestID: id, status: status, payload: payload))
        }
    }

    private static func readMessage(from reader: inout PayloadReader) throws(WireError) -> WireMessage {
        let from = try reader.uint64("from")
        let to = try reader.uint64("to")
        let term = try reader.uint64("term")
        let body: WireMessageBody
        switch reader.frameType {
        case .appendEntries:
            let prevIndex = try reader.uint64("prevIndex")
            let prevTerm = try reader.uint64("prevTerm")
            let commit = try reader.uint64("commit")
            let entries = try reader.list(
                "entries", minimumElementBytes: minimumEntryBytes, element: readEntry)
            body = .appendEntries(
                WireAppendEntries(prevIndex: prevIndex, prevTerm: prevTerm, entries: entries, commit: commit)
            )
        case .appendEntriesResponse:
            let success = try reader.bool("success")
            let match = try reader.uint64("matchIndex")
            let conflictTerm = try reader.uint64("conflictTerm")
            let conflictIndex = try reader.uint64("conflictIndex")
            body = .appendEntriesResponse(
                WireAppendEntriesResponse(
                    success: success,
                    matchIndex: match,
                    conflictTerm: conflictTerm,
                    conflictIndex: conflictIndex
                )
            )
        case .heartbeat:
            let commit = try reader.uint64("commit")
            let round = try reader.uint64("readRound")
            body = .heartbeat(WireHeartbeat(commit: commit, readRound: round))
        case .heartbeatResponse:
            body = .heartbeatResponse(WireHeartbeatResponse(readRound: try reader.uint64("readRound")))
        case .requestVote:
            let lastIndex = try reader.uint64("lastIndex")
            let lastTerm = try reader.uint64("lastTerm")
            let preVote = try reader.bool("preVote")
            let transfer = try reader.bool("leadershipTransfer")
            body = .requestVote(
                WireRequestVote(
                    lastIndex: lastIndex, lastTerm: lastTerm, preVote: preVote, leadershipTransfer: transfer)
            )
        case .requestVoteResponse:
            let granted = try reader.bool("granted")
            let preVote = try reader.bool("preVote")
            body = .requestVoteResponse(WireRequestVoteResponse(granted: granted, preVote: preVote))
        case .timeoutNow:
            body = .timeoutNow
        case .hello, .helloRejected, .snapshotChunk, .snapshotChunkAck, .forward, .forwardResponse:
            preconditionFailure("readMessage is only called for Raft frame types")
        }
        return WireMessage(from: from, to: to, term: term, body: body)
    }

    private static func readEntry(from reader: inout PayloadReader) throws(WireError) -> WireEntry {
        let term = try reader.uint64("entry.term")
        let index = try reader.uint64("entry.index")
        let tagOffset = reader.offset
        let tagByte = try reader.uint8("entry.payloadTag")
        guard let tag = EntryTag(rawValue: tagByte) else {
            throw reader.malformed(.invalidTag(field: "entry.payloadTag", value: tagByte), at: tagOffset)
        }
        let payload: WireEntryPayload
        switch tag {
        case .empty:
            payload = .empty
        case .command:
            payload = .command(try reader.bytes("entry.command"))
        case .configChange:
            let kindOffset = reader.offset
            let kindByte = try reader.uint8("entry.changeKind")
            guard let kind = ChangeTag(rawValue: kindByte) else {
                throw reader.malformed(
                    .invalidTag(field: "entry.changeKind", value: kindByte), at: kindOffset)
            }
            let node = try reader.uint64("entry.changeNode")
            switch kind {
            case .addLearner, .rejoin:
                let incarnation = try reader.incarnation("entry.changeIncarnation")
                payload = .configChange(
                    kind == .addLearner
                        ? .addLearner(node, incarnation: incarnation) : .rejoin(node, incarnation: incarnation))
            case .promote: payload = .configChange(.promote(node))
            case .remove: payload = .configChange(.remove(node))
            }
        }
        return WireEntry(term: term, index: index, payload: payload)
    }

    private static func readConfiguration(from reader: inout PayloadReader) throws(WireError)
        -> WireConfiguration
    {
        let start = reader.offset
        let voters = try reader.nodeSet("voters")
        let learners = try reader.nodeSet("learners")
        // A server is a voter or a learner, never both: the core could not hold such a membership.
        if let both = voters.intersection(learners).min() {
            throw reader.malformed(.voterIsLearner(both), at: start)
        }
        var incarnations: [UInt64: UInt64] = [:]
        for member in voters.sorted() + learners.sorted() {
            incarnations[member] = try reader.incarnation("incarnations")
        }
        return WireConfiguration(voters: voters, learners: learners, incarnations: incarnations)
    }
}
