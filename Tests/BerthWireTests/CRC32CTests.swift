import BerthRaft  // SplitMix64, the seeded generator the tests share
import NIOCore
import Testing

@testable import BerthWire

/// CRC-32C (Castagnoli) against published vectors and a bit-at-a-time reference.
@Suite struct CRC32CTests {
    @Test("the standard check value: \"123456789\" → 0xE3069283")
    func checkValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    @Test("RFC 3720 §B.4 vectors (32 bytes each, long enough for the eight-byte loop)")
    func iscsiVectors() {
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).map { UInt8(31 - $0) }) == 0x113F_DB5C)
    }

    @Test("no bytes checksum to 0")
    func empty() {
        #expect(CRC32C.checksum([UInt8]()) == 0)
        #expect(CRC32C().value == 0)
    }

    @Test("slicing-by-8 agrees with a bit-at-a-time reference at every length and split point")
    func agreesWithReference() {
        var random = SplitMix64(seed: 0xC4C3_2C)
        for length in 0..<80 {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            #expect(CRC32C.checksum(bytes) == referenceCRC32C(bytes), "length \(length)")
            let split = length == 0 ? 0 : Int(random.next() % UInt64(length + 1))
            var incremental = CRC32C()
            incremental.update(bytes[..<split])
            incremental.update(bytes[split...])
            #expect(incremental.value == referenceCRC32C(bytes), "length \(length) split at \(split)")
        }
    }

    @Test("a ByteBuffer's readable bytes checksum like the same bytes in an array")
    func byteBuffer() {
        var buffer = ByteBuffer(bytes: Array("xx123456789".utf8))
        buffer.moveReaderIndex(forwardBy: 2)
        #expect(CRC32C.checksum(buffer) == 0xE306_9283)
        #expect(buffer.readableBytes == 9)
    }

    /// The definition: shift one bit at a time through the reflected polynomial.
    private func referenceCRC32C(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 {
                crc = (crc & 1) == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1
            }
        }
        return ~crc
    }
}
