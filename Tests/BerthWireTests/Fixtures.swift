import NIOCore
import NIOEmbedded

@testable import BerthWire

/// Frames that cover every frame type and the edge cases of each field encoding.
enum Fixtures {
    /// Voters and learners, most of them under an incarnation other than the default 1 (node 3
    /// keeps the default, so both kinds are covered).
    static let configuration = WireConfiguration(
        voters: [1, 2, 3], learners: [4, 9],
        incarnations: [1: 0x8F3E_0C21_5A7B_D946, 2: .max, 4: 0x0102_0304_0506_0708, 9: 2])

    /// At least one frame of every `FrameType`, with zero values, maximum values, empty and large
    /// byte arrays, every entry payload kind and every configuration change kind.
    static let frames: [PeerFrame] = [
        .hello(Hello(clusterID: "berth", nodeID: 1, httpAddress: "127.0.0.1:8101")),
        .hello(
            Hello(clusterID: "", nodeID: .max, incarnation: .max, hasLog: false, protocolVersion: 0, httpAddress: "")),
        .hello(
            Hello(
                clusterID: "prod-eu-ünïcødé-🚢", nodeID: 7, incarnation: 0x8F3E_0C21_5A7B_D946, hasLog: false,
                httpAddress: "[::1]:8101")),
        // The codec carries an incarnation 0 in a hello; the handshake policy is what refuses it.
        .hello(Hello(clusterID: "berth", nodeID: 3, incarnation: 0, httpAddress: "127.0.0.1:8103")),
        .helloRejected(HelloRejected(reason: .wrongCluster, detail: "cluster id is \"a\", not \"b\"")),
        .helloRejected(
            HelloRejected(reason: HelloRejectReason(rawValue: .max), supportedVersion: 255, detail: "")),
        .raft(
            WireMessage(
                from: 1,
                to: 2,
                term: 3,
                body: .appendEntries(WireAppendEntries(prevIndex: 0, prevTerm: 0, entries: [], commit: 0))
            )
        ),
        .raft(
            WireMessage(
                from: 1,
                to: 2,
                term: 5,
                body: .appendEntries(
                    WireAppendEntries(
                        prevIndex: 10,
                        prevTerm: 4,
                        entries: [
                            WireEntry(term: 5, index: 11, payload: .empty),
                            WireEntry(term: 5, index: 12, payload: .command(Array("set x=1".utf8))),
                            WireEntry(term: 5, index: 13, payload: .command([])),
                            WireEntry(
                                term: 5, index: 14,
                                payload: .configChange(.addLearner(4, incarnation: 0x0102_0304_0506_0708))),
                            WireEntry(term: 5, index: 15, payload: .configChange(.promote(4))),
                            WireEntry(term: 5, index: 16, payload: .configChange(.remove(.max))),
                            WireEntry(term: 5, index: 17, payload: .configChange(.rejoin(2, incarnation: .max))),
                            WireEntry(term: 5, index: 18, payload: .configChange(.addLearner(.max, incarnation: 1))),
                            WireEntry(term: 5, index: 19, payload: .configChange(.rejoin(0, incarnation: 1))),
                        ],
                        commit: 12
                    )
                )
            )
        ),
        .raft(
            WireMessage(
                from: .max,
                to: .max,
                term: .max,
                body: .appendEntries(
                    WireAppendEntries(
                        prevIndex: .max,
                        prevTerm: .max,
                        entries: [WireEntry(term: .max, index: .max, payload: .command(bigPayload))],
                        commit: .max
                    )
                )
            )
        ),
        .raft(
            WireMessage(
                from: 2,
                to: 1,
                term: 5,
                body: .appendEntriesResponse(WireAppendEntriesResponse(success: true, matchIndex: 16))
            )
        ),
        .raft(
            WireMessage(
                from: 2,
                to: 1,
                term: .max,
                body: .appendEntriesResponse(
                    WireAppendEntriesResponse(
                        success: false, matchIndex: .max, conflictTerm: .max, conflictIndex: .max)
                )
            )
        ),
        .raft(WireMessage(from: 1, to: 3, term: 5, body: .heartbeat(WireHeartbeat(commit: 16, readRound: 9)))),
        .raft(WireMessage(from: 0, to: 0, term: 0, body: .heartbeat(WireHeartbeat(commit: 0)))),
        .raft(
            WireMessage(from: 3, to: 1, term: 5, body: .heartbeatResponse(WireHeartbeatResponse(readRound: .max)))
        ),
        .raft(WireMessage(from: 3, to: 1, term: 5, body: .heartbeatResponse(WireHeartbeatResponse()))),
        .raft(
            WireMessage(from: 2, to: 3, term: 6, body: .requestVote(WireRequestVote(lastIndex: 16, lastTerm: 5)))),
        .raft(
            WireMessage(
                from: 2,
                to: 3,
                term: 7,
                body: .requestVote(
                    WireRequestVote(lastIndex: 16, lastTerm: 5, preVote: true, leadershipTransfer: true))
            )
        ),
        .raft(
            WireMessage(
                from: 2, to: 3, term: 7,
                body: .requestVote(WireRequestVote(lastIndex: 0, lastTerm: 0, preVote: true)))
        ),
        .raft(
            WireMessage(
                from: 2,
                to: 3,
                term: 7,
                body: .requestVote(WireRequestVote(lastIndex: 0, lastTerm: 0, leadershipTransfer: true))
            )
        ),
        .raft(
            WireMessage(
                from: 3, to: 2, term: 7,
                body: .requestVoteResponse(WireRequestVoteResponse(granted: true, preVote: true)))
        ),
        .raft(
            WireMessage(
                from: 3,
                to: 2,
                term: 7,
                body: .requestVoteResponse(WireRequestVoteResponse(granted: false, preVote: false))
            )
        ),
        .raft(WireMessage(from: 1, to: 2, term: 8, body: .timeoutNow)),
        .snapshotChunk(
            SnapshotChunk(
                from: 1,
                to: 4,
                term: 8,
                metadata: WireSnapshotMetadata(index: 100, term: 7, configuration: configuration),
                totalBytes: 10,
                offset: 4,
                data: [1, 2, 3, 4, 5, 6],
                isLast: true
            )
        ),
        .snapshotChunk(
            SnapshotChunk(
                from: 1,
                to: 2,
                term: 1,
                metadata: WireSnapshotMetadata(index: 0, term: 0, configuration: WireConfiguration(voters: [])),
                totalBytes: 0,
                offset: 0,
                data: [],
                isLast: false
            )
        ),
        .snapshotChunk(
            SnapshotChunk(
                from: 2,
                to: 3,
                term: 9,
                metadata: WireSnapshotMetadata(
                    index: .max, term: .max,
                    configuration: WireConfiguration(voters: [], learners: [.max], incarnations: [.max: .max])),
                totalBytes: 1,
                offset: 0,
                data: [0xFF],
                isLast: true
            )
        ),
        .snapshotChunkAck(
            SnapshotChunkAck(from: 4, to: 1, term: 8, snapshotIndex: 100, nextOffset: 10)),
        .snapshotChunkAck(
            SnapshotChunkAck(from: 0, to: 0, term: 0, snapshotIndex: .max, nextOffset: .max)),
        .forward(ForwardRequest(requestID: 42, payload: Array(#"{"op":"launch"}"#.utf8))),
        .forward(ForwardRequest(requestID: .max, payload: [])),
        .forwardResponse(
            ForwardResponse(requestID: 42, status: 200, payload: Array(#"{"ok":true}"#.utf8))),
        .forwardResponse(ForwardResponse(requestID: 0, status: .max, payload: [])),
    ]

    /// A 200 KiB command: big enough to span many reads, small enough for a quick debug build.
    static let bigPayload: [UInt8] = (0..<(200 << 10)).map {
        UInt8(truncatingIfNeeded: $0 &* 31 &+ 7)
    }

    /// The frames without the big one, for tests that loop many times.
    static var smallFrames: [PeerFrame] {
        frames.filter { frameBytes($0).count < 4096 }
    }

    /// `frame`'s encoding.
    static func frameBytes(_ frame: PeerFrame) -> [UInt8] {
        var buffer = ByteBuffer()
        try! PeerFrameCodec.encode(frame, into: &buffer)
        return Array(buffer.readableBytesView)
    }

    /// A channel with the decoder inbound and the encoder outbound, as a peer connection has.
    static func channel(maxFrameBytes: Int = PeerProtocol.defaultMaxFrameBytes) -> EmbeddedChannel {
        EmbeddedChannel(handlers: [
            ByteToMessageHandler(PeerFrameDecoder(maxFrameBytes: maxFrameBytes)),
            MessageToByteHandler(PeerFrameEncoder(maxFrameBytes: maxFrameBytes)),
        ])
    }

    /// Every frame the channel has decoded so far.
    static func readAll(_ channel: EmbeddedChannel) throws -> [PeerFrame] {
        var frames: [PeerFrame] = []
        while let frame = try channel.readInbound(as: PeerFrame.self) {
            frames.append(frame)
        }
        return frames
    }

    /// Writes `bytes` into the channel's inbound side.
    static func feed(_ channel: EmbeddedChannel, _ bytes: some Sequence<UInt8>) throws {
        var buffer = channel.allocator.buffer(capacity: 0)
        buffer.writeBytes(Array(bytes))
        try channel.writeInbound(buffer)
    }

    /// Re-seals a frame whose payload was changed: fixes the header's length and CRC32C so the
    /// damage reaches the payload parser instead of stopping at the checksum.
    static func resealed(header: [UInt8], payload: [UInt8]) -> [UInt8] {
        var bytes = Array(header.prefix(8))
        let length = UInt32(payload.count)
        let crc = CRC32C.checksum(payload)
        bytes += [
            UInt8(length >> 24), UInt8(truncatingIfNeeded: length >> 16),
            UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length),
        ]
        bytes += [
            UInt8(crc >> 24), UInt8(truncatingIfNeeded: crc >> 16), UInt8(truncatingIfNeeded: crc >> 8),
            UInt8(truncatingIfNeeded: crc),
        ]
        return bytes + payload
    }

    /// Lower-case hex, two digits per byte, no separators.
    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map {
            String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16)
        }.joined()
    }
}
