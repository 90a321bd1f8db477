/// Appends compact JSON to a growing byte buffer. Encoding an explanation of ten thousand
/// nodes with `JSONEncoder` costs far more than computing it; this writer emits the same
/// document directly, in a fixed key order, with numbers printed exactly. It owns raw memory
/// (no copy-on-write checks per byte) and lives only for one document, so it is a class.
final class JSONByteWriter {
    private var base: UnsafeMutablePointer<UInt8>
    private var count = 0
    private var capacity: Int
    private static let hexDigits: StaticString = "0123456789abcdef"

    init(capacity: Int) {
        self.capacity = max(64, capacity)
        base = .allocate(capacity: self.capacity)
    }

    deinit {
        base.deallocate()
    }

    /// What has been written.
    var bytes: [UInt8] {
        Array(UnsafeBufferPointer(start: base, count: count))
    }

    private func reserve(_ extra: Int) {
        guard count + extra > capacity else { return }
        var grown = capacity * 2
        while grown < count + extra { grown *= 2 }
        let moved = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
        moved.moveInitialize(from: base, count: count)
        base.deallocate()
        base = moved
        capacity = grown
    }

    private func put(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    private func put(_ run: UnsafeBufferPointer<UInt8>) {
        guard let start = run.baseAddress, run.count > 0 else { return }
        reserve(run.count)
        (base + count).initialize(from: start, count: run.count)
        count += run.count
    }

    func raw(_ text: StaticString) {
        text.withUTF8Buffer { put($0) }
    }

    /// Bytes that already are JSON, copied as they are.
    func rawJSON(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { put($0) }
    }

    /// A JSON string, quoted and escaped.
    func string(_ value: String) {
        put(UInt8(ascii: "\""))
        stringContent(value)
        put(UInt8(ascii: "\""))
    }

    /// The inside of a JSON string, escaped, without the quotes. Runs of bytes that need no
    /// escaping are copied whole.
    func stringContent(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            var runStart = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                put(UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                runStart = index + 1
                put(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): put(byte)
                case UInt8(ascii: "\n"): put(UInt8(ascii: "n"))
                case UInt8(ascii: "\r"): put(UInt8(ascii: "r"))
                case UInt8(ascii: "\t"): put(UInt8(ascii: "t"))
                default:
                    raw("u00")
                    Self.hexDigits.withUTF8Buffer { hex in
                        put(hex[Int(byte >> 4)])
                        put(hex[Int(byte & 0xF)])
                    }
                }
            }
            put(UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
    }

    func integer(_ value: Int64) {
        if value < 0 { put(UInt8(ascii: "-")) }
        digits(value.magnitude)
    }

    /// The decimal digits of `value`, written back to front into reserved space.
    func digits(_ value: UInt64) {
        var length = 1
        var rest = value / 10
        while rest > 0 {
            length += 1
            rest /= 10
        }
        reserve(length)
        var remaining = value
        for offset in stride(from: length - 1, through: 0, by: -1) {
            base[count + offset] = UInt8(ascii: "0") + UInt8(remaining % 10)
            remaining /= 10
        }
        count += length
    }

    /// `milli / 1000` as an exact decimal with no trailing zeros (`3875` → `3.875`, `1000` → `1`).
    func millis(_ milli: Int) {
        let value = Int64(milli)
        let fraction = value.magnitude % 1000
        if value < 0 { put(UInt8(ascii: "-")) }
        digits(value.magnitude / 1000)
        guard fraction != 0 else { return }
        put(UInt8(ascii: "."))
        put(UInt8(ascii: "0") + UInt8(fraction / 100))
        if fraction % 100 != 0 { put(UInt8(ascii: "0") + UInt8(fraction / 10 % 10)) }
        if fraction % 10 != 0 { put(UInt8(ascii: "0") + UInt8(fraction % 10)) }
    }

    func bool(_ value: Bool) {
        if value { raw("true") } else { raw("false") }
    }

    func null() {
        raw("null")
    }
}

/// A message written straight into a JSON string: static parts contain nothing to escape,
/// evidence strings are escaped.
extension JSONByteWriter: MessageOutput {
    func write(_ text: StaticString) {
        raw(text)
    }

    func write(_ text: String) {
        stringContent(text)
    }

    func write(_ value: Int64) {
        integer(value)
    }
}
