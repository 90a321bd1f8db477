import Testing

@testable import BerthStorage

/// The Castagnoli checksum every record and snapshot file relies on.
@Suite struct CRC32CTests {
    @Test("the standard check value: \"123456789\" → 0xE3069283")
    func checkValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    @Test("the empty input checks to zero")
    func empty() {
        #expect(CRC32C.checksum([UInt8]()) == 0)
    }

    @Test("32 zero bytes give the RFC 3720 vector 0x8A9136AA")
    func zeros() {
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
    }

    @Test("folding in pieces equals checking the whole")
    func incremental() {
        let bytes = Array("the quick brown fox jumps over the lazy dog".utf8)
        let running = CRC32C.update(CRC32C.update(CRC32C.start, with: bytes[..<10]), with: bytes[10...])
        #expect(CRC32C.finalize(running) == CRC32C.checksum(bytes))
    }
}
