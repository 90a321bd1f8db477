import BerthControlPlane
import BerthStorage
import Foundation
import NIOCore

/// The payload of a `forward` frame: a client request in a small binary form (docs/wire-protocol.md
/// §7.1), big-endian like the rest of the peer protocol:
///
///     u8 format (0x01)  u8 kind  fields…
///
/// with text as `u32 n` + UTF-8 and optional text as `u8 0` or `u8 1` + text. A follower encodes
/// and the leader decodes one per forwarded write; the JSON form it replaces cost both of them
/// more than the write itself. A payload starting with `{` is read as that older JSON form.
extension ClientRequest {
    static let forwardFormat: UInt8 = 0x01

    private enum Kind: UInt8 {
        case createJob = 1
        case cancelJob = 2
        case transferLeadership = 3
        case addMember = 4
        case removeMember = 5
        case readIndex = 6
        case recordEnvelope = 7
        case cordonNode = 8
        /// The launch requests travel as the request's JSON form (its shape is still growing).
        case json = 9
        /// A create with job options (`backend`, `max_concurrent_runs`): the create's fields, then
        /// the optional backend and the limit as a u32 (0: none).
        case createJobWithOptions = 10
    }

    var forwardPayload: [UInt8] {
        var buffer = ByteBufferAllocator().buffer(capacity: 256)
        buffer.writeInteger(Self.forwardFormat)
        switch self {
        case .createJob(let jobID, let command, let image, let backend, let maxRuns, let key, let hash):
            let withOptions = backend != nil || maxRuns != nil
            buffer.writeInteger(withOptions ? Kind.createJobWithOptions.rawValue : Kind.createJob.rawValue)
            buffer.writeForwardText(jobID)
            buffer.writeForwardText(command)
            buffer.writeForwardText(optional: image)
            buffer.writeForwardText(optional: key)
            buffer.writeInteger(hash, endianness: .big)
            if withOptions {
                buffer.writeForwardText(optional: backend)
                buffer.writeInteger(UInt32(clamping: maxRuns ?? 0), endianness: .big)
            }
        case .cancelJob(let id, let key, let hash):
            buffer.writeInteger(Kind.cancelJob.rawValue)
            buffer.writeForwardText(id)
            buffer.writeForwardText(optional: key)
            buffer.writeInteger(hash, endianness: .big)
        case .transferLeadership(let target):
            buffer.writeInteger(Kind.transferLeadership.rawValue)
            buffer.writeInteger(target, endianness: .big)
        case .addMember(let nodeID, let peerAddress, let httpAddress, let incarnation):
            buffer.writeInteger(Kind.addMember.rawValue)
            buffer.writeInteger(nodeID, endianness: .big)
            buffer.writeForwardText(peerAddress)
            buffer.writeForwardText(httpAddress)
            if let incarnation {
                buffer.writeInteger(UInt8(1))
                buffer.writeInteger(incarnation, endianness: .big)
            } else {
                buffer.writeInteger(UInt8(0))
            }
        case .removeMember(let nodeID):
            buffer.writeInteger(Kind.removeMember.rawValue)
            buffer.writeInteger(nodeID, endianness: .big)
        case .readIndex:
            buffer.writeInteger(Kind.readIndex.rawValue)
        case .recordEnvelope(let envelope, let key, let hash):
            buffer.writeInteger(Kind.recordEnvelope.rawValue)
            buffer.writeForwardText(String(decoding: StateCommand.canonicalJSON(envelope), as: UTF8.self))
            buffer.writeForwardText(optional: key)
            buffer.writeInteger(hash, endianness: .big)
        case .cordonNode(let nodeID, let cordoned, let draining, let key, let hash):
            buffer.writeInteger(Kind.cordonNode.rawValue)
            buffer.writeForwardText(nodeID)
            buffer.writeInteger(UInt8(cordoned ? 1 : 0))
            buffer.writeInteger(UInt8(draining ? 1 : 0))
            buffer.writeForwardText(optional: key)
            buffer.writeInteger(hash, endianness: .big)
        case .executeLaunch, .reportLaunch, .terminateLaunch, .triggerJob, .setSchedulerPaused, .drainNode,
            .reportOrphans, .sweepOrphans, .createPlannedJob:
            buffer.writeInteger(Kind.json.rawValue)
            buffer.writeForwardText(String(decoding: StateCommand.canonicalJSON(self), as: UTF8.self))
        }
        return Array(buffer.readableBytesView)
    }

    /// Decodes a forwarded request; nil when the bytes are not one (truncated, trailing bytes,
    /// unknown format or kind, invalid UTF-8).
    init?(forwardPayload bytes: [UInt8]) {
        guard let first = bytes.first else { return nil }
        if first == UInt8(ascii: "{") {
            guard let request = try? JSONDecoder().decode(ClientRequest.self, from: Data(bytes)) else { return nil }
            self = request
            return
        }
        var buffer = ByteBuffer(bytes: bytes)
        guard buffer.readInteger(as: UInt8.self) == Self.forwardFormat,
            let kind = buffer.readInteger(as: UInt8.self).flatMap(Kind.init(rawValue:)),
            let request = Self.decodeFields(kind, from: &buffer), buffer.readableBytes == 0
        else { return nil }
        self = request
    }

    private static func decodeFields(_ kind: Kind, from buffer: inout ByteBuffer) -> ClientRequest? {
        switch kind {
        case .createJob, .createJobWithOptions:
            guard let jobID = buffer.readForwardText(), let command = buffer.readForwardText(),
                let image = buffer.readOptionalForwardText(), let key = buffer.readOptionalForwardText(),
                let hash = buffer.readInteger(endianness: .big, as: UInt64.self)
            else { return nil }
            var backend: String?
            var maxRuns: Int?
            if kind == .createJobWithOptions {
                guard let readBackend = buffer.readOptionalForwardText(),
                    let limit = buffer.readInteger(endianness: .big, as: UInt32.self)
                else { return nil }
                backend = readBackend
                maxRuns = limit > 0 ? Int(limit) : nil
            }
            return .createJob(
                jobID: jobID, command: command, image: image, backend: backend, maxConcurrentRuns: maxRuns,
                idempotencyKey: key, requestHash: hash)
        case .cancelJob:
            guard let id = buffer.readForwardText(), let key = buffer.readOptionalForwardText(),
                let hash = buffer.readInteger(endianness: .big, as: UInt64.self)
            else { return nil }
            return .cancelJob(id: id, idempotencyKey: key, requestHash: hash)
        case .transferLeadership:
            return buffer.readInteger(endianness: .big, as: UInt64.self).map { .transferLeadership(target: $0) }
        case .addMember:
            guard let id = buffer.readInteger(endianness: .big, as: UInt64.self), let peer = buffer.readForwardText(),
                let http = buffer.readForwardText(), let hasIncarnation = buffer.readInteger(as: UInt8.self)
            else { return nil }
            switch hasIncarnation {
            case 0:
                return .addMember(nodeID: id, peerAddress: peer, httpAddress: http, incarnation: nil)
            case 1:
                guard let incarnation = buffer.readInteger(endianness: .big, as: UInt64.self), incarnation != 0 else {
                    return nil
                }
                return .addMember(nodeID: id, peerAddress: peer, httpAddress: http, incarnation: incarnation)
            default:
                return nil
            }
        case .removeMember:
            return buffer.readInteger(endianness: .big, as: UInt64.self).map { .removeMember(nodeID: $0) }
        case .readIndex:
            return .readIndex
        case .recordEnvelope:
            // Validated again: a forward is trusted to be well framed, not to be well formed.
            guard let json = buffer.readForwardText(),
                let envelope = try? SchedulerEnvelope.parse(json: Array(json.utf8)),
                let key = buffer.readOptionalForwardText(),
                let hash = buffer.readInteger(endianness: .big, as: UInt64.self)
            else { return nil }
            return .recordEnvelope(envelope: envelope, idempotencyKey: key, requestHash: hash)
        case .cordonNode:
            guard let nodeID = buffer.readForwardText(), let cordoned = buffer.readInteger(as: UInt8.self),
                let draining = buffer.readInteger(as: UInt8.self), cordoned <= 1, draining <= 1,
                let key = buffer.readOptionalForwardText(),
                let hash = buffer.readInteger(endianness: .big, as: UInt64.self)
            else { return nil }
            return .cordonNode(
                nodeID: nodeID, cordoned: cordoned == 1, draining: draining == 1, idempotencyKey: key,
                requestHash: hash)
        case .json:
            guard let json = buffer.readForwardText(),
                let request = try? JSONDecoder().decode(ClientRequest.self, from: Data(json.utf8))
            else { return nil }
            switch request {
            case .executeLaunch, .reportLaunch, .terminateLaunch, .triggerJob, .setSchedulerPaused, .drainNode,
                .reportOrphans, .sweepOrphans, .createPlannedJob:
                return request
            default: return nil
            }
        }
    }
}

extension ByteBuffer {
    fileprivate mutating func writeForwardText(_ text: String) {
        let utf8 = text.utf8
        writeInteger(UInt32(utf8.count), endianness: .big)
        writeBytes(utf8)
    }

    fileprivate mutating func writeForwardText(optional text: String?) {
        guard let text else {
            writeInteger(UInt8(0))
            return
        }
        writeInteger(UInt8(1))
        writeForwardText(text)
    }

    fileprivate mutating func readForwardText() -> String? {
        guard let length = readInteger(endianness: .big, as: UInt32.self),
            let bytes = readBytes(length: Int(length))
        else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    /// `.some(nil)` when absent; nil when the bytes are bad.
    fileprivate mutating func readOptionalForwardText() -> String?? {
        switch readInteger(as: UInt8.self) {
        case 0: return .some(nil)
        case 1: return readForwardText().map { .some($0) }
        default: return nil
        }
    }
}
