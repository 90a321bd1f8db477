import NIOCore
import NIOEmbedded
import Testing

@testable import BerthWire

/// The hello exchange and its refusal rules (spec §2: every connection is checked for cluster id,
/// node id and protocol version).
@Suite struct HandshakeTests {
    private let node1 = HandshakePolicy(clusterID: "prod-eu", nodeID: 1)

    private func hello(cluster: String = "prod-eu", node: UInt64 = 2, version: UInt8 = 1) -> Hello {
        Hello(
            clusterID: cluster, nodeID: node, protocolVersion: version, httpAddress: "10.0.0.\(node):8101"
        )
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
        #expect(refusal?.supportedVersion == 1)
    }

    @Test("another protocol version is refused as unsupported_version")
    func wrongVersion() {
        #expect(node1.refusal(of: hello(version: 2))?.reason == .unsupportedVersion)
        #expect(node1.refusal(of: hello(version: 0))?.reason == .unsupportedVersion)
    }

    @Test("node 0, a non-member, or not the node dialed is refused as unknown_node")
    func unknownNode() {
        #expect(node1.refusal(of: hello(node: 0))?.reason == .unknownNode)
        #expect(node1.refusal(of: hello(node: 9), members: [1, 2, 3])?.reason == .unknownNode)
        #expect(node1.refusal(of: hello(node: 3), expectedNode: 2)?.reason == .unknownNode)
    }

    @Test("this node's own id, or an id already connected, is refused as duplicate_node")
    func duplicateNode() {
        #expect(node1.refusal(of: hello(node: 1))?.reason == .duplicateNode)
        #expect(node1.refusal(of: hello(node: 2), connected: [2])?.reason == .duplicateNode)
    }

    @Test("the first failing rule wins: cluster, then version, then node")
    func precedence() {
        #expect(node1.refusal(of: hello(cluster: "x", node: 0, version: 9))?.reason == .wrongCluster)
        #expect(node1.refusal(of: hello(node: 0, version: 9))?.reason == .unsupportedVersion)
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

            try dialer.writeOutbound(PeerFrame.hello(dialerPolicy.hello(httpAddress: "127.0.0.1:8102")))
            try acceptor.writeInbound(try #require(try dialer.readOutbound(as: ByteBuffer.self)))
            guard case .hello(let received)? = try acceptor.readInbound(as: PeerFrame.self) else {
                Issue.record("the acceptor must see a hello first")
                return
            }
            #expect(received.httpAddress == "127.0.0.1:8102")
            if let refusal = acceptorPolicy.refusal(of: received) {
                try acceptor.writeOutbound(PeerFrame.helloRejected(refusal))
            } else {
                try acceptor.writeOutbound(
                    PeerFrame.hello(acceptorPolicy.hello(httpAddress: "127.0.0.1:8101")))
            }

            try dialer.writeInbound(try #require(try acceptor.readOutbound(as: ByteBuffer.self)))
            switch try dialer.readInbound(as: PeerFrame.self) {
            case .hello(let answer)?:
                #expect(accepted)
                #expect(dialerPolicy.refusal(of: answer, expectedNode: 1) == nil)
                #expect(answer.httpAddress == "127.0.0.1:8101")
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
