import NIOCore

extension CRC32C {
    /// The checksum of `buffer`'s readable bytes, without copying them.
    public static func checksum(_ buffer: ByteBuffer) -> UInt32 {
        var crc = CRC32C()
        buffer.withUnsafeReadableBytes { crc.update($0) }
        return crc.value
    }
}
