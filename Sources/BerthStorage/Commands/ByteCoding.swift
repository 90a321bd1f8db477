/// Little-endian encoding of the fixed-width fields in WAL records and snapshot files.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    init(reservingCapacity capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    mutating func write(_ value: UInt8) {
        bytes.append(value)
    }

    mutating func write(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func write(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func write(_ raw: some Collection<UInt8>) {
        bytes.append(contentsOf: raw)
    }
}

/// Reads what `ByteWriter` wrote; every read fails (returns nil) instead of running past the end.
struct ByteReader {
    private let bytes: ArraySlice<UInt8>
    /// Absolute position of the next byte to read, in the indices of the slice it was made from.
    private(set) var position: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        position = bytes.startIndex
    }

    init(_ bytes: [UInt8]) {
        self.init(bytes[...])
    }

    /// Bytes left to read.
    var remaining: Int { bytes.endIndex - position }

    mutating func readUInt8() -> UInt8? {
        guard remaining >= 1 else { return nil }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func readUInt32() -> UInt32? {
        guard remaining >= 4 else { return nil }
        var value: UInt32 = 0
        for i in 0..<4 { value |= UInt32(bytes[position + i]) << (8 * i) }
        position += 4
        return value
    }

    mutating func readUInt64() -> UInt64? {
        guard remaining >= 8 else { return nil }
        var value: UInt64 = 0
        for i in 0..<8 { value |= UInt64(bytes[position + i]) << (8 * i) }
        position += 8
        return value
    }

    mutating func readBytes(_ count: Int) -> ArraySlice<UInt8>? {
        guard count >= 0, remaining >= count else { return nil }
        defer { position += count }
        return bytes[position..<position + count]
    }

    mutating func readRest() -> ArraySlice<UInt8> {
        defer { position = bytes.endIndex }
        return bytes[position...]
    }
}

// Strings, optionals, Int64 and Bool for commands and outcomes, on top of the fixed-width fields.

extension ByteWriter {
    mutating func write(_ value: Int64) {
        write(UInt64(bitPattern: value))
    }

    mutating func write(_ value: String) {
        let utf8 = value.utf8
        write(UInt32(utf8.count))
        write(utf8)
    }

    mutating func write(optional value: String?) {
        guard let value else {
            write(UInt8(0))
            return
        }
        write(UInt8(1))
        write(value)
    }
}

extension ByteReader {
    mutating func readBool() -> Bool? {
        switch readUInt8() {
        case 0: return false
        case 1: return true
        default: return nil
        }
    }

    mutating func readInt64() -> Int64? {
        readUInt64().map { Int64(bitPattern: $0) }
    }

    /// A UTF-8 string; nil when it runs past the end or is not valid UTF-8.
    mutating func readString() -> String? {
        guard let length = readUInt32(), let bytes = readBytes(Int(length)) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    /// `.some(nil)` for an absent string, nil for bad bytes.
    mutating func readOptionalString() -> String?? {
        switch readUInt8() {
        case 0: return .some(nil)
        case 1: return readString().map { .some($0) }
        default: return nil
        }
    }
}
