import Foundation

/// The envelope sequence, kept under the root so it keeps increasing across agent restarts:
/// the control plane refuses an envelope whose sequence is not above the last one it took.
/// Each value is written durably before an envelope carrying it is sent, so a crash can skip
/// numbers but never send one twice.
public struct SequenceFile: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// The last sequence handed out (0 when none was).
    public func last() -> UInt64 {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return 0 }
        return UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    /// Hands out the sequence after `max(last(), atLeast)`, recorded before it is returned.
    public func next(atLeast floor: UInt64 = 0) throws(AtomicFile.Failure) -> UInt64 {
        let value = max(last(), floor) + 1
        try AtomicFile.write(Array("\(value)\n".utf8), to: path)
        return value
    }
}
