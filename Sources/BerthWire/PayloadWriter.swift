import NIOCore

/// Writes the primitive encodings of docs/wire-protocol.md §3: big-endian fixed-width integers,
/// one-byte booleans, length-prefixed byte arrays and strings, ascending node-id sets.
/// (An extension rather than a wrapper, so writing never copies the buffer's storage.)
extension ByteBuffer {
    /// A big-endian fixed-width integer.
    mutating func writeWire<T: FixedWidthInteger>(_ value: T) {
        writeInteger(value, endianness: .big)
    }

    /// One byte: 1 for true, 0 for false.
    mutating func writeWire(_ value: Bool) {
        writeInteger(value ? 1 : 0, as: UInt8.self)
    }

    /// A UInt32 count for `field`, or a throw when `count` does not fit.
    mutating func writeWireCount(_ count: Int, field: String) throws(WireError) {
        guard let wire = UInt32(exactly: count) else {
            throw .unencodable(.countTooLarge(field: field, count: count))
        }
        writeWire(wire)
    }

    /// A UInt32 length, then the bytes.
    mutating func writeWireBytes(_ bytes: [UInt8], field: String) throws(WireError) {
        try writeWireCount(bytes.count, field: field)
        writeBytes(bytes)
    }

    /// A UInt16 length, then the UTF-8 bytes.
    mutating func writeWireString(_ string: String, field: String) throws(WireError) {
        let length = string.utf8.count
        guard let wire = UInt16(exactly: length) else {
            throw .unencodable(.stringTooLong(field: field, bytes: length))
        }
        writeWire(wire)
        writeString(string)
    }

    /// A UInt32 count, then the ids in ascending order.
    mutating func writeWireNodeSet(_ nodes: Set<UInt64>, field: String) throws(WireError) {
        try writeWireCount(nodes.count, field: field)
        for node in nodes.sorted() {
            writeWire(node)
        }
    }
}
