import BerthRaft

/// How a client operation travels in a log entry: its id as 8 big-endian bytes.
///
/// Every operation a simulated client issues has a unique id; a retry reuses it, which is what
/// lets the state machine apply it once (like Berth's `Idempotency-Key`).
enum ClientOp {
    /// The command bytes for operation `op`.
    static func encode(_ op: UInt64) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8)
        append(op, to: &bytes)
        return bytes
    }

    /// Appends `word` as 8 big-endian bytes.
    static func append(_ word: UInt64, to bytes: inout [UInt8]) {
        var shift: UInt64 = 56
        while true {
            bytes.append(UInt8(truncatingIfNeeded: word >> shift))
            if shift == 0 { return }
            shift -= 8
        }
    }

    /// The operation id in `bytes`, or nil when they are not an encoded operation.
    static func decode(_ bytes: [UInt8]) -> UInt64? {
        guard bytes.count == 8 else { return nil }
        return bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}
