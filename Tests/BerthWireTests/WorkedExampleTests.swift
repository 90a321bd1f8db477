import NIOCore
import Testing

@testable import BerthWire

/// The hex examples in docs/wire-protocol.md §10 are produced by the encoder: if the format
/// changes, these fail until the document is updated too.
@Suite struct WorkedExampleTests {
    @Test("docs example 1: heartbeat from 1 to 2, term 3, commit 7, read round 0")
    func heartbeat() throws {
        let frame = PeerFrame.raft(
            WireMessage(from: 1, to: 2, term: 3, body: .heartbeat(WireHeartbeat(commit: 7))))
        let bytes = Fixtures.frameBytes(frame)
        #expect(
            Fixtures.hex(bytes)
                == "4252544802120000000000287842a133"
                + "0000000000000001" + "0000000000000002" + "0000000000000003"
                + "0000000000000007" + "0000000000000000"
        )
    }

    @Test("docs example 2: hello from node 2 of cluster \"berth\", incarnation 0x3c5e19a07bd24f86, with a log")
    func hello() throws {
        let frame = PeerFrame.hello(
            Hello(
                clusterID: "berth", nodeID: 2, incarnation: 0x3C5E_19A0_7BD2_4F86, hasLog: true,
                httpAddress: "127.0.0.1:8102"))
        let bytes = Fixtures.frameBytes(frame)
        #expect(bytes.count == 57)
        #expect(
            Fixtures.hex(bytes)
                == "42525448020100000000002979847dd2"
                + "02" + "0000000000000002" + "3c5e19a07bd24f86" + "01" + "0005" + "6265727468" + "000e"
                + "3132372e302e302e313a38313032"
        )
    }

    @Test("docs example 3: appendEntries carrying a rejoin of node 3 under incarnation 0x9d04e6b1c2a85f37")
    func rejoinEntry() throws {
        let frame = PeerFrame.raft(
            WireMessage(
                from: 1, to: 2, term: 4,
                body: .appendEntries(
                    WireAppendEntries(
                        prevIndex: 9, prevTerm: 4,
                        entries: [
                            WireEntry(
                                term: 4, index: 10,
                                payload: .configChange(.rejoin(3, incarnation: 0x9D04_E6B1_C2A8_5F37)))
                        ],
                        commit: 9))))
        let bytes = Fixtures.frameBytes(frame)
        #expect(bytes.count == 102)
        #expect(
            Fixtures.hex(bytes)
                == "425254480210000000000056fe396a36"
                + "0000000000000001" + "0000000000000002" + "0000000000000004"
                + "0000000000000009" + "0000000000000004" + "0000000000000009" + "00000001"
                + "0000000000000004" + "000000000000000a" + "02" + "03" + "0000000000000003"
                + "9d04e6b1c2a85f37"
        )
    }

    @Test("the payload sizes the document gives for each frame type")
    func documentedSizes() {
        func payload(_ frame: PeerFrame) -> Int { Fixtures.frameBytes(frame).count - PeerProtocol.headerBytes }
        func raft(_ body: WireMessageBody) -> Int { payload(.raft(WireMessage(from: 1, to: 2, term: 3, body: body))) }
        let command: [UInt8] = [1, 2, 3, 4, 5]

        #expect(payload(.hello(Hello(clusterID: "abc", nodeID: 1, httpAddress: "h:1"))) == 22 + 3 + 3)
        #expect(payload(.helloRejected(HelloRejected(reason: .unknownNode, detail: "abcd"))) == 5 + 4)
        #expect(raft(.appendEntries(WireAppendEntries(prevIndex: 0, prevTerm: 0, entries: [], commit: 0))) == 52)
        let entries = [
            WireEntry(term: 1, index: 1, payload: .empty),
            WireEntry(term: 1, index: 2, payload: .command(command)),
            WireEntry(term: 1, index: 3, payload: .configChange(.remove(2))),
            WireEntry(term: 1, index: 4, payload: .configChange(.promote(2))),
            WireEntry(term: 1, index: 5, payload: .configChange(.addLearner(5, incarnation: 7))),
            WireEntry(term: 1, index: 6, payload: .configChange(.rejoin(3, incarnation: 8))),
        ]
        #expect(
            raft(.appendEntries(WireAppendEntries(prevIndex: 0, prevTerm: 0, entries: entries, commit: 0)))
                == 52 + 17 + (21 + command.count) + 26 + 26 + 34 + 34
        )
        #expect(raft(.appendEntriesResponse(WireAppendEntriesResponse(success: true, matchIndex: 1))) == 49)
        #expect(raft(.heartbeat(WireHeartbeat(commit: 1))) == 40)
        #expect(raft(.heartbeatResponse(WireHeartbeatResponse())) == 32)
        #expect(raft(.requestVote(WireRequestVote(lastIndex: 1, lastTerm: 1))) == 42)
        #expect(raft(.requestVoteResponse(WireRequestVoteResponse(granted: true, preVote: false))) == 26)
        #expect(raft(.timeoutNow) == 24)
        #expect(
            payload(.snapshotChunkAck(SnapshotChunkAck(from: 2, to: 1, term: 1, snapshotIndex: 1, nextOffset: 0))) == 40
        )
        #expect(payload(.forward(ForwardRequest(requestID: 1, payload: command))) == 12 + command.count)
        #expect(
            payload(.forwardResponse(ForwardResponse(requestID: 1, status: 200, payload: command))) == 14
                + command.count)

        // A chunk frame costs 85 bytes plus 16 per member (its id and its incarnation) on top of
        // its data.
        let members = WireConfiguration(voters: [1, 2, 3], learners: [4, 5], incarnations: [2: 9, 5: .max])
        let chunk = SnapshotChunk(
            from: 1,
            to: 2,
            term: 1,
            metadata: WireSnapshotMetadata(index: 9, term: 1, configuration: members),
            totalBytes: 100,
            offset: 0,
            data: [UInt8](repeating: 0, count: 100),
            isLast: true
        )
        #expect(Fixtures.frameBytes(.snapshotChunk(chunk)).count == 85 + 16 * 5 + 100)
    }
}
