/// Writes one flat JSON object straight to bytes, for the answers on the write path: Foundation's
/// `JSONSerialization` spent more of the leader's CPU on a two-field answer than Raft did on the
/// write. Callers add keys in the order they want them (sorted, to match the other answers).
struct JSONObjectWriter {
    private var bytes: [UInt8]
    private var empty = true

    init(capacity: Int = 96) {
        bytes = []
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
    }

    mutating func add(_ key: String, _ value: String) {
        appendKey(key)
        Self.appendString(value, to: &bytes)
    }

    mutating func add(_ key: String, _ value: Bool) {
        appendKey(key)
        bytes.append(contentsOf: value ? Self.trueBytes : Self.falseBytes)
    }

    mutating func add(_ key: String, _ value: some BinaryInteger) {
        appendKey(key)
        bytes.append(contentsOf: String(value).utf8)
    }

    /// JSON that is already written (an explanation from its own writer, a nested object), as
    /// it is: never parsed and re-encoded.
    mutating func addRaw(_ key: String, _ json: [UInt8]) {
        appendKey(key)
        bytes.append(contentsOf: json)
    }

    mutating func addNull(_ key: String) {
        appendKey(key)
        bytes.append(contentsOf: Self.nullBytes)
    }

    /// The finished object.
    mutating func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    private mutating func appendKey(_ key: String) {
        if !empty { bytes.append(UInt8(ascii: ",")) }
        empty = false
        Self.appendString(key, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }

    private static let trueBytes = Array("true".utf8)
    private static let falseBytes = Array("false".utf8)
    private static let nullBytes = Array("null".utf8)
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// A JSON string (RFC 8259 §7): quotes, backslashes and control characters escaped; every
    /// other character, `/` and non-ASCII included, as its UTF-8 bytes.
    static func appendString(_ value: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x00..<0x20:
                bytes.append(contentsOf: [
                    UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                    hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xF)],
                ])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
