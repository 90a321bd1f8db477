import BerthControlPlane
import Foundation
import Testing

/// Envelope intake: every problem is reported, typed, with its field; nothing traps.
@Suite struct SchedulerEnvelopeValidationTests {
    static func valid() -> [String: Any] {
        [
            "node_id": "arm-01", "sequence": 7, "observed_at": "2025-06-02T09:30:00.250Z", "arch": "aarch64",
            "cpus": ["total": 32, "allocatable": 30], "memory_mib": ["total": 65_536, "allocatable": 61_440],
            "kvm": ["present": true, "usable": true], "kernel": "6.8.0-1021-aws",
            "backends": [
                ["kind": "qemu", "binary": "/usr/bin/qemu-system-aarch64", "version": "8.2.2"],
                ["kind": "process", "binary": "/usr/local/bin/berth", "version": ""],
            ],
            "labels": ["env": "prod", "example.com/zone": "a"], "health": "degraded",
        ]
    }

    /// The problems of the valid document with `change` applied.
    func problems(_ change: (inout [String: Any]) -> Void) -> [String] {
        var document = Self.valid()
        change(&document)
        return fieldsAndCodes(BerthControlPlaneTests.problems(SchedulerEnvelope.self, document))
    }

    @Test("a valid envelope reads into exactly its values")
    func validEnvelope() throws {
        let envelope = try SchedulerEnvelope.parse(json: JSON.bytes(Self.valid()))
        #expect(
            envelope
                == SchedulerEnvelope(
                    nodeID: "arm-01", sequence: 7,
                    observedAtMs: RFC3339.milliseconds(from: "2025-06-02T09:30:00.250Z")!,
                    arch: .aarch64, cpus: ResourceCapacity(total: 32, allocatable: 30),
                    memoryMiB: ResourceCapacity(total: 65_536, allocatable: 61_440),
                    kvm: KVMStatus(present: true, usable: true),
                    kernel: "6.8.0-1021-aws",
                    backends: [
                        InstalledBackend(kind: .qemu, binary: "/usr/bin/qemu-system-aarch64", version: "8.2.2"),
                        InstalledBackend(kind: .process, binary: "/usr/local/bin/berth", version: ""),
                    ],
                    labels: ["env": "prod", "example.com/zone": "a"], health: .degraded))
        #expect(envelope.validationProblems().isEmpty)
    }

    @Test("an empty object reports every required field missing, in document order")
    func everyFieldMissing() {
        let reported = fieldsAndCodes(BerthControlPlaneTests.problems(SchedulerEnvelope.self, [String: Any]()))
        #expect(
            reported == [
                "node_id MISSING_FIELD", "sequence MISSING_FIELD", "observed_at MISSING_FIELD", "arch MISSING_FIELD",
                "cpus MISSING_FIELD", "memory_mib MISSING_FIELD", "kvm MISSING_FIELD", "kernel MISSING_FIELD",
                "backends MISSING_FIELD", "labels MISSING_FIELD", "health MISSING_FIELD",
            ])
    }

    @Test("null counts as missing")
    func nullIsMissing() {
        #expect(problems { $0["kernel"] = NSNull() } == ["kernel MISSING_FIELD"])
    }

    @Test("not JSON, or not an object, is one problem for the whole document")
    func notAnObject() throws {
        #expect(throws: ValidationFailure.self) { try SchedulerEnvelope.parse(json: Array("{\"node_id\":".utf8)) }
        do {
            _ = try SchedulerEnvelope.parse(json: Array("{\"node_id\": }".utf8))
        } catch {
            #expect(error.problems.map(\.code) == [.invalidJSON])
            #expect(error.problems[0].message.contains("byte 12"))
        }
        #expect(fieldsAndCodes(BerthControlPlaneTests.problems(SchedulerEnvelope.self, [1, 2])) == [" INVALID_TYPE"])
    }

    @Test("node_id: empty, too long, bad characters, wrong type; 63 bytes is fine")
    func nodeID() {
        #expect(problems { $0["node_id"] = "" } == ["node_id INVALID_FORMAT"])
        #expect(problems { $0["node_id"] = String(repeating: "a", count: 64) } == ["node_id TOO_LONG"])
        #expect(problems { $0["node_id"] = "arm 01" } == ["node_id INVALID_FORMAT"])
        #expect(problems { $0["node_id"] = "arm/01" } == ["node_id INVALID_FORMAT"])
        #expect(problems { $0["node_id"] = 17 } == ["node_id INVALID_TYPE"])
        #expect(problems { $0["node_id"] = String(repeating: "a", count: 63) } == [])
        #expect(problems { $0["node_id"] = "A.b_c-9" } == [])
    }

    @Test("sequence: at least 1, an integer, within 64 bits; an integral 4.0 counts as 4")
    func sequence() {
        #expect(problems { $0["sequence"] = 0 } == ["sequence OUT_OF_RANGE"])
        #expect(problems { $0["sequence"] = -5 } == ["sequence OUT_OF_RANGE"])
        #expect(problems { $0["sequence"] = 1.5 } == ["sequence INVALID_TYPE"])
        #expect(problems { $0["sequence"] = "7" } == ["sequence INVALID_TYPE"])
        #expect(problems { $0["sequence"] = true } == ["sequence INVALID_TYPE"])
        #expect(problems { $0["sequence"] = 1e30 } == ["sequence OUT_OF_RANGE"])
        #expect(problems { $0["sequence"] = 1 } == [])
        let body = Array(#"{"x": 4.0}"#.utf8)
        #expect(try! JSONParser.parse(body) == .object(["x": .number(4)]))
        var document = Self.valid()
        document["sequence"] = 4.0
        #expect(try! SchedulerEnvelope.parse(json: JSON.bytes(document)).sequence == 4)
    }

    @Test("a sequence beyond 2^63 − 1 is out of range, not a crash")
    func hugeSequence() throws {
        var text = String(decoding: JSON.bytes(Self.valid()), as: UTF8.self)
        text = text.replacingOccurrences(of: "\"sequence\":7", with: "\"sequence\":18446744073709551615")
        do {
            _ = try SchedulerEnvelope.parse(json: Array(text.utf8))
            Issue.record("accepted")
        } catch {
            #expect(fieldsAndCodes(error.problems) == ["sequence OUT_OF_RANGE"])
        }
    }

    @Test("observed_at must be an RFC 3339 date-time that exists")
    func observedAt() {
        #expect(problems { $0["observed_at"] = "yesterday" } == ["observed_at INVALID_FORMAT"])
        #expect(problems { $0["observed_at"] = "2025-02-29T00:00:00Z" } == ["observed_at INVALID_FORMAT"])
        #expect(problems { $0["observed_at"] = "2025-06-02 09:30:00" } == ["observed_at INVALID_FORMAT"])
        #expect(problems { $0["observed_at"] = 1_749_000_000 } == ["observed_at INVALID_TYPE"])
        #expect(problems { $0["observed_at"] = "2024-02-29T23:59:59+02:00" } == [])
    }

    @Test("arch and health take only their listed values")
    func enums() {
        #expect(problems { $0["arch"] = "riscv64" } == ["arch UNKNOWN_VALUE"])
        #expect(problems { $0["arch"] = "AARCH64" } == ["arch UNKNOWN_VALUE"])
        #expect(problems { $0["health"] = "sick" } == ["health UNKNOWN_VALUE"])
        let message = BerthControlPlaneTests.problems(
            SchedulerEnvelope.self, Self.valid().merging(["arch": "riscv64"]) { $1 })[0].message
        #expect(message == "must be one of x86_64, aarch64; got \"riscv64\"")
    }

    @Test("cpus: total 1...4096, allocatable 0...total")
    func cpus() {
        #expect(problems { $0["cpus"] = ["total": 0, "allocatable": 0] } == ["cpus.total OUT_OF_RANGE"])
        #expect(problems { $0["cpus"] = ["total": 4097, "allocatable": 1] } == ["cpus.total OUT_OF_RANGE"])
        #expect(problems { $0["cpus"] = ["total": 4096, "allocatable": 4096] } == [])
        #expect(problems { $0["cpus"] = ["total": 8, "allocatable": -1] } == ["cpus.allocatable OUT_OF_RANGE"])
        #expect(problems { $0["cpus"] = ["total": 8, "allocatable": 9] } == ["cpus.allocatable INCONSISTENT"])
        #expect(problems { $0["cpus"] = ["total": 8, "allocatable": 0] } == [])
        #expect(problems { $0["cpus"] = ["total": 8] } == ["cpus.allocatable MISSING_FIELD"])
        #expect(problems { $0["cpus"] = ["total": 8, "allocatable": 2.5] } == ["cpus.allocatable INVALID_TYPE"])
        #expect(problems { $0["cpus"] = 8 } == ["cpus INVALID_TYPE"])
        // A bad total does not also make the allocatable look inconsistent.
        #expect(problems { $0["cpus"] = ["total": "8", "allocatable": 9] } == ["cpus.total INVALID_TYPE"])
    }

    @Test("memory_mib: total 1...16 TiB, allocatable 0...total")
    func memory() {
        #expect(
            problems { $0["memory_mib"] = ["total": 16_777_217, "allocatable": 1] } == ["memory_mib.total OUT_OF_RANGE"]
        )
        #expect(problems { $0["memory_mib"] = ["total": 16_777_216, "allocatable": 16_777_216] } == [])
        #expect(
            problems { $0["memory_mib"] = ["total": 1024, "allocatable": 1025] } == [
                "memory_mib.allocatable INCONSISTENT"
            ])
        #expect(problems { $0["memory_mib"] = ["total": -1, "allocatable": 0] } == ["memory_mib.total OUT_OF_RANGE"])
    }

    @Test("kvm: booleans, and usable requires present")
    func kvm() {
        #expect(problems { $0["kvm"] = ["present": false, "usable": true] } == ["kvm.usable INCONSISTENT"])
        #expect(problems { $0["kvm"] = ["present": true, "usable": false] } == [])
        #expect(problems { $0["kvm"] = ["present": "yes", "usable": false] } == ["kvm.present INVALID_TYPE"])
        #expect(
            problems { $0["kvm"] = ["present": 1, "usable": 0] } == [
                "kvm.present INVALID_TYPE", "kvm.usable INVALID_TYPE",
            ])
    }

    @Test("kernel: 1 to 256 bytes")
    func kernel() {
        #expect(problems { $0["kernel"] = String(repeating: "k", count: 257) } == ["kernel TOO_LONG"])
        #expect(problems { $0["kernel"] = String(repeating: "k", count: 256) } == [])
        #expect(problems { $0["kernel"] = "" } == ["kernel INVALID_FORMAT"])
    }

    @Test("backends: at most 16, each with a known kind, a binary and a short version")
    func backends() {
        let qemu: [String: Any] = ["kind": "qemu", "binary": "/usr/bin/qemu", "version": "8.2.2"]
        #expect(problems { $0["backends"] = Array(repeating: qemu, count: 17) } == ["backends TOO_MANY"])
        #expect(problems { $0["backends"] = Array(repeating: qemu, count: 16) } == [])
        #expect(problems { $0["backends"] = [] } == [])
        #expect(
            problems { $0["backends"] = [qemu, ["kind": "docker", "binary": "/usr/bin/docker", "version": "1"]] }
                == ["backends[1].kind UNKNOWN_VALUE"])
        #expect(
            problems { $0["backends"] = [["kind": "qemu", "binary": "", "version": "1"]] } == [
                "backends[0].binary INVALID_FORMAT"
            ])
        #expect(
            problems {
                $0["backends"] = [["kind": "qemu", "binary": String(repeating: "b", count: 4097), "version": "1"]]
            }
                == ["backends[0].binary TOO_LONG"])
        #expect(
            problems {
                $0["backends"] = [["kind": "qemu", "binary": "/q", "version": String(repeating: "9", count: 65)]]
            }
                == ["backends[0].version TOO_LONG"])
        #expect(
            problems { $0["backends"] = [["kind": "qemu", "binary": "/q"]] } == ["backends[0].version MISSING_FIELD"])
        #expect(problems { $0["backends"] = ["qemu"] } == ["backends[0] INVALID_TYPE"])
        #expect(problems { $0["backends"] = ["kind": "qemu"] } == ["backends INVALID_TYPE"])
    }

    @Test("labels: at most 64, keys of [A-Za-z0-9._/-] up to 63 bytes, string values up to 256")
    func labels() {
        let many = Dictionary(uniqueKeysWithValues: (0..<65).map { ("k\($0)", "v") })
        #expect(problems { $0["labels"] = many } == ["labels TOO_MANY"])
        #expect(problems { $0["labels"] = Dictionary(uniqueKeysWithValues: (0..<64).map { ("k\($0)", "v") }) } == [])
        #expect(problems { $0["labels"] = ["bad key": "v"] } == [#"labels["bad key"] INVALID_FORMAT"#])
        #expect(problems { $0["labels"] = ["": "v"] } == [#"labels[""] INVALID_FORMAT"#])
        #expect(
            problems { $0["labels"] = [String(repeating: "k", count: 64): "v"] } == [
                "labels.\(String(repeating: "k", count: 64)) TOO_LONG"
            ])
        #expect(problems { $0["labels"] = ["zone": String(repeating: "v", count: 257)] } == ["labels.zone TOO_LONG"])
        #expect(problems { $0["labels"] = ["zone": String(repeating: "v", count: 256)] } == [])
        #expect(problems { $0["labels"] = ["zone": ""] } == [])
        #expect(problems { $0["labels"] = ["zone": 3] } == ["labels.zone INVALID_TYPE"])
        #expect(problems { $0["labels"] = ["b": 1, "a": 2] } == ["labels.a INVALID_TYPE", "labels.b INVALID_TYPE"])
    }

    @Test("every problem in one document is reported, not only the first")
    func everyProblemAtOnce() {
        let reported = problems {
            $0["node_id"] = ""
            $0["arch"] = "sparc"
            $0["cpus"] = ["total": 8, "allocatable": 16]
            $0["kvm"] = ["present": false, "usable": true]
            $0["backends"] = [["kind": "vmware", "binary": "/x", "version": "1"]]
            $0["health"] = 3
        }
        #expect(
            reported == [
                "node_id INVALID_FORMAT", "arch UNKNOWN_VALUE", "cpus.allocatable INCONSISTENT",
                "kvm.usable INCONSISTENT",
                "backends[0].kind UNKNOWN_VALUE", "health INVALID_TYPE",
            ])
    }

    @Test("unknown members are ignored: a newer agent's extra field must not lose its node")
    func unknownMembersIgnored() {
        #expect(problems { $0["gpu"] = ["count": 2] } == [])
    }

    @Test("Decodable goes through the same checks")
    func decodableValidates() throws {
        var document = Self.valid()
        document["cpus"] = ["total": 8, "allocatable": 9]
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(SchedulerEnvelope.self, from: Data(JSON.bytes(document)))
        }
        let decoded = try JSONDecoder().decode(SchedulerEnvelope.self, from: Data(JSON.bytes(Self.valid())))
        #expect(decoded == (try SchedulerEnvelope.parse(json: JSON.bytes(Self.valid()))))
    }

    @Test("a value built in code is checked by validationProblems()")
    func builtInCode() {
        var envelope = Build.envelope("ok")
        envelope.cpus = ResourceCapacity(total: 4, allocatable: 8)
        envelope.nodeID = "not ok"
        #expect(
            fieldsAndCodes(envelope.validationProblems()) == [
                "node_id INVALID_FORMAT", "cpus.allocatable INCONSISTENT",
            ])
    }
}
