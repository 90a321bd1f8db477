import BerthControlPlane
import Foundation

/// The binary form of a `StateCommand` in log entries.
///
/// Every write is encoded once by the leader and decoded by every node when it applies, so the
/// form is cheap on both ends (JSON cost a tenth of the leader's CPU per write). Layout, all
/// integers little-endian:
///
///     u8 format (0xB2)  u8 kind  fields…
///
/// with strings as `u32 length` + UTF-8, optional strings as `u8 0` (absent) or `u8 1` + string,
/// `Int64` as its 8-byte two's complement and `Bool` as `u8 0/1`. The fields of each kind follow
/// the order of its struct (`requestHash` as a u64 right after the idempotency key). The first
/// byte can never be `{`, so entries written in the older JSON form are still recognised and
/// read; so is format 0xB1, which had no request hash.
extension StateCommand {
    static let binaryFormat: UInt8 = 0xB2
    /// The format before idempotency keys were bound to their request.
    static let binaryFormatWithoutRequestHash: UInt8 = 0xB1

    enum BinaryKind: UInt8 {
        case createJob = 1
        case cancelJob = 2
        case startJob = 3
        case finishJob = 4
        case setMember = 5
        case noop = 6
        case recordEnvelope = 7
        case cordonNode = 8
        case executeLaunch = 9
        case reportLaunch = 10
        case terminateLaunch = 11
        case triggerJob = 12
        case setSchedulerPaused = 13
        /// A create with job options: the create's fields, then the optional backend and the
        /// limit as an Int64 (0: none).
        case createJobWithOptions = 14
        // Lost nodes, drains and orphans: numbered apart from the kinds above, so that kinds
        // added meanwhile on another branch do not take the same numbers.
        case markNodeLost = 40
        case moveLaunch = 41
        case drainNode = 42
        case reportOrphans = 43
        case sweepOrphans = 44
        /// A create with a plan (schedule, retries, dependencies): the fields of
        /// `createJobWithOptions`, then the plan as its canonical JSON.
        case createJobWithPlan = 15
        case fireJob = 16
        case retryJob = 17
    }

    /// The bytes to propose as an entry's command.
    public func encoded() -> [UInt8] {
        var writer = ByteWriter(reservingCapacity: 192)
        writer.write(Self.binaryFormat)
        switch self {
        case .createJob(let create):
            let withPlan = create.plan != nil
            let withOptions = withPlan || create.backend != nil || create.maxConcurrentRuns != nil
            writer.write(
                withPlan
                    ? BinaryKind.createJobWithPlan.rawValue
                    : withOptions ? BinaryKind.createJobWithOptions.rawValue : BinaryKind.createJob.rawValue)
            writer.write(create.id)
            writer.write(create.command)
            writer.write(optional: create.image)
            writer.write(create.createdAtMs)
            writer.write(optional: create.idempotencyKey)
            writer.write(create.requestHash)
            if withOptions {
                writer.write(optional: create.backend)
                writer.write(Int64(create.maxConcurrentRuns ?? 0))
            }
            if let plan = create.plan { writer.writeJSON(plan) }
        case .cancelJob(let cancel):
            writer.write(BinaryKind.cancelJob.rawValue)
            writer.write(cancel.id)
            writer.write(cancel.atMs)
            writer.write(optional: cancel.idempotencyKey)
            writer.write(cancel.requestHash)
        case .startJob(let start):
            writer.write(BinaryKind.startJob.rawValue)
            writer.write(start.id)
            writer.write(start.executedBy)
            writer.write(start.atMs)
        case .finishJob(let finish):
            writer.write(BinaryKind.finishJob.rawValue)
            writer.write(finish.id)
            writer.write(UInt8(finish.succeeded ? 1 : 0))
            writer.write(optional: finish.output)
            writer.write(optional: finish.error)
            writer.write(finish.atMs)
        case .setMember(let member):
            writer.write(BinaryKind.setMember.rawValue)
            writer.write(Int64(bitPattern: member.nodeID))
            writer.write(member.peerAddress)
            writer.write(member.httpAddress)
        case .noop:
            writer.write(BinaryKind.noop.rawValue)
        case .recordEnvelope(let record):
            // The envelope as its canonical JSON: an envelope is written once per agent push,
            // not per client write, and its shape grows with the agent; the JSON form follows.
            writer.write(BinaryKind.recordEnvelope.rawValue)
            writer.writeJSONBytes(record.envelope.jsonBytes())
            writer.write(record.receivedAtMs)
            writer.write(optional: record.idempotencyKey)
            writer.write(record.requestHash)
        case .cordonNode(let cordon):
            writer.write(BinaryKind.cordonNode.rawValue)
            writer.write(cordon.nodeID)
            writer.write(UInt8(cordon.cordoned ? 1 : 0))
            writer.write(UInt8(cordon.draining ? 1 : 0))
            writer.write(cordon.atMs)
            writer.write(optional: cordon.idempotencyKey)
            writer.write(cordon.requestHash)
        case .executeLaunch(let body):
            // The launch commands travel as their canonical JSON: one per launch or agent
            // report, not per client write, and their shapes are still growing.
            writer.write(BinaryKind.executeLaunch.rawValue)
            writer.writeJSON(body)
        case .reportLaunch(let body):
            writer.write(BinaryKind.reportLaunch.rawValue)
            writer.writeJSON(body)
        case .terminateLaunch(let body):
            writer.write(BinaryKind.terminateLaunch.rawValue)
            writer.writeJSON(body)
        case .triggerJob(let body):
            writer.write(BinaryKind.triggerJob.rawValue)
            writer.writeJSON(body)
        case .setSchedulerPaused(let body):
            writer.write(BinaryKind.setSchedulerPaused.rawValue)
            writer.writeJSON(body)
        case .markNodeLost(let body):
            writer.write(BinaryKind.markNodeLost.rawValue)
            writer.writeJSON(body)
        case .moveLaunch(let body):
            writer.write(BinaryKind.moveLaunch.rawValue)
            writer.writeJSON(body)
        case .drainNode(let body):
            writer.write(BinaryKind.drainNode.rawValue)
            writer.writeJSON(body)
        case .reportOrphans(let body):
            writer.write(BinaryKind.reportOrphans.rawValue)
            writer.writeJSON(body)
        case .sweepOrphans(let body):
            writer.write(BinaryKind.sweepOrphans.rawValue)
            writer.writeJSON(body)
        case .fireJob(let body):
            writer.write(BinaryKind.fireJob.rawValue)
            writer.writeJSON(body)
        case .retryJob(let body):
            writer.write(BinaryKind.retryJob.rawValue)
            writer.writeJSON(body)
        }
        return writer.bytes
    }

    /// Decodes a committed entry's command bytes (binary, or the older JSON form); nil when they
    /// are not a `StateCommand` — truncated, trailing bytes, unknown kind or invalid UTF-8.
    public init?(encoded bytes: [UInt8]) {
        guard let first = bytes.first else { return nil }
        if first == UInt8(ascii: "{") {
            self.init(json: bytes)
            return
        }
        guard first == Self.binaryFormat || first == Self.binaryFormatWithoutRequestHash else { return nil }
        var reader = ByteReader(bytes[1...])
        guard let kind = reader.readUInt8().flatMap(BinaryKind.init(rawValue:)),
            let command = Self.decodeBody(kind, hasRequestHash: first == Self.binaryFormat, from: &reader),
            reader.remaining == 0
        else { return nil }
        self = command
    }

    private static func decodeBody(_ kind: BinaryKind, hasRequestHash: Bool, from reader: inout ByteReader)
        -> StateCommand?
    {
        func requestHash() -> UInt64? { hasRequestHash ? reader.readUInt64() : 0 }
        switch kind {
        case .createJob, .createJobWithOptions, .createJobWithPlan:
            guard let id = reader.readString(), let command = reader.readString(),
                let image = reader.readOptionalString(),
                let createdAtMs = reader.readInt64(), let key = reader.readOptionalString(), let hash = requestHash()
            else { return nil }
            var backend: String?
            var maxConcurrentRuns: Int?
            var plan: JobPlan?
            if kind != .createJob {
                guard let readBackend = reader.readOptionalString(), let limit = reader.readInt64() else { return nil }
                backend = readBackend
                maxConcurrentRuns = limit > 0 ? Int(limit) : nil
            }
            if kind == .createJobWithPlan {
                guard let readPlan = reader.readJSON(JobPlan.self) else { return nil }
                plan = readPlan
            }
            return .createJob(
                CreateJob(
                    id: id, command: command, image: image, backend: backend, maxConcurrentRuns: maxConcurrentRuns,
                    plan: plan, createdAtMs: createdAtMs, idempotencyKey: key, requestHash: hash))
        case .cancelJob:
            guard let id = reader.readString(), let atMs = reader.readInt64(), let key = reader.readOptionalString(),
                let hash = requestHash()
            else {
                return nil
            }
            return .cancelJob(CancelJob(id: id, atMs: atMs, idempotencyKey: key, requestHash: hash))
        case .startJob:
            guard let id = reader.readString(), let executedBy = reader.readString(), let atMs = reader.readInt64()
            else {
                return nil
            }
            return .startJob(StartJob(id: id, executedBy: executedBy, atMs: atMs))
        case .finishJob:
            guard let id = reader.readString(), let succeeded = reader.readBool(),
                let output = reader.readOptionalString(),
                let error = reader.readOptionalString(), let atMs = reader.readInt64()
            else { return nil }
            return .finishJob(FinishJob(id: id, succeeded: succeeded, output: output, error: error, atMs: atMs))
        case .setMember:
            guard let nodeID = reader.readInt64(), let peer = reader.readString(), let http = reader.readString() else {
                return nil
            }
            return .setMember(MemberRecord(nodeID: UInt64(bitPattern: nodeID), peerAddress: peer, httpAddress: http))
        case .noop:
            return .noop
        case .recordEnvelope:
            guard let envelope = reader.readDocument(SchedulerEnvelope.self), let receivedAtMs = reader.readInt64(),
                let key = reader.readOptionalString(), let hash = requestHash()
            else { return nil }
            return .recordEnvelope(
                RecordEnvelope(envelope: envelope, receivedAtMs: receivedAtMs, idempotencyKey: key, requestHash: hash))
        case .cordonNode:
            guard let nodeID = reader.readString(), let cordoned = reader.readBool(), let draining = reader.readBool(),
                let atMs = reader.readInt64(), let key = reader.readOptionalString(), let hash = requestHash()
            else { return nil }
            return .cordonNode(
                CordonNode(
                    nodeID: nodeID, cordoned: cordoned, draining: draining, atMs: atMs, idempotencyKey: key,
                    requestHash: hash))
        case .executeLaunch: return reader.readJSON(ExecuteLaunch.self).map { .executeLaunch($0) }
        case .reportLaunch: return reader.readJSON(ReportLaunch.self).map { .reportLaunch($0) }
        case .terminateLaunch: return reader.readJSON(TerminateLaunch.self).map { .terminateLaunch($0) }
        case .triggerJob: return reader.readJSON(TriggerJob.self).map { .triggerJob($0) }
        case .setSchedulerPaused: return reader.readJSON(SetSchedulerPaused.self).map { .setSchedulerPaused($0) }
        case .markNodeLost: return reader.readJSON(MarkNodeLost.self).map { .markNodeLost($0) }
        case .moveLaunch: return reader.readJSON(MoveLaunch.self).map { .moveLaunch($0) }
        case .drainNode: return reader.readJSON(DrainNode.self).map { .drainNode($0) }
        case .reportOrphans: return reader.readJSON(ReportOrphans.self).map { .reportOrphans($0) }
        case .sweepOrphans: return reader.readJSON(SweepOrphans.self).map { .sweepOrphans($0) }
        case .fireJob: return reader.readJSON(FireJob.self).map { .fireJob($0) }
        case .retryJob: return reader.readJSON(RetryJob.self).map { .retryJob($0) }
        }
    }

    /// Sorted keys, so the same value always gives the same bytes.
    public static func canonicalJSON(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // The control plane's values encode plain strings, integers and booleans: cannot fail.
        return Array(try! encoder.encode(value))
    }
}

extension ByteWriter {
    /// A value as a string field holding its canonical JSON (`readJSON` reads it back).
    mutating func writeJSON(_ value: some Encodable) {
        write(String(decoding: StateCommand.canonicalJSON(value), as: UTF8.self))
    }

    /// JSON a value wrote itself (`jsonBytes()`), as the same string field `writeJSON` writes.
    mutating func writeJSONBytes(_ json: [UInt8]) {
        write(UInt32(json.count))
        write(json)
    }
}

extension ByteReader {
    /// A string field holding a JSON-encoded value; nil when either does not decode.
    mutating func readJSON<T: Decodable>(_ type: T.Type) -> T? {
        readString().flatMap { try? JSONDecoder().decode(T.self, from: Data($0.utf8)) }
    }

    /// A string field holding a document the API validates, read with the API's own parser:
    /// every member decodes every envelope at apply, and through `Decodable` that was an eighth
    /// of a leader's time during intake (it builds the same `JSONValue`, slowly).
    mutating func readDocument<T: ValidatedDocument>(_ type: T.Type) -> T? {
        readString().flatMap { try? T.parse(json: $0.utf8) }
    }
}
