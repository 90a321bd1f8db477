import Foundation
import Testing

@testable import BerthServer

/// The hand-written encodings on the write path: they must stay what a JSON parser and a UUID
/// parser accept, whatever the input.
@Suite("answer encoding")
struct AnswerEncodingTests {
    @Test("JSONObjectWriter escapes quotes, backslashes and control characters; JSON parsers read it back")
    func jsonEscaping() throws {
        let awkward = "a\"b\\c\nd\re\tf\u{01}g\u{1F}/é😀"
        var writer = JSONObjectWriter()
        writer.addNull("error")
        writer.add("job_id", awkward)
        writer.add("count", 42)
        writer.add("success", true)
        let bytes = writer.finish()
        let object = try #require(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(object["job_id"] as? String == awkward)
        #expect(object["count"] as? Int == 42)
        #expect(object["success"] as? Bool == true)
        #expect(object["error"] is NSNull)
        #expect(
            String(decoding: bytes, as: UTF8.self).hasPrefix(
                #"{"error":null,"job_id":"a\"b\\c\nd\re\tf\u0001g\u001f/é"#))
    }

    @Test("job ids are version 7 UUIDs that sort by their creation time")
    func jobIDs() throws {
        let id = JobID.make(nowMs: 0x0193_4F1A_2B3C, random: (0xFFFF_FFFF_FFFF_FFFF, 0))
        #expect(id == "01934f1a-2b3c-7fff-8000-000000000000")
        let parsed = try #require(UUID(uuidString: id))
        #expect(parsed.uuidString.lowercased() == id)
        var previous = ""
        for ms in stride(from: Int64(1_700_000_000_000), to: 1_700_000_100_000, by: 997) {
            let next = JobID.make(nowMs: ms)
            #expect(UUID(uuidString: next) != nil)
            #expect(next > previous)
            #expect(Array(next.utf8)[14] == UInt8(ascii: "7"))
            previous = next
        }
    }

    @Test("forwarded requests round-trip through the forward payload; truncated, padded or bad bytes are refused")
    func forwardPayload() throws {
        let requests: [ClientRequest] = [
            .createJob(
                jobID: "01934f1a-2b3c-7fff-8000-000000000001", command: "echo é😀", image: "python:3.12-alpine",
                backend: nil, maxConcurrentRuns: nil, idempotencyKey: "k-1", requestHash: .max),
            .createJob(
                jobID: "01934f1a-2b3c-7fff-8000-000000000001", command: "ls", image: nil, backend: nil,
                maxConcurrentRuns: nil, idempotencyKey: nil, requestHash: 1),
            .createJob(
                jobID: "01934f1a-2b3c-7fff-8000-000000000001", command: "ls", image: "/k", backend: "qemu",
                maxConcurrentRuns: 3, idempotencyKey: "k", requestHash: 2),
            .triggerJob(jobID: "j", idempotencyKey: "t", requestHash: 3),
            .setSchedulerPaused(paused: true, idempotencyKey: "p", requestHash: 4),
            .cancelJob(id: "01934f1a-2b3c-7fff-8000-000000000000", idempotencyKey: nil, requestHash: 0),
            .cancelJob(id: "x", idempotencyKey: "key", requestHash: 0x0102_0304_0506_0708),
            .transferLeadership(target: 3),
            .addMember(nodeID: 4, peerAddress: "127.0.0.1:8204", httpAddress: "[::1]:8104", incarnation: nil),
            .addMember(nodeID: 5, peerAddress: "127.0.0.1:8205", httpAddress: "h:1", incarnation: .max),
            .removeMember(nodeID: 2),
            .readIndex,
        ]
        for request in requests {
            let bytes = request.forwardPayload
            #expect(ClientRequest(forwardPayload: bytes) == request)
            for length in 0..<bytes.count {
                #expect(
                    ClientRequest(forwardPayload: Array(bytes.prefix(length))) == nil, "\(request) cut at \(length)")
            }
            #expect(ClientRequest(forwardPayload: bytes + [0]) == nil)
            // The older JSON form is still understood.
            #expect(ClientRequest(forwardPayload: Array(try JSONEncoder().encode(request))) == request)
        }
        #expect(ClientRequest(forwardPayload: [0x02, 6]) == nil, "unknown format")
        #expect(ClientRequest(forwardPayload: [0x01, 99]) == nil, "unknown kind")
        #expect(ClientRequest(forwardPayload: [0x01, 2, 0, 0, 0, 1, 0xFF, 0]) == nil, "not UTF-8")
        #expect(
            ClientRequest(forwardPayload: [0x01, 2, 0, 0, 0, 1, 0x61, 0, 0, 0, 0, 0, 0, 0, 0, 7])
                == .cancelJob(id: "a", idempotencyKey: nil, requestHash: 7))
    }

    @Test("a request's fingerprint covers method, path and body; a made-up key is unique")
    func fingerprint() {
        let base = RequestFingerprint.of(method: "POST", path: "/api/jobs", body: Array(#"{"command":"a"}"#.utf8))
        #expect(base == RequestFingerprint.of(method: "POST", path: "/api/jobs", body: Array(#"{"command":"a"}"#.utf8)))
        #expect(base != RequestFingerprint.of(method: "POST", path: "/api/jobs", body: Array(#"{"command":"b"}"#.utf8)))
        #expect(base != RequestFingerprint.of(method: "PUT", path: "/api/jobs", body: Array(#"{"command":"a"}"#.utf8)))
        #expect(base != RequestFingerprint.of(method: "POST", path: "/api/job", body: Array(#"s{"command":"a"}"#.utf8)))
        #expect(base != 0)
        #expect(RequestFingerprint.internalKey() != RequestFingerprint.internalKey())
    }

    @Test("a forwarded answer keeps status and body; 429 and 503 get Retry-After 1 as on the leader")
    func forwardedAnswer() {
        let body = Array(#"{"job_id":"a","status":"pending"}"#.utf8)
        #expect(ClientAnswer(forwardedStatus: 201, body: body) == ClientAnswer(status: 201, body: body))
        #expect(ClientAnswer(forwardedStatus: 429, body: []).retryAfterSeconds == 1)
        #expect(ClientAnswer(forwardedStatus: 503, body: []).retryAfterSeconds == 1)
        #expect(ClientAnswer(forwardedStatus: 504, body: []).retryAfterSeconds == nil)
    }
}
