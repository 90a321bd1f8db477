/// Why bytes could not be turned into a frame, or a frame into bytes. Any decoding error means
/// the stream can no longer be trusted: the owner logs `description` and closes the connection.
public enum WireError: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The frame does not start with ASCII "BRTH"; `found` holds the 1–4 bytes that were there.
    case badMagic(found: [UInt8])
    /// The header's version byte is not one this module speaks (`PeerProtocol.version`).
    case unsupportedVersion(UInt8)
    /// The header's type byte is not a `FrameType`.
    case unknownFrameType(UInt8)
    /// The header's flags are not 0 (every flag is reserved).
    case reservedFlagsSet(UInt16)
    /// Header plus payload would be `frameBytes`, over the configured `maxFrameBytes`. Raised as soon
    /// as the length field arrives, before any of the payload is buffered.
    case oversized(frameBytes: UInt64, maxFrameBytes: Int)
    /// The payload's CRC32C is `computed`, not the `header`'s value: the bytes were damaged.
    case checksumMismatch(type: FrameType, header: UInt32, computed: UInt32)
    /// The stream ended inside a frame: `bufferedBytes` had arrived of `frameBytes` (nil when the
    /// header itself was incomplete).
    case truncatedFrame(bufferedBytes: Int, frameBytes: Int?)
    /// The payload passed its checksum but does not parse; `offset` is where in the payload.
    case malformedPayload(type: FrameType, offset: Int, problem: PayloadProblem)
    /// The frame cannot be put on the wire (a programming error on the sending side).
    case unencodable(EncodingProblem)

    /// A stable number and name for each kind of error, for logs, metrics and other implementations.
    public enum Code: UInt16, CaseIterable, Equatable, Hashable, Sendable {
        /// The frame does not start with "BRTH".
        case badMagic = 1
        /// The header names a version this module does not speak.
        case unsupportedVersion = 2
        /// The header's type byte is not a `FrameType`.
        case unknownFrameType = 3
        /// The header's reserved flags are not 0.
        case reservedFlagsSet = 4
        /// The frame is over the frame-size limit.
        case oversized = 5
        /// The payload does not match its CRC32C.
        case checksumMismatch = 6
        /// The connection ended inside a frame.
        case truncatedFrame = 7
        /// The payload does not parse.
        case malformedPayload = 8
        /// The frame cannot be encoded.
        case unencodable = 9

        /// The code's stable name, `wire.` followed by snake case.
        public var name: String {
            switch self {
            case .badMagic: return "wire.bad_magic"
            case .unsupportedVersion: return "wire.unsupported_version"
            case .unknownFrameType: return "wire.unknown_frame_type"
            case .reservedFlagsSet: return "wire.reserved_flags_set"
            case .oversized: return "wire.oversized"
            case .checksumMismatch: return "wire.checksum_mismatch"
            case .truncatedFrame: return "wire.truncated_frame"
            case .malformedPayload: return "wire.malformed_payload"
            case .unencodable: return "wire.unencodable"
            }
        }
    }

    /// This error's stable code.
    public var code: Code {
        switch self {
        case .badMagic: return .badMagic
        case .unsupportedVersion: return .unsupportedVersion
        case .unknownFrameType: return .unknownFrameType
        case .reservedFlagsSet: return .reservedFlagsSet
        case .oversized: return .oversized
        case .checksumMismatch: return .checksumMismatch
        case .truncatedFrame: return .truncatedFrame
        case .malformedPayload: return .malformedPayload
        case .unencodable: return .unencodable
        }
    }

    /// A human explanation, derived from the code and its evidence.
    public var reason: String {
        switch self {
        case .badMagic(let found):
            return "frame starts with \(hex(found)), not the magic \(hex(PeerProtocol.magic)) (\"BRTH\")"
        case .unsupportedVersion(let version):
            return
                "frame is protocol version \(version); this node speaks version \(PeerProtocol.version)"
        case .unknownFrameType(let type):
            return "frame type 0x\(hex(type)) is not defined in protocol version \(PeerProtocol.version)"
        case .reservedFlagsSet(let flags):
            return "frame flags are 0x\(hex(flags)); every flag is reserved and must be 0"
        case .oversized(let frameBytes, let maxFrameBytes):
            return "frame would be \(frameBytes) bytes, over the limit of \(maxFrameBytes) bytes"
        case .checksumMismatch(let type, let header, let computed):
            return
                "\(type.name) payload has CRC32C 0x\(hex(computed)) but the header says 0x\(hex(header))"
        case .truncatedFrame(let buffered, let frameBytes?):
            return "connection ended \(buffered) bytes into a \(frameBytes)-byte frame"
        case .truncatedFrame(let buffered, nil):
            return
                "connection ended \(buffered) bytes into a \(PeerProtocol.headerBytes)-byte frame header"
        case .malformedPayload(let type, let offset, let problem):
            return "\(type.name) payload is malformed at byte \(offset): \(problem)"
        case .unencodable(let problem):
            return "cannot encode frame: \(problem)"
        }
    }

    public var description: String { "\(code.name) (\(code.rawValue)): \(reason)" }
}

/// What is wrong inside a payload whose checksum was right.
public enum PayloadProblem: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// `field` needs `neededBytes` but only `remainingBytes` are left in the payload (a length or
    /// count that points past the end, or a payload cut short).
    case truncated(field: String, neededBytes: UInt64, remainingBytes: Int)
    /// A boolean byte that is neither 0 nor 1.
    case invalidBool(field: String, value: UInt8)
    /// An enum tag byte with no meaning.
    case invalidTag(field: String, value: UInt8)
    /// A string field that is not valid UTF-8.
    case invalidUTF8(field: String)
    /// A set of node ids not in strictly ascending order (unsorted or repeated).
    case setNotAscending(field: String)
    /// A node listed both as voter and as learner.
    case voterIsLearner(UInt64)
    /// Bytes left over after the last field.
    case trailingBytes(count: Int)
    /// An incarnation of 0, which names no data directory.
    case zeroIncarnation(field: String)

    public var description: String {
        switch self {
        case .truncated(let field, let needed, let remaining):
            return "\(field) needs \(needed) bytes but \(remaining) remain"
        case .invalidBool(let field, let value):
            return "\(field) is \(value), not a boolean (0 or 1)"
        case .invalidTag(let field, let value):
            return "\(field) has unknown tag \(value)"
        case .invalidUTF8(let field):
            return "\(field) is not valid UTF-8"
        case .setNotAscending(let field):
            return "\(field) is not in strictly ascending order"
        case .voterIsLearner(let node):
            return "node \(node) is both a voter and a learner"
        case .trailingBytes(let count):
            return "\(count) bytes follow the last field"
        case .zeroIncarnation(let field):
            return "\(field) is 0, which is not an incarnation"
        }
    }
}

/// Why a frame cannot be encoded.
public enum EncodingProblem: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// A Raft InstallSnapshot is sent as `snapshotChunk` frames (use `SnapshotSender`), never whole.
    case installSnapshotNotChunked
    /// A string field longer than `PeerProtocol.maxStringBytes` UTF-8 bytes.
    case stringTooLong(field: String, bytes: Int)
    /// A byte array or list longer than a 32-bit count can say.
    case countTooLarge(field: String, count: Int)

    public var description: String {
        switch self {
        case .installSnapshotNotChunked:
            return "an InstallSnapshot must be sent as snapshotChunk frames"
        case .stringTooLong(let field, let bytes):
            return "\(field) is \(bytes) UTF-8 bytes, over \(PeerProtocol.maxStringBytes)"
        case .countTooLarge(let field, let count):
            return "\(field) has \(count) elements, over \(UInt32.max)"
        }
    }
}

/// Lower-case hex of `bytes`, space separated.
private func hex(_ bytes: [UInt8]) -> String {
    bytes.map { hex($0) }.joined(separator: " ")
}

/// Lower-case hex of an unsigned integer, two digits per byte.
private func hex<T: FixedWidthInteger & UnsignedInteger>(_ value: T) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, T.bitWidth / 4 - digits.count)) + digits
}
