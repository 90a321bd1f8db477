/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every WAL record and
/// snapshot file. Table-driven, one byte at a time; pure Swift so it runs the same everywhere.
enum CRC32C {
    /// The reflected Castagnoli polynomial.
    static let polynomial: UInt32 = 0x82F6_3B78

    /// `table[b]` is the CRC of the single byte `b`.
    static let table: [UInt32] = (0..<256).map { byte in
        var crc = UInt32(byte)
        for _ in 0..<8 {
            crc = (crc & 1) == 1 ? (crc >> 1) ^ polynomial : crc >> 1
        }
        return crc
    }

    /// The checksum of `bytes` ("123456789" gives 0xE3069283).
    static func checksum<Bytes: Sequence>(_ bytes: Bytes) -> UInt32
    where Bytes.Element == UInt8 {
        finalize(update(start, with: bytes))
    }

    /// The running value before any byte.
    static let start: UInt32 = 0xFFFF_FFFF

    /// Folds `bytes` into a running value (start from `start`, finish with `finalize`).
    static func update<Bytes: Sequence>(_ running: UInt32, with bytes: Bytes) -> UInt32
    where Bytes.Element == UInt8 {
        var crc = running
        table.withUnsafeBufferPointer { table in
            for byte in bytes {
                crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
            }
        }
        return crc
    }

    /// Turns a running value into the checksum.
    static func finalize(_ running: UInt32) -> UInt32 { running ^ 0xFFFF_FFFF }
}
