/// How a snapshot received into a file travels through the Raft core, whose `Snapshot.data` is
/// opaque bytes: the bytes are a marker and the file's path, never the snapshot itself. The
/// Raft loop resolves it: it persists the snapshot without data and restores the state database
/// from the file (`RaftLoop+Ready.swift`).
enum ReceivedSnapshotToken {
    private static let marker = Array("berth-received-snapshot:".utf8)

    static func encode(path: String) -> [UInt8] { marker + Array(path.utf8) }

    /// The path, when `data` is a token; nil for real snapshot bytes.
    static func path(in data: [UInt8]) -> String? {
        guard data.count > marker.count, Array(data.prefix(marker.count)) == marker else { return nil }
        return String(decoding: data.dropFirst(marker.count), as: UTF8.self)
    }
}
