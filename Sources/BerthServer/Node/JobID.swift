/// Job ids are UUIDs, version 7 (RFC 9562 §5.7): 48 bits of Unix milliseconds, then 74 random
/// bits. The leader stamps them. Ids that grow with time land at the end of the jobs table's
/// primary-key index instead of on a random page of it, so an apply batch dirties a few pages
/// rather than one per job — with random (version 4) ids that index was most of SQLite's writes.
enum JobID {
    static func make(nowMs: Int64) -> String {
        var generator = SystemRandomNumberGenerator()
        return make(nowMs: nowMs, random: (generator.next(), generator.next()))
    }

    static func make(nowMs: Int64, random: (UInt64, UInt64)) -> String {
        let millis = UInt64(truncatingIfNeeded: nowMs) & 0xFFFF_FFFF_FFFF
        // time (48) | version 7 (4) | rand_a (12)
        let high = millis << 16 | 0x7000 | (random.0 & 0x0FFF)
        // variant 0b10 (2) | rand_b (62)
        let low = 0x8000_0000_0000_0000 | (random.1 & 0x3FFF_FFFF_FFFF_FFFF)
        var text: [UInt8] = []
        text.reserveCapacity(36)
        func hex(_ value: UInt64, digits: Int) {
            for shift in stride(from: (digits - 1) * 4, through: 0, by: -4) {
                text.append(hexDigits[Int((value >> UInt64(shift)) & 0xF)])
            }
        }
        hex(high >> 32, digits: 8)
        text.append(UInt8(ascii: "-"))
        hex((high >> 16) & 0xFFFF, digits: 4)
        text.append(UInt8(ascii: "-"))
        hex(high & 0xFFFF, digits: 4)
        text.append(UInt8(ascii: "-"))
        hex(low >> 48, digits: 4)
        text.append(UInt8(ascii: "-"))
        hex(low & 0xFFFF_FFFF_FFFF, digits: 12)
        return String(decoding: text, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
