import BerthControlPlane
import Foundation
import Testing

/// Hostile or broken bodies are answered with problems, never a trap: thousands of seeded
/// mutations of valid documents (flipped, dropped, inserted and truncated bytes) go through
/// every validating reader.
@Suite struct MalformedInputTests {
    static let documents: [[UInt8]] = [
        JSON.bytes(SchedulerEnvelopeValidationTests.valid()),
        JSON.bytes(WorkloadIntentValidationTests.valid()),
        JSON.bytes(LaunchSpecTests.valid()),
        Array(
            #"{"name":"j","arch":"any","vcpus":1,"memory_mib":1,"command":["/bin/true","-x"],"labels":{"a":"b"}}"#.utf8),
    ]

    static func mutate(_ bytes: [UInt8], _ random: inout SplitMix) -> [UInt8] {
        var bytes = bytes
        let interesting: [UInt8] = Array("{}[]\",:-.0123456789eEtfn\\u \u{7f}".utf8) + [0x00, 0x80, 0xC3, 0xFF]
        for _ in 0..<(1 + random.next(4)) {
            guard !bytes.isEmpty else { break }
            let at = random.next(bytes.count)
            switch random.next(4) {
            case 0: bytes[at] = interesting[random.next(interesting.count)]
            case 1: bytes.remove(at: at)
            case 2: bytes.insert(interesting[random.next(interesting.count)], at: at)
            default: bytes.removeSubrange(at...)
            }
        }
        return bytes
    }

    @Test("mutated documents are read or refused with problems, never a crash")
    func mutations() {
        var random = SplitMix(seed: 2024)
        var refused = 0
        for round in 0..<4_000 {
            let bytes = Self.mutate(Self.documents[round % Self.documents.count], &random)
            for reader in [readEnvelope, readIntent, readSpec] where !reader(bytes) { refused += 1 }
        }
        #expect(refused > 0)
    }

    func readEnvelope(_ bytes: [UInt8]) -> Bool {
        do {
            _ = try SchedulerEnvelope.parse(json: bytes)
            return true
        } catch {
            #expect(!error.problems.isEmpty)
            return false
        }
    }

    func readIntent(_ bytes: [UInt8]) -> Bool {
        do {
            _ = try WorkloadIntent.parse(json: bytes)
            return true
        } catch {
            #expect(!error.problems.isEmpty)
            return false
        }
    }

    func readSpec(_ bytes: [UInt8]) -> Bool {
        do {
            _ = try LaunchSpec.parse(json: bytes)
            return true
        } catch {
            #expect(!error.problems.isEmpty)
            return false
        }
    }

    @Test("a value of the wrong type in any field is a problem")
    func wrongTypes() {
        let wrong: [Any] = [NSNull(), true, -1, 2.5, "x", [1], ["k": "v"]]
        for (name, valid) in [
            ("envelope", SchedulerEnvelopeValidationTests.valid()), ("intent", WorkloadIntentValidationTests.valid()),
        ] {
            for key in valid.keys {
                for value in wrong {
                    var document = valid
                    document[key] = value
                    let reported =
                        name == "envelope"
                        ? problems(SchedulerEnvelope.self, document) : problems(WorkloadIntent.self, document)
                    // Only a string in a string field ("x" is a fine node id) and a map of strings
                    // in `labels` can be right; every other replacement breaks a type, a range or
                    // a required member.
                    let acceptable =
                        (value is String && valid[key] is String) || (key == "labels" && value is [String: String])
                    if !acceptable {
                        #expect(!reported.isEmpty, "\(name).\(key) = \(value)")
                    }
                }
            }
        }
        #expect(problems(SchedulerEnvelope.self, ["node_id": ["nested": [[[["deep": 1]]]]]]).count == 11)
    }
}
