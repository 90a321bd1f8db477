/// Constants of the Berth peer protocol that both ends must agree on (docs/wire-protocol.md §2).
public enum PeerProtocol {
    /// The four bytes every frame starts with: ASCII "BRTH".
    public static let magic: [UInt8] = [0x42, 0x52, 0x54, 0x48]
    /// The frame layout this module speaks, carried in every header. Version 2 added
    /// incarnations (in `hello`, memberships and membership changes).
    public static let version: UInt8 = 2
    /// Bytes in the fixed frame header: magic 4, version 1, type 1, flags 2, length 4, CRC32C 4.
    public static let headerBytes = 16
    /// The default bound on a whole frame (header plus payload), in bytes: 16 MiB.
    public static let defaultMaxFrameBytes = 16 << 20
    /// The largest frame any configuration may allow: the header plus a payload whose length fills the
    /// 32-bit length field.
    public static let largestPossibleFrameBytes = headerBytes + Int(UInt32.max)
    /// The longest string field, in UTF-8 bytes (its length prefix is a UInt16).
    public static let maxStringBytes = Int(UInt16.max)
}
