import BerthControlPlane
import Foundation

/// The binary form of a `CommandOutcome`, stored as the first answer of an idempotency key.
/// Every write carries a key, so every apply on every node stores one: JSON (a tenth of the
/// leader's CPU per write when measured) is too slow for that. Layout, little-endian, with the
/// string, optional and integer conventions of `StateCommand+Binary.swift`:
///
///     u8 format (0xC1)  u8 kind  fields…
///
/// A blob that starts with `{` is the older JSON form and is still read.
extension CommandOutcome {
    static let binaryFormat: UInt8 = 0xC1

    private enum Kind: UInt8 {
        case jobCreated = 1
        case jobCancelled, jobUpdated, rejected, memberRecorded, noop, nodeRecorded, nodeCordoned, launchCreated,
            launchUpdated, jobTriggered, schedulerChanged, jobFired, fireIgnored
        // Numbered apart, so that kinds another branch adds after `schedulerChanged` do not collide.
        case orphansChanged = 40
    }

    private enum RejectionKind: UInt8 {
        case jobNotFound = 1
        case jobAlreadyExists, jobAlreadyTerminal, illegalTransition, malformedCommand,
            idempotencyKeyReused, staleSequence, nodeNotFound
        /// Every later rejection, as its JSON form.
        case json
    }

    /// The bytes stored for this outcome.
    public func encoded() -> [UInt8] {
        var writer = ByteWriter(reservingCapacity: 160)
        writer.write(Self.binaryFormat)
        switch self {
        case .jobCreated(let job):
            writer.write(Kind.jobCreated.rawValue)
            writer.write(job)
        case .jobCancelled(let job):
            writer.write(Kind.jobCancelled.rawValue)
            writer.write(job)
        case .jobUpdated(let job):
            writer.write(Kind.jobUpdated.rawValue)
            writer.write(job)
        case .rejected(let rejection):
            writer.write(Kind.rejected.rawValue)
            switch rejection {
            case .jobNotFound(let id):
                writer.write(RejectionKind.jobNotFound.rawValue)
                writer.write(id)
            case .jobAlreadyExists(let id):
                writer.write(RejectionKind.jobAlreadyExists.rawValue)
                writer.write(id)
            case .jobAlreadyTerminal(let id, let status):
                writer.write(RejectionKind.jobAlreadyTerminal.rawValue)
                writer.write(id)
                writer.write(status.rawValue)
            case .illegalTransition(let id, let from, let to):
                writer.write(RejectionKind.illegalTransition.rawValue)
                writer.write(id)
                writer.write(from.rawValue)
                writer.write(to.rawValue)
            case .malformedCommand:
                writer.write(RejectionKind.malformedCommand.rawValue)
            case .idempotencyKeyReused(let key):
                writer.write(RejectionKind.idempotencyKeyReused.rawValue)
                writer.write(key)
            case .staleSequence(let nodeID, let stored, let offered):
                writer.write(RejectionKind.staleSequence.rawValue)
                writer.write(nodeID)
                writer.write(stored)
                writer.write(offered)
            case .nodeNotFound(let id):
                writer.write(RejectionKind.nodeNotFound.rawValue)
                writer.write(id)
            case .launchNotFound, .launchExists, .planStale, .placementStale, .noEligibleNode,
                .launchTransitionRefused, .launchNotOnNode, .tooManyRuns, .schedulerPaused, .dependencyNotSatisfied:
                writer.write(RejectionKind.json.rawValue)
                writer.writeJSON(rejection)
            }
        case .memberRecorded(let member):
            writer.write(Kind.memberRecorded.rawValue)
            writer.write(Int64(bitPattern: member.nodeID))
            writer.write(member.peerAddress)
            writer.write(member.httpAddress)
        case .noop:
            writer.write(Kind.noop.rawValue)
        case .nodeRecorded(let truth):
            writer.write(Kind.nodeRecorded.rawValue)
            writer.writeJSONBytes(truth.jsonBytes())
        case .nodeCordoned(let truth):
            writer.write(Kind.nodeCordoned.rawValue)
            writer.writeJSONBytes(truth.jsonBytes())
        case .launchCreated(let record):
            writer.write(Kind.launchCreated.rawValue)
            writer.writeJSON(record)
        case .launchUpdated(let record):
            writer.write(Kind.launchUpdated.rawValue)
            writer.writeJSON(record)
        case .jobTriggered(let job, let runID):
            writer.write(Kind.jobTriggered.rawValue)
            writer.writeJSON(job)
            writer.write(runID)
        case .schedulerChanged(let state):
            writer.write(Kind.schedulerChanged.rawValue)
            writer.writeJSON(state)
        case .orphansChanged(let truth):
            writer.write(Kind.orphansChanged.rawValue)
            writer.writeJSONBytes(truth.jsonBytes())
        case .jobFired(let fire):
            writer.write(Kind.jobFired.rawValue)
            writer.writeJSON(fire)
        case .fireIgnored(let reason):
            writer.write(Kind.fireIgnored.rawValue)
            writer.write(reason.rawValue)
        }
        return writer.bytes
    }

    /// Decodes stored bytes (binary, or the older JSON form); nil when they are not an outcome.
    public init?(encoded bytes: [UInt8]) {
        guard let first = bytes.first else { return nil }
        if first == UInt8(ascii: "{") {
            guard let outcome = try? JSONDecoder().decode(CommandOutcome.self, from: Data(bytes)) else { return nil }
            self = outcome
            return
        }
        guard first == Self.binaryFormat else { return nil }
        var reader = ByteReader(bytes[1...])
        guard let kind = reader.readUInt8().flatMap(Kind.init(rawValue:)),
            let outcome = Self.decodeBody(kind, from: &reader), reader.remaining == 0
        else { return nil }
        self = outcome
    }

    private static func decodeBody(_ kind: Kind, from reader: inout ByteReader) -> CommandOutcome? {
        switch kind {
        case .jobCreated: return reader.readJob().map { .jobCreated(job: $0) }
        case .jobCancelled: return reader.readJob().map { .jobCancelled(job: $0) }
        case .jobUpdated: return reader.readJob().map { .jobUpdated(job: $0) }
        case .rejected:
            guard let rejectionKind = reader.readUInt8().flatMap(RejectionKind.init(rawValue:)) else { return nil }
            func status() -> JobStatus? { reader.readString().flatMap(JobStatus.init(rawValue:)) }
            switch rejectionKind {
            case .jobNotFound: return reader.readString().map { .rejected(.jobNotFound(id: $0)) }
            case .jobAlreadyExists: return reader.readString().map { .rejected(.jobAlreadyExists(id: $0)) }
            case .jobAlreadyTerminal:
                guard let id = reader.readString(), let status = status() else { return nil }
                return .rejected(.jobAlreadyTerminal(id: id, status: status))
            case .illegalTransition:
                guard let id = reader.readString(), let from = status(), let to = status() else { return nil }
                return .rejected(.illegalTransition(id: id, from: from, to: to))
            case .malformedCommand: return .rejected(.malformedCommand)
            case .idempotencyKeyReused: return reader.readString().map { .rejected(.idempotencyKeyReused(key: $0)) }
            case .staleSequence:
                guard let nodeID = reader.readString(), let stored = reader.readUInt64(),
                    let offered = reader.readUInt64()
                else { return nil }
                return .rejected(.staleSequence(nodeID: nodeID, stored: stored, offered: offered))
            case .nodeNotFound: return reader.readString().map { .rejected(.nodeNotFound(id: $0)) }
            case .json: return reader.readJSON(CommandRejection.self).map { .rejected($0) }
            }
        case .memberRecorded:
            guard let node = reader.readInt64(), let peer = reader.readString(), let http = reader.readString() else {
                return nil
            }
            return .memberRecorded(
                member: MemberRecord(nodeID: UInt64(bitPattern: node), peerAddress: peer, httpAddress: http))
        case .noop:
            return .noop
        case .nodeRecorded: return reader.readJSON(NodeTruth.self).map { .nodeRecorded(truth: $0) }
        case .nodeCordoned: return reader.readJSON(NodeTruth.self).map { .nodeCordoned(truth: $0) }
        case .launchCreated: return reader.readJSON(LaunchRecord.self).map { .launchCreated(record: $0) }
        case .launchUpdated: return reader.readJSON(LaunchRecord.self).map { .launchUpdated(record: $0) }
        case .jobTriggered:
            guard let job = reader.readJSON(JobRecord.self), let runID = reader.readString() else { return nil }
            return .jobTriggered(job: job, runID: runID)
        case .schedulerChanged: return reader.readJSON(SchedulerState.self).map { .schedulerChanged(state: $0) }
        case .orphansChanged: return reader.readJSON(NodeTruth.self).map { .orphansChanged(truth: $0) }
        case .jobFired: return reader.readJSON(JobFire.self).map { .jobFired(fire: $0) }
        case .fireIgnored:
            return reader.readString().flatMap(FireIgnored.init(rawValue:)).map { .fireIgnored(reason: $0) }
        }
    }
}

extension ByteWriter {
    fileprivate mutating func write(_ job: JobRecord) {
        write(job.id)
        write(job.command)
        write(optional: job.image)
        write(job.status.rawValue)
        write(job.createdAtMs)
        write(job.updatedAtMs)
        write(optional: job.executedBy)
        write(optional: job.output)
        write(optional: job.error)
        // Since jobs run as launches; answers stored before end after `error`.
        write(optional: job.backend)
        write(optional: job.runID)
        write(Int64(job.runCount))
        write(Int64(job.maxConcurrentRuns))
        // Since cron and retries; answers stored before end after the limit.
        write(optional: job.plan.map { String(decoding: StateCommand.canonicalJSON($0), as: UTF8.self) })
        write(job.lastDueMs ?? Int64.min)
        write(job.retryAtMs ?? Int64.min)
        write(Int64(job.attempt))
    }
}

extension ByteReader {

    fileprivate mutating func readJob() -> JobRecord? {
        guard let id = readString(), let command = readString(), let image = readOptionalString(),
            let status = readString().flatMap(JobStatus.init(rawValue:)), let created = readInt64(),
            let updated = readInt64(), let executedBy = readOptionalString(), let output = readOptionalString(),
            let error = readOptionalString()
        else { return nil }
        var job = JobRecord(
            id: id, command: command, image: image, status: status, createdAtMs: created, updatedAtMs: updated,
            executedBy: executedBy, output: output, error: error)
        guard remaining > 0 else { return job }
        guard let backend = readOptionalString(), let runID = readOptionalString(), let runCount = readInt64(),
            let maxRuns = readInt64()
        else { return nil }
        job.backend = backend
        job.runID = runID
        job.runCount = Int(runCount)
        job.maxConcurrentRuns = Int(maxRuns)
        guard remaining > 0 else { return job }
        guard let planText = readOptionalString(), let lastDue = readInt64(), let retryAt = readInt64(),
            let attempt = readInt64()
        else { return nil }
        if let planText {
            guard let plan = try? JSONDecoder().decode(JobPlan.self, from: Data(planText.utf8)) else { return nil }
            job.plan = plan
        }
        job.lastDueMs = lastDue == Int64.min ? nil : lastDue
        job.retryAtMs = retryAt == Int64.min ? nil : retryAt
        job.attempt = Int(attempt)
        return job
    }
}
