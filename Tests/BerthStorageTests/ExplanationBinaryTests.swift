import BerthControlPlane
import Foundation
import Testing

@testable import BerthStorage

/// The stored form of placement explanations: every value survives, earlier JSON rows still
/// read, and bad bytes are refused instead of trusted.
@Suite struct ExplanationBinaryTests {
    /// Every kind of evidence, negative numbers, repeated and unicode strings, empty lists.
    static func sample() -> Explanation {
        Explanation(
            evaluatedAtMs: 1_764_720_000_123,
            rankedNodes: [
                RankedNode(
                    nodeID: "arm-01",
                    components: ScoreComponents(
                        resourceFitMilli: 875, spreadMilli: 1000, backendPreferenceMilli: 1000, healthMilli: 250)),
                RankedNode(
                    nodeID: "rack-é-02",
                    components: ScoreComponents(
                        resourceFitMilli: 0, spreadMilli: 0, backendPreferenceMilli: 250, healthMilli: 1000)),
            ],
            rejectedNodes: [
                RejectedNode(
                    nodeID: "x86-02",
                    reasons: [
                        Rejection(code: .archMismatch, needed: .string("aarch64"), available: .string("x86_64")),
                        Rejection(code: .insufficientCPU, needed: .int(4), available: .int(-2)),
                        Rejection(code: .telemetryStale, needed: .int(30_000), available: .int(9_000_000_000)),
                    ]),
                RejectedNode(
                    nodeID: "edge-01",
                    reasons: [
                        Rejection(code: .kvmMissing, needed: .bool(true), available: .bool(false)),
                        Rejection(code: .backendMissing, needed: .list(["qemu", "firecracker"]), available: .list([])),
                        Rejection(code: .labelMismatch, needed: .string("zone=z1"), available: .none),
                        Rejection(code: .labelMismatch, needed: .string("zone=z1"), available: .string("zone=z1")),
                    ]),
                RejectedNode(nodeID: "empty-reasons", reasons: []),
            ])
    }

    @Test("the last evidence may name any string of the table, however few bytes follow it")
    func lastEvidenceNamesALaterString() {
        let explanation = Explanation(
            evaluatedAtMs: 1,
            rankedNodes: [],
            rejectedNodes: [
                RejectedNode(
                    nodeID: "n2",
                    reasons: [Rejection(code: .nodeUnhealthy, needed: .string("healthy"), available: .string("lost"))])
            ])
        #expect(Explanation(storedBytes: explanation.storedBytes()) == explanation)
    }

    @Test("an explanation round-trips through its stored form, value for value")
    func roundTrip() throws {
        let explanation = Self.sample()
        let bytes = explanation.storedBytes()
        #expect(bytes.first == Explanation.binaryFormat)
        #expect(Explanation(storedBytes: bytes) == explanation)
        let empty = Explanation(evaluatedAtMs: 0, rankedNodes: [], rejectedNodes: [])
        #expect(Explanation(storedBytes: empty.storedBytes()) == empty)
    }

    @Test("rows written as JSON by earlier versions still read")
    func legacyJSON() throws {
        let explanation = Self.sample()
        #expect(Explanation(storedBytes: explanation.jsonBytes()) == explanation)
    }

    @Test("truncated, padded or corrupt bytes are refused, never trusted")
    func badBytes() throws {
        let bytes = Self.sample().storedBytes()
        #expect(Explanation(storedBytes: []) == nil)
        for length in 1..<bytes.count {
            #expect(Explanation(storedBytes: Array(bytes.prefix(length))) == nil)
        }
        #expect(Explanation(storedBytes: bytes + [0]) == nil)
        #expect(Explanation(storedBytes: Array("not json".utf8)) == nil)
        // A count far beyond what is left must not allocate or read past the end.
        var huge = [Explanation.binaryFormat, 0]
        huge += [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]
        #expect(Explanation(storedBytes: huge) == nil)
    }

    @Test("at fleet scale the stored form is a small fraction of the JSON")
    func compact() throws {
        var ranked: [RankedNode] = []
        var rejected: [RejectedNode] = []
        for i in 0..<10_000 {
            let id = "node-" + String(i)
            if i % 10 == 0 {
                ranked.append(
                    RankedNode(
                        nodeID: id,
                        components: ScoreComponents(
                            resourceFitMilli: i % 1000, spreadMilli: 1000, backendPreferenceMilli: 1000,
                            healthMilli: 1000)))
            } else {
                rejected.append(
                    RejectedNode(
                        nodeID: id,
                        reasons: [
                            Rejection(
                                code: .labelMismatch, needed: .string("zone=z1"), available: .string("zone=z\(i % 5)")),
                            Rejection(code: .insufficientMemory, needed: .int(8192), available: .int(Int64(i))),
                        ]))
            }
        }
        let explanation = Explanation(evaluatedAtMs: 1, rankedNodes: ranked, rejectedNodes: rejected)
        let stored = explanation.storedBytes()
        let json = explanation.jsonBytes()
        #expect(stored.count * 5 < json.count, "stored \(stored.count) bytes, JSON \(json.count)")
        #expect(Explanation(storedBytes: stored) == explanation)
    }
}
