import NIOCore

/// Reads the primitive encodings of docs/wire-protocol.md §3 from one frame's payload. Every read
/// checks the bytes that remain first, so no length or count from the wire is trusted: nothing is
/// allocated before the bytes it describes are known to be there.
struct PayloadReader {
    /// The payload's unread bytes.
    private var buffer: ByteBuffer
    /// The frame type, for errors.
    let frameType: FrameType
    /// The payload's length, to turn the reader index into an offset for errors.
    private let payloadBytes: Int

    init(payload: ByteBuffer, frameType: FrameType) {
        self.buffer = payload
        self.frameType = frameType
        self.payloadBytes = payload.readableBytes
    }

    /// How far into the payload the next read starts.
    var offset: Int { payloadBytes - buffer.readableBytes }

    /// The error for `problem` in the field that starts at `fieldOffset` (by default, the next read).
    func malformed(_ problem: PayloadProblem, at fieldOffset: Int? = nil) -> WireError {
        .malformedPayload(type: frameType, offset: fieldOffset ?? offset, problem: problem)
    }

    /// Throws unless `count` more bytes are there for `field`.
    private func require(_ count: UInt64, for field: String) throws(WireError) {
        guard count <= UInt64(buffer.readableBytes) else {
            throw malformed(
                .truncated(field: field, neededBytes: count, remainingBytes: buffer.readableBytes))
        }
    }

    mutating func uint8(_ field: String) throws(WireError) -> UInt8 {
        try integer(field)
    }

    mutating func uint16(_ field: String) throws(WireError) -> UInt16 {
        try integer(field)
    }

    mutating func uint32(_ field: String) throws(WireError) -> UInt32 {
        try integer(field)
    }

    mutating func uint64(_ field: String) throws(WireError) -> UInt64 {
        try integer(field)
    }

    private mutating func integer<T: FixedWidthInteger>(_ field: String) throws(WireError) -> T {
        try require(UInt64(MemoryLayout<T>.size), for: field)
        return buffer.readInteger(endianness: .big, as: T.self)!
    }

    /// A non-zero incarnation.
    mutating func incarnation(_ field: String) throws(WireError) -> UInt64 {
        let start = offset
        let value = try uint64(field)
        guard value != 0 else { throw malformed(.zeroIncarnation(field: field), at: start) }
        return value
    }

    /// One byte, 0 (false) or 1 (true).
    mutating func bool(_ field: String) throws(WireError) -> Bool {
        let start = offset
        let byte = try uint8(field)
        switch byte {
        case 0: return false
        case 1: return true
        default: throw malformed(.invalidBool(field: field, value: byte), at: start)
        }
    }

    /// A UInt32 length, then that many bytes.
    mutating func bytes(_ field: String) throws(WireError) -> [UInt8] {
        let count = try uint32(field + ".length")
        try require(UInt64(count), for: field)
        return buffer.readBytes(length: Int(count))!
    }

    /// A UInt16 length, then that many bytes of UTF-8.
    mutating func string(_ field: String) throws(WireError) -> String {
        let count = try uint16(field + ".length")
        try require(UInt64(count), for: field)
        let start = offset
        let bytes = buffer.readBytes(length: Int(count))!
        let string = String(decoding: bytes, as: UTF8.self)
        // Decoding replaces invalid sequences, so a round trip that changes the bytes means they
        // were not valid UTF-8.
        guard string.utf8.elementsEqual(bytes) else {
            throw malformed(.invalidUTF8(field: field), at: start)
        }
        return string
    }

    /// A UInt32 count, then that many UInt64 node ids in strictly ascending order.
    mutating func nodeSet(_ field: String) throws(WireError) -> Set<UInt64> {
        let count = try uint32(field + ".count")
        try require(UInt64(count) * 8, for: field)
        var nodes = Set<UInt64>(minimumCapacity: Int(count))
        var previous: UInt64? = nil
        for _ in 0..<count {
            let start = offset
            let node = try uint64(field)
            if let previous, node <= previous {
                throw malformed(.setNotAscending(field: field), at: start)
            }
            nodes.insert(node)
            previous = node
        }
        return nodes
    }

    /// A UInt32 count, then that many elements read by `element`. The count is checked against
    /// the remaining bytes at `minimumElementBytes` each before anything is reserved.
    mutating func list<Element>(
        _ field: String,
        minimumElementBytes: UInt64,
        element: (inout PayloadReader) throws(WireError) -> Element
    ) throws(WireError) -> [Element] {
        let count = try uint32(field + ".count")
        try require(UInt64(count) * minimumElementBytes, for: field)
        var elements: [Element] = []
        elements.reserveCapacity(Int(count))
        for _ in 0..<count {
            elements.append(try element(&self))
        }
        return elements
    }

    /// Throws unless every byte of the payload was read.
    func finish() throws(WireError) {
        guard buffer.readableBytes == 0 else {
            throw malformed(.trailingBytes(count: buffer.readableBytes))
        }
    }
}
