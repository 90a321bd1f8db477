import NIOCore
import NIOEmbedded
import Testing

@testable import BerthWire

/// The hello exchange and its refusal rules (spec §2: every connection is checked for cluster id,
/// node id, incarnation and protocol version).
@Suite struct HandshakeTests {
    private let node1 = HandshakePolicy(clusterID: "prod-eu", nodeID: 1)

    private func hello(
        cluster: String = "prod-eu", node: UInt64 = 2, incarnation: UInt64 = 0x51E3_77A0_0C4D_92B8,
        version: UInt8 = PeerProtocol.version
    ) -> Hello {
        Hello(
            clusterID: cluster, nodeID: node, incarnation: incarnation, protocolVersion: version,
            httpAddress: "10.0.0.\(node):8101"
        )
    }

    @Test("this module speaks protocol version 2, and its policy and hellos say so")
    func version() {
        #expect(PeerProtocol.version == 2)
        #expect(node1.protocolVersion == 2)
        #expect(node1.hello(httpAddress: "h:1").protocolVersion == 2)
    }

    @Test("a peer of the same cluster and version, with a fresh id, is accepted")
    func accepts() {
        #expect(node1.refusal(of: hello()) == nil)
        #expect(node1.refusal(of: hello(), expectedNode: 2, members: [1, 2, 3], connected: [3]) == nil)
    }

    @Test("another cluster id is refused as wrong_cluster")
    func wrongCluster() {
        let refusal = node1.refusal(of: hello(cluster: "berth"))
        #expect(refusal?.reason == .wrongCluster)
        #expect(refusal?.detail == "cluster id is \"prod-eu\", not \"berth\"")
        #expect(refusal?.supportedVersion == 2)
    }

    @Test("another protocol version is refused as unsupported_version")
    func wrongVersion() {
        let refusal = node1.refusal(of: hello(version: 1))
        #expect(refusal?.reason == .unsupportedVersion)
        #expect(refusal?.detail == "protocol version 1 is not supported; this node speaks 2")
        #expect(refusal?.supportedVersion == 2)
        #expect(node1.refusal(of: hello(version: 3))?.reason == .unsupportedVersion)
        #expect(node1.refusal(of: hello(version: 0))?.reason == .unsupportedVersion)
    }

    @Test("node 0, a non-member, or not the node dialed is refused as unknown_node")
    func unknownNode() {
        #expect(node1.refusal(of: hello(node: 0))?.reason == .unknownNode)
        #expect(node1.refusal(of: hello(node: 9), members: [1, 2, 3])?.reason == .unknownNode)
        #expect(node1.refusal(of: hello(node: 3), expectedNode: 2)?.reason == .unknownNode)
    }

    @Test("incarnation 0 names no data directory: refused as unknown_node, right after node id 0")
    func zeroIncarnation() {
        let refusal = node1.refusal(of: hello(incarnation: 0))
        #expect(refusal?.reason == .unknownNode)
        #expect(refusal?.detail == "incarnation 0 names no data directory")
        // Even from a known member on the expected connection.
        #expect(
            node1.refusal(of: hello(incarnation: 0), expectedNode: 2, members: [1, 2, 3])?.reason == .unknownNode)
        // Node id 0 is checked first; the incarnation comes before every other node rule.
        #expect(
            node1.refusal(of: hello(node: 0, incarnation: 0))?.detail == "node id 0 is not a valid server id")
        #expect(node1.refusal(of: hello(node: 1, incarnation: 0))?.reason == .unknownNode)
        #expect(node1.refusal(of: hello(node: 2, incarnation: 0), connected: [2])?.reason == .unknownNode)
        // Any other incarnation, the default 1 and the largest included, is the peer's to choose.
        #expect(node1.refusal(of: hello(incarnation: 1)) == nil)
        #expect(node1.refusal(of: hello(incarnation: .max)) == nil)
    }

    @Test("a hello carries its incarnation and whether the sender holds a log, through the codec")
    func incarnationAndLogRoundTrip() throws {
        let cases: [(incarnation: UInt64, hasLog: Bool)] = [
            (1, true), (0x51E3_77A0_0C4D_92B8, false), (.max, true), (0, false),
        ]
        for (incarnation, hasLog) in cases {
            let sent = HandshakePolicy(clusterID: "prod-eu", nodeID: 2)
                .hello(httpAddress: "10.0.0.2:8101", incarnation: incarnation, hasLog: hasLog)
            #expect(sent.incarnation == incarnation)
            #expect(sent.hasLog == hasLog)
            var buffer = ByteBuffer(bytes: Fixtures.frameBytes(.hello(sent)))
            guard case .hello(let received)? = try PeerFrameCodec.decode(from: &buffer) else {
                Issue.record("a hello must decode as a hello")
                continue
            }
            #expect(received == sent)
            #expect(received.incarnation == incarnation)
            #expect(received.hasLog == hasLog)
            // The codec carries an incarnation 0 as it is; the policy refuses it.
            #expect((node1.refusal(of: received) == nil) == (incarnation != 0))
        }
        // The defaults: incarnation 1, a log.
        let plain = Hello(clusterID: "prod-eu", nodeID: 2, httpAddress: "h:1")
        #expect(plain.incarnation == 1)
        #expect(plain.hasLog)
        #expect(node1.hello(httpAddress: "h:1").incarnation == 1)
        #expect(node1.hello(httpAddress: "h:1").hasLog)
    }

    @Test("this node's own id, or an id already connected, is refused as duplicate_node")
    func duplicateNode() {
        #expect(node1.refusal(of: hello(node: 1))?.reason == .duplicateNode)
        #expect(node1.refusal(of: hello(node: 2), connected: [2])?.reason == .duplicateNode)
    }

    @Test("the first failing rule wins: cluster, then version, then node")
    func precedence() {
        #expect(node1.refusal(of: hello(cluster: "x", node: 0, incarnation: 0, version: 9))?.reason == .wrongCluster)
        #expect(node1.refusal(of: hello(node: 0, incarnation: 0, version: 1))?.reason == .unsupportedVersion)
    }

    @Test("reason codes are stable and unknown codes survive decoding")
    func reasonCodes() throws {
        #expect(HelloRejectReason.wrongCluster.rawValue == 1)
        #expect(HelloRejectReason.unsupportedVersion.rawValue == 2)
        #expect(HelloRejectReason.unknownNode.rawValue == 3)
        #expect(HelloRejectReason.duplicateNode.rawValue == 4)
        #expect(HelloRejectReason.duplicateNode.description == "duplicate_node")
        let future = PeerFrame.helloRejected(
            HelloRejected(reason: HelloRejectReason(rawValue: 77), detail: "?"))
        var buffer = ByteBuffer(bytes: Fixtures.frameBytes(future))
        #expect(try PeerFrameCodec.decode(from: &buffer) == future)
        #expect(HelloRejectReason(rawValue: 77).description == "reason_77")
    }

    @Test("the exchange over channels: the dialer's hello is answered by a hello, or a refusal")
    func exchange() throws {
        let dialerPolicy = HandshakePolicy(clusterID: "prod-eu", nodeID: 2)
        for (acceptorCluster, accepted) in [("prod-eu", true), ("staging", false)] {
            let acceptorPolicy = HandshakePolicy(clusterID: acceptorCluster, nodeID: 1)
            let dialer = Fixtures.channel()
            let acceptor = Fixtures.channel()

            try dialer.writeOutbound(
                PeerFrame.hello(
                    dialerPolicy.hello(httpAddress: "127.0.0.1:8102", incarnation: 0xD1A1_E500_0000_0002, hasLog: false)
                ))
            try acceptor.writeInbound(try #require(try dialer.readOutbound(as: ByteBuffer.self)))
            guard case .hello(let received)? = try acceptor.readInbound(as: PeerFrame.self) else {
                Issue.record("the acceptor must see a hello first")
                return
            }
            #expect(received.httpAddress == "127.0.0.1:8102")
            #expect(received.incarnation == 0xD1A1_E500_0000_0002)
            #expect(!received.hasLog)
            if let refusal = acceptorPolicy.refusal(of: received) {
                try acceptor.writeOutbound(PeerFrame.helloRejected(refusal))
            } else {
                try acceptor.writeOutbound(
                    PeerFrame.hello(
                        acceptorPolicy.hello(httpAddress: "127.0.0.1:8101", incarnation: 0xACCE_0000_0000_0001)))
            }

            try dialer.writeInbound(try #require(try acceptor.readOutbound(as: ByteBuffer.self)))
            switch try dialer.readInbound(as: PeerFrame.self) {
            case .hello(let answer)?:
                #expect(accepted)
                #expect(dialerPolicy.refusal(of: answer, expectedNode: 1) == nil)
                #expect(answer.httpAddress == "127.0.0.1:8101")
                #expect(answer.incarnation == 0xACCE_0000_0000_0001)
                #expect(answer.hasLog)
            case .helloRejected(let refusal)?:
                #expect(!accepted)
                #expect(refusal.reason == .wrongCluster)
                #expect(refusal.detail == "cluster id is \"staging\", not \"prod-eu\"")
            default:
                Issue.record("the dialer must get a hello or a refusal")
            }
            #expect(try dialer.finish().isClean)
            #expect(try acceptor.finish().isClean)
        }
    }
}
