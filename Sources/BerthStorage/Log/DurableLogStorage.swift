import BerthRaft
import Dispatch

/// The Raft log on disk: a write-ahead log file for durability plus an in-memory mirror that
/// serves the core's reads (etcd's WAL + MemoryStorage shape).
///
/// The Raft loop calls `persist(_:)` with each `Ready` before sending its messages. Every call
/// appends the Ready's records and fsyncs once, so all proposals that arrived while the previous
/// batch was being written share one fsync (group commit). `compact(snapshotAt:configuration:data:)`
/// snapshots and rewrites the WAL without the compacted prefix. Opening repairs a torn tail
/// and refuses a damaged middle (see `init` and docs/storage.md).
///
/// Not thread-safe: it belongs to the Raft loop, like the core that reads it.
public final class DurableLogStorage: LogStorage {
    /// Tunables.
    public struct Options: Equatable, Sendable {
        /// Entries kept before the snapshot index when compacting, so that a slightly lagging
        /// follower is caught up with entries rather than a whole snapshot.
        public var retainedEntriesAfterCompaction: Int

        public init(retainedEntriesAfterCompaction: Int = 1_000) {
            precondition(retainedEntriesAfterCompaction >= 0)
            self.retainedEntriesAfterCompaction = retainedEntriesAfterCompaction
        }
    }

    /// Where the files are.
    public let layout: StorageLayout
    public let options: Options
    /// What opening found and repaired; log its `description` at startup.
    public let recoveryReport: WALRecoveryReport
    /// Whose directory this is, and its incarnation.
    public let identity: DataDirIdentity

    private var mirror: LogMirror
    private var wal: AppendOnlyFile
    /// Set when a write or fsync failed: the file's content is then unknown, so nothing more
    /// is written until a restart re-reads it.
    private var failure: DurableLogError?

    /// Opens the log under `dataDirectory`, creating it when there is none.
    ///
    /// - A brand-new directory gets an identity: `nodeID` and a random incarnation. An existing
    ///   one must belong to `nodeID` (`.wrongNode` otherwise); `nil` skips the check (tests).
    /// - A brand-new directory gets a base snapshot at index 0 whose configuration is
    ///   `initialConfiguration` (the voters from `--peers`) and an empty log. For an existing
    ///   directory `initialConfiguration` is ignored: membership comes from the snapshot and the
    ///   configuration entries after it.
    /// - A torn or damaged tail of the WAL (a record running past the end of the file, a bad
    ///   checksum on the last record, trailing zeros) is cut back to the last whole record and
    ///   reported in `recoveryReport`.
    /// - A damaged record followed by valid ones throws `.corruptRecord` naming the offset; a
    ///   damaged snapshot file throws `.corruptSnapshot`. Nothing is ever dropped silently.
    public init(
        dataDirectory: String, nodeID: NodeID? = nil, initialConfiguration: Configuration,
        options: Options = Options()
    ) throws(DurableLogError) {
        let layout = StorageLayout(dataDirectory: dataDirectory)
        self.layout = layout
        self.options = options
        var removed: [String] = []
        try FileIO.makeDirectories(layout.dataDirectory)
        if FileIO.exists(layout.raftStagingDirectory) {
            // A creation that crashed before its final rename: nothing in it was ever used.
            try FileIO.removeTree(layout.raftStagingDirectory)
            removed.append(layout.raftStagingDirectory)
        }
        var createdNew = false
        if !FileIO.exists(layout.raftDirectory) {
            try Self.create(layout, identity: .fresh(nodeID: nodeID ?? 0), configuration: initialConfiguration)
            createdNew = true
        }
        guard let identityBytes = try FileIO.readAll(layout.identityPath) else {
            throw .missingIdentity(path: layout.identityPath)
        }
        identity = try IdentityFile.decode(identityBytes, path: layout.identityPath)
        if let nodeID, identity.nodeID != 0, identity.nodeID != nodeID {
            throw .wrongNode(path: layout.identityPath, expected: nodeID, found: identity.nodeID)
        }
        guard let bytes = try FileIO.readAll(layout.walPath) else {
            throw .missingWAL(path: layout.walPath)
        }
        let scan = try WALScanner(path: layout.walPath, bytes: bytes).scan()
        var (mirror, clampedFrom) = try Self.replay(scan.records, layout: layout)
        mirror.snapshot = try Self.loadSnapshot(
            layout, index: mirror.snapshot.metadata.index, term: mirror.snapshot.metadata.term)

        let wal = try AppendOnlyFile(path: layout.walPath)
        if scan.tornTail != nil { try wal.truncate(to: scan.validBytes) }
        removed += try Self.removeLeftovers(layout, keeping: mirror.snapshot.metadata)

        self.mirror = mirror
        self.wal = wal
        recoveryReport = WALRecoveryReport(
            createdNew: createdNew, recordsRead: scan.records.count, walBytes: wal.size,
            tornTail: scan.tornTail,
            commitClampedFrom: clampedFrom, removedFiles: removed, hardState: mirror.hardState,
            snapshotIndex: mirror.snapshot.metadata.index, snapshotTerm: mirror.snapshot.metadata.term,
            firstIndex: mirror.firstIndex, lastIndex: mirror.lastIndex)
        if clampedFrom != nil {
            // Make the lowered commit durable so the next start agrees with this one.
            try save(hardState: mirror.hardState, entries: [], snapshot: nil)
        }
    }

    deinit {
        wal.close()
    }

    /// Closes the WAL file; later writes throw.
    public func close() {
        wal.close()
        if failure == nil { failure = .failedEarlier(cause: "the log was closed") }
    }

    // MARK: - LogStorage (the core's reads)

    public func initialState() -> HardState { mirror.hardState }

    public func entries(from low: LogIndex, to high: LogIndex, maxBytes: Int) throws(StorageError)
        -> [Entry]
    {
        try mirror.entries(from: low, to: high, maxBytes: maxBytes)
    }

    public func term(at index: LogIndex) throws(StorageError) -> Term {
        try mirror.term(at: index)
    }

    public var firstIndex: LogIndex { mirror.firstIndex }

    public var lastIndex: LogIndex { mirror.lastIndex }

    public func snapshot() throws(StorageError) -> Snapshot { mirror.snapshot }

    /// The hard state as last persisted.
    public var hardState: HardState { mirror.hardState }

    /// The WAL file's current size in bytes (grows with appends, shrinks at compaction).
    public var walSizeBytes: Int { wal.size }

    /// How many times the open WAL file was fsynced (for tests of the group commit).
    var walSyncCount: Int { wal.syncCount }

    // MARK: - Writes (the owner carrying out a Ready)

    /// Makes a `Ready`'s durable part durable: snapshot, then hard state, then entries, with one
    /// fsync of the WAL. Call before sending the Ready's messages.
    public func persist(_ ready: Ready) throws(DurableLogError) {
        try save(hardState: ready.hardState, entries: ready.entries, snapshot: ready.snapshot)
    }

    /// Persists, in this order: `snapshot` (when newer than the current one: its file is
    /// written and fsynced, then a marker resets the log to start after it), `hardState`, and
    /// `entries` (discarding stored entries at or after `entries.first.index`). The WAL records
    /// are written with one `write` and made durable with one `fsync`. The same as
    /// `prepare` → `perform` → `complete` on one thread.
    public func save(hardState: HardState?, entries: [Entry], snapshot: Snapshot?)
        throws(DurableLogError)
    {
        let write = try prepare(hardState: hardState, entries: entries, snapshot: snapshot)
        do throws(DurableLogError) {
            try perform(write)
        } catch {
            fail(error)
            throw error
        }
        complete(write)
    }

    /// A Ready's durable part, checked and encoded, ready to be written on another thread.
    public struct PreparedWrite: @unchecked Sendable {
        /// The WAL records, framed.
        let bytes: [UInt8]
        /// Whether the write needs an fsync (anything but a commit index moved).
        public let mustSync: Bool
        /// A snapshot newer than the current one, whose file is written first.
        let installing: Snapshot?
        let marker: SnapshotMarker?
        let hardState: HardState?
        let entries: [Entry]
        /// Nothing to write at all.
        public var isEmpty: Bool { bytes.isEmpty }
    }

    /// Checks a write against the log (no gap, nothing before the snapshot) and encodes it;
    /// changes nothing. On the thread that owns the log.
    public func prepare(_ ready: Ready) throws(DurableLogError) -> PreparedWrite {
        try prepare(hardState: ready.hardState, entries: ready.entries, snapshot: ready.snapshot)
    }

    private func prepare(hardState: HardState?, entries: [Entry], snapshot: Snapshot?)
        throws(DurableLogError) -> PreparedWrite
    {
        try checkUsable()
        let installing = snapshot.flatMap {
            $0.metadata.index > mirror.snapshot.metadata.index ? $0 : nil
        }
        // Check the append against the log as it will be once the snapshot is in, before writing.
        if let first = entries.first {
            let offset = installing?.metadata.index ?? mirror.offset
            let last = installing?.metadata.index ?? mirror.lastIndex
            let contiguous = entries.enumerated().allSatisfy {
                $0.element.index == first.index + LogIndex($0.offset)
            }
            guard first.index > offset, first.index <= last + 1, contiguous else {
                throw .invalidAppend(firstNewIndex: first.index, firstIndex: offset + 1, lastIndex: last)
            }
        }
        guard hardState != nil || !entries.isEmpty || installing != nil else {
            return PreparedWrite(
                bytes: [], mustSync: false, installing: nil, marker: nil, hardState: nil, entries: [])
        }
        var marker: SnapshotMarker?
        if let installing {
            marker = SnapshotMarker(
                snapshotIndex: installing.metadata.index, snapshotTerm: installing.metadata.term,
                logStartIndex: installing.metadata.index, logStartTerm: installing.metadata.term)
        }
        var writer = ByteWriter(reservingCapacity: 64 + entries.reduce(0) { $0 + 48 + $1.sizeBytes })
        if let marker { WALFormat.append(.snapshotMarker(marker), to: &writer) }
        if let hardState { WALFormat.append(.hardState(hardState), to: &writer) }
        for entry in entries { WALFormat.append(.entry(entry), to: &writer) }
        // Raft needs term, vote, entries and snapshots durable before anyone hears of them; a
        // commit index alone need not be (a restarted node learns it again from the leader), so
        // a Ready that only moves the commit index is written without an fsync (etcd's MustSync).
        let mustSync =
            installing != nil || !entries.isEmpty
            || hardState.map { $0.term != mirror.hardState.term || $0.vote != mirror.hardState.vote } == true
        return PreparedWrite(
            bytes: writer.bytes, mustSync: mustSync, installing: installing, marker: marker, hardState: hardState,
            entries: entries)
    }

    /// Writes a prepared write: the snapshot file if any, then the WAL records with one `write`
    /// and, when needed, one `fsync`. It touches only the files, never what the core reads, so
    /// it may run on another thread while the owner's thread goes on — but only one write at a
    /// time, and no `compact` or `close` meanwhile. A failed write is cut back off the file;
    /// the caller then calls `fail(_:)` on the owning thread and stops.
    /// Returns how long the WAL's fsync took, in nanoseconds (nil when the write needed none).
    @discardableResult
    public func perform(_ write: PreparedWrite) throws(DurableLogError) -> UInt64? {
        guard !write.isEmpty else { return nil }
        if let installing = write.installing { try writeSnapshotFile(installing) }
        let sizeBefore = wal.size
        do throws(DurableLogError) {
            try wal.append(write.bytes)
            guard write.mustSync else { return nil }
            let start = DispatchTime.now().uptimeNanoseconds
            try wal.sync()
            return DispatchTime.now().uptimeNanoseconds - start
        } catch {
            // After a failed write or fsync the page cache cannot be trusted (a later fsync may
            // report success for lost data), so nothing more is written; a restart re-reads it.
            try? wal.truncate(to: sizeBefore)
            throw error
        }
    }

    /// Puts a performed write into the log the core reads. On the thread that owns the log.
    public func complete(_ write: PreparedWrite) {
        guard !write.isEmpty else { return }
        if let installing = write.installing, let marker = write.marker {
            mirror.restart(at: marker, snapshot: installing)
            _ = try? Self.removeSnapshots(layout, except: installing.metadata)
        }
        if let hardState = write.hardState { mirror.hardState = hardState }
        mirror.append(write.entries)
    }

    /// Records that a write failed: every later write is refused until a restart.
    public func fail(_ error: DurableLogError) {
        if failure == nil { failure = .failedEarlier(cause: error.description) }
    }

    /// Installs a snapshot received from the leader: persists it and resets the log to start
    /// after it (the same as `save(hardState: nil, entries: [], snapshot:)`). Ignored when it is
    /// not newer than the current snapshot.
    public func applySnapshot(_ snapshot: Snapshot) throws(DurableLogError) {
        try save(hardState: nil, entries: [], snapshot: snapshot)
    }

    /// Takes a snapshot at `index` — which the state machine has applied, with `data` its
    /// serialized state there and `configuration` the membership in force there — and drops the
    /// log before it, keeping `options.retainedEntriesAfterCompaction` entries.
    ///
    /// Order: the snapshot file (temporary file, fsync, rename, fsync directory), then a new WAL
    /// holding a marker, the hard state and the kept entries (temporary file, fsync, rename, fsync
    /// directory), then older snapshot files are removed. A crash at any point leaves either the
    /// old WAL with its snapshot or the new one with its snapshot. A no-op when `index` is not
    /// past the current snapshot.
    public func compact(
        snapshotAt index: LogIndex, configuration: Configuration, data: [UInt8], snapshotFileWritten: Bool = false
    ) throws(DurableLogError) {
        try checkUsable()
        guard index > mirror.snapshot.metadata.index else { return }
        guard index <= mirror.hardState.commit, index <= mirror.lastIndex,
            let term = try? mirror.term(at: index)
        else {
            throw .compactionOutOfRange(
                index: index, snapshotIndex: mirror.snapshot.metadata.index,
                commit: mirror.hardState.commit,
                lastIndex: mirror.lastIndex)
        }
        let snapshot = Snapshot(
            metadata: SnapshotMetadata(index: index, term: term, configuration: configuration), data: data
        )
        let retained = LogIndex(options.retainedEntriesAfterCompaction)
        let keepFrom = max(mirror.offset, index >= retained ? index - retained : 0)
        let keepTerm = (try? mirror.term(at: keepFrom)) ?? 0

        if !snapshotFileWritten { try writeSnapshotFile(snapshot) }

        var writer = ByteWriter()
        writer.write(WALFormat.fileHeader())
        let marker = SnapshotMarker(
            snapshotIndex: index, snapshotTerm: term, logStartIndex: keepFrom, logStartTerm: keepTerm)
        WALFormat.append(.snapshotMarker(marker), to: &writer)
        WALFormat.append(.hardState(mirror.hardState), to: &writer)
        if keepFrom < mirror.lastIndex {
            let kept =
                (try? mirror.entries(from: keepFrom + 1, to: mirror.lastIndex + 1, maxBytes: .max)) ?? []
            for entry in kept { WALFormat.append(.entry(entry), to: &writer) }
        }
        do throws(DurableLogError) {
            try FileIO.writeAtomically(layout.walPath, writer.bytes)
            let rewritten = try AppendOnlyFile(path: layout.walPath)
            wal.close()
            wal = rewritten
        } catch {
            failure = .failedEarlier(cause: error.description)
            throw error
        }
        mirror.compact(to: snapshot, keepingFrom: keepFrom)
        _ = try? Self.removeSnapshots(layout, except: snapshot.metadata)
    }

    // MARK: - Private

    private func checkUsable() throws(DurableLogError) {
        if let failure { throw failure }
    }

    private func writeSnapshotFile(_ snapshot: Snapshot) throws(DurableLogError) {
        try Self.writeSnapshotFile(snapshot, layout: layout)
    }

    /// Writes (and fsyncs) a snapshot file without touching the log, so an owner can do the slow
    /// part away from its Raft loop and then call `compact(…, snapshotFileWritten: true)`.
    public static func writeSnapshotFile(_ snapshot: Snapshot, layout: StorageLayout) throws(DurableLogError) {
        let path = layout.snapshotPath(index: snapshot.metadata.index, term: snapshot.metadata.term)
        try FileIO.writeAtomically(path, SnapshotFile.encode(snapshot))
    }

    /// Makes a new raft directory: assembled under `raft.tmp`, then renamed into place, so a
    /// crash during creation leaves either nothing or the whole thing.
    /// Creates a brand-new data directory's `raft/` for a cluster restored from a backup
    /// (`ClusterRestore`): a fresh identity, an empty membership, and a base snapshot at
    /// (`index`, `term`) without data — the state database, restored beforehand, holds it. The
    /// log starts empty after it; the hard state is at `term` with no vote and `index` committed.
    public static func createRestored(dataDirectory: String, nodeID: NodeID, index: LogIndex, term: Term)
        throws(DurableLogError) -> DataDirIdentity
    {
        let layout = StorageLayout(dataDirectory: dataDirectory)
        try FileIO.makeDirectories(layout.dataDirectory)
        if FileIO.exists(layout.raftStagingDirectory) { try FileIO.removeTree(layout.raftStagingDirectory) }
        let identity = DataDirIdentity.fresh(nodeID: nodeID)
        try create(
            layout, identity: identity, configuration: Configuration(voters: []), baseIndex: index, baseTerm: term)
        return identity
    }

    private static func create(
        _ layout: StorageLayout, identity: DataDirIdentity, configuration: Configuration, baseIndex: LogIndex = 0,
        baseTerm: Term = 0
    )
        throws(DurableLogError)
    {
        let staging = layout.raftStagingDirectory
        try FileIO.makeDirectories(staging + "/snapshot")
        try FileIO.writeAtomically(staging + "/identity", IdentityFile.encode(identity))
        let base = Snapshot(
            metadata: SnapshotMetadata(index: baseIndex, term: baseTerm, configuration: configuration), data: [])
        try FileIO.writeAtomically(
            staging + "/snapshot/" + SnapshotFile.fileName(index: baseIndex, term: baseTerm), SnapshotFile.encode(base))
        var writer = ByteWriter()
        writer.write(WALFormat.fileHeader())
        WALFormat.append(
            .snapshotMarker(
                SnapshotMarker(
                    snapshotIndex: baseIndex, snapshotTerm: baseTerm, logStartIndex: baseIndex, logStartTerm: baseTerm)),
            to: &writer)
        var hardState = HardState()
        if baseIndex > 0 {
            hardState.term = baseTerm
            hardState.commit = baseIndex
        }
        WALFormat.append(.hardState(hardState), to: &writer)
        // Also makes the staging directory's entries (snapshot/, wal) durable.
        try FileIO.writeAtomically(staging + "/wal", writer.bytes)
        try FileIO.rename(staging, to: layout.raftDirectory)
        try FileIO.fsyncDirectory(layout.dataDirectory)
        try? FileIO.fsyncDirectory(FileIO.directory(of: layout.dataDirectory))
    }

    /// Rebuilds the mirror from the WAL's records (the snapshot's data is loaded afterwards).
    /// Returns the commit index as stored when it had to be lowered to the log's end.
    private static func replay(
        _ records: [WALScanner.Located], layout: StorageLayout
    ) throws(DurableLogError) -> (LogMirror, LogIndex?) {
        func invalid(_ offset: Int, _ reason: String) -> DurableLogError {
            .invalidRecord(path: layout.walPath, offset: offset, reason: reason)
        }
        guard let first = records.first, case .snapshotMarker(let firstMarker) = first.record else {
            throw invalid(
                records.first?.offset ?? WALFormat.fileHeaderBytes,
                "the WAL must start with a snapshot marker")
        }
        func placeholder(_ marker: SnapshotMarker) -> Snapshot {
            Snapshot(
                metadata: SnapshotMetadata(
                    index: marker.snapshotIndex, term: marker.snapshotTerm,
                    configuration: Configuration(voters: [])),
                data: [])
        }
        var mirror = LogMirror(
            hardState: HardState(), snapshot: placeholder(firstMarker),
            logStartIndex: firstMarker.logStartIndex,
            logStartTerm: firstMarker.logStartTerm)
        for located in records {
            switch located.record {
            case .hardState(let state):
                mirror.hardState = state
            case .entry(let entry):
                guard mirror.canAppend([entry]) else {
                    throw invalid(
                        located.offset,
                        "entry \(entry.index) does not fit the log \(mirror.firstIndex)...\(mirror.lastIndex)")
                }
                mirror.append([entry])
            case .snapshotMarker(let marker):
                guard marker.logStartIndex <= marker.snapshotIndex,
                    marker.snapshotIndex >= mirror.snapshot.metadata.index
                else { throw invalid(located.offset, "snapshot marker goes backwards") }
                mirror.restart(at: marker, snapshot: placeholder(marker))
            }
        }
        let snapshotIndex = mirror.snapshot.metadata.index
        guard mirror.lastIndex >= snapshotIndex,
            (try? mirror.term(at: snapshotIndex)) == mirror.snapshot.metadata.term
        else {
            throw invalid(records.last!.offset, "the log does not reach the snapshot it starts from")
        }
        var clampedFrom: LogIndex?
        if mirror.hardState.commit > mirror.lastIndex {
            // The entries the commit index covered were in a torn tail: they were never fsynced,
            // so nothing was acknowledged for them. The commit index is only a hint; lower it.
            clampedFrom = mirror.hardState.commit
            mirror.hardState.commit = mirror.lastIndex
        }
        return (mirror, clampedFrom)
    }

    private static func loadSnapshot(_ layout: StorageLayout, index: LogIndex, term: Term)
        throws(DurableLogError) -> Snapshot
    {
        let path = layout.snapshotPath(index: index, term: term)
        guard let bytes = try FileIO.readAll(path) else {
            throw .missingSnapshot(path: path, index: index, term: term)
        }
        let snapshot = try SnapshotFile.decode(bytes, path: path)
        guard snapshot.metadata.index == index, snapshot.metadata.term == term else {
            throw .corruptSnapshot(
                path: path,
                reason:
                    "holds index \(snapshot.metadata.index) term \(snapshot.metadata.term), expected \(index) term \(term)"
            )
        }
        return snapshot
    }

    /// Removes temporary files and snapshot files other than the current one.
    private static func removeLeftovers(_ layout: StorageLayout, keeping current: SnapshotMetadata)
        throws(DurableLogError) -> [String]
    {
        var removed: [String] = []
        let walTemporary = layout.walPath + ".tmp"
        if FileIO.exists(walTemporary) {
            try FileIO.unlinkFile(walTemporary)
            removed.append(walTemporary)
        }
        removed += try removeSnapshots(layout, except: current)
        if !removed.isEmpty { try FileIO.fsyncDirectory(layout.raftDirectory) }
        return removed
    }

    /// Removes every file in the snapshot directory but the one for `current`.
    private static func removeSnapshots(_ layout: StorageLayout, except current: SnapshotMetadata)
        throws(DurableLogError) -> [String]
    {
        let keep = SnapshotFile.fileName(index: current.index, term: current.term)
        var removed: [String] = []
        for name in try FileIO.list(layout.snapshotDirectory) where name != keep {
            let path = layout.snapshotDirectory + "/" + name
            try FileIO.unlinkFile(path)
            removed.append(path)
        }
        if !removed.isEmpty { try FileIO.fsyncDirectory(layout.snapshotDirectory) }
        return removed
    }
}
