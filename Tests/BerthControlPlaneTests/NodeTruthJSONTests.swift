import BerthControlPlane
import Foundation
import Testing

/// `SchedulerEnvelope.jsonBytes()` and `NodeTruth.jsonBytes()`: the documents `Encodable`
/// describes, written directly, readable by every reader that reads the encoded form.
@Suite struct NodeTruthJSONTests {
    static func envelopes() -> [SchedulerEnvelope] {
        // Within the envelope's rules, but with what JSON writers disagree on: slashes, quotes,
        // backslashes, control characters and non-ASCII text, and the largest numbers.
        var odd = Build.envelope(
            "edge-01", sequence: UInt64(Int64.max), observedAtMs: 0, arch: .x86_64, cpus: 1, memoryMiB: 1,
            kvmPresent: true, kvmUsable: false, backends: [],
            labels: ["topology.kubernetes.io/zone": "eu-west/1", "a": "b"], health: .degraded)
        odd.kernel = "6.8.0 \"custom\" \\ é \u{1}"
        return RandomFleet(seed: 7, nodes: 40).envelopes + [odd, Build.envelope("plain")]
    }

    /// Both parsed into Foundation objects, so key order and escaping style do not matter.
    static func sameDocument(_ fast: [UInt8], _ encoded: Data) throws -> Bool {
        let left = try JSONSerialization.jsonObject(with: Data(fast)) as! NSDictionary
        let right = try JSONSerialization.jsonObject(with: encoded) as! NSDictionary
        return left == right
    }

    @Test("an envelope's JSON is the Encodable document, and both readers read it back")
    func envelopeJSON() throws {
        let encoder = JSONEncoder()
        for envelope in Self.envelopes() {
            let bytes = envelope.jsonBytes()
            #expect(try Self.sameDocument(bytes, encoder.encode(envelope)))
            #expect(try JSONDecoder().decode(SchedulerEnvelope.self, from: Data(bytes)) == envelope)
            #expect(try SchedulerEnvelope.parse(json: bytes) == envelope)
            // Keys in byte order, as the canonical form has them.
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(text.hasPrefix(#"{"arch":"#) && text.contains(#""sequence":\#(envelope.sequence)}"#))
        }
    }

    @Test("a node's truth, cordoned or not, is the Encodable document and reads back")
    func truthJSON() throws {
        let encoder = JSONEncoder()
        for (index, envelope) in Self.envelopes().enumerated() {
            var truth = NodeTruth(envelope: envelope, receivedAtMs: Build.now + Int64(index))
            if index % 2 == 1 { truth.cordon(atMs: Build.now + 5, draining: index % 4 == 1) }
            let bytes = truth.jsonBytes()
            #expect(try Self.sameDocument(bytes, encoder.encode(truth)))
            #expect(try JSONDecoder().decode(NodeTruth.self, from: Data(bytes)) == truth)
        }
    }
}
