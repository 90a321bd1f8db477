import Foundation

/// What binds an `Idempotency-Key` to the request it was first sent with (IETF
/// Idempotency-Key draft): a 64-bit FNV-1a hash of the method, the path and the body's bytes.
/// The same key with another fingerprint is refused with 422. It catches a client reusing a key
/// by mistake, not an adversary (who could choose a colliding body).
enum RequestFingerprint {
    static func of(method: String, path: String, body: some Sequence<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        for byte in method.utf8 { mix(byte) }
        mix(0x0A)
        for byte in path.utf8 { mix(byte) }
        mix(0x0A)
        for byte in body { mix(byte) }
        // 0 means "unchecked" in the log; a hash of 0 becomes 1.
        return hash == 0 ? 1 : hash
    }

    /// The key a node gives a write that came without one, so that its own retries of that
    /// write (a forward re-sent after a leader change) can never apply it twice. A version 7
    /// UUID (time first, like job ids): every member inserts every key into the idempotency
    /// table's primary-key index, and keys that grow with time land on its last page instead of
    /// dirtying a random page of a large index per write.
    static func internalKey(nowMs: Int64 = WallClock.nowMilliseconds()) -> String {
        "berth-internal:" + JobID.make(nowMs: nowMs)
    }
}
