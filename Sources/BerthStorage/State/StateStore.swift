import BerthControlPlane
import BerthRaft
import Foundation
import GRDB

/// The replicated state machine, in SQLite: changed only by applying committed log entries,
/// each in one transaction with the applied index, so a restart neither re-applies nor skips.
///
/// One store per node. The database runs in WAL mode with `synchronous=NORMAL`: a power loss
/// may roll back the last applies, but never tears one, and `last_applied` rolls back with
/// them, so a restart re-applies those entries from the Raft log (which is fsynced before
/// anything is applied). If the rollback went behind the latest snapshot — whose compaction may
/// have removed those entries — `restoreIfBehind` restores the snapshot first. The Raft log is
/// the durable record; fsyncing SQLite too would double the fsyncs per write for nothing. Reads run concurrently with the Raft loop's applies, and every
/// method is one transaction. Schema changes are registered migrations, one per version, never
/// edited once shipped (docs/storage.md, "State database").
public final class StateStore: Sendable {
    let writer: any DatabaseWriter
    /// The fleet in memory (`StateStore+Fleet.swift`).
    let fleetBox = FleetBox()
    /// The database file, or nil for an in-memory store.
    public let path: String?

    /// Opens (creating when needed) the database at `path` and migrates it to the current schema.
    public convenience init(path: String) throws(StateStoreError) {
        do {
            try FileManager.default.createDirectory(
                atPath: FileIO.directory(of: path), withIntermediateDirectories: true)
        } catch {
            throw .io(operation: "mkdir", path: FileIO.directory(of: path), reason: "\(error)")
        }
        removeLeftoverTemporaryFiles(besides: path)
        let pool = try Self.wrap {
            let pool = try DatabasePool(path: path, configuration: Self.configuration())
            // NORMAL is enough: see the type's comment.
            try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = NORMAL") }
            return pool
        }
        try self.init(writer: pool, path: path)
    }

    /// Opens the store at the layout's `state/berth.sqlite`.
    public convenience init(layout: StorageLayout) throws(StateStoreError) {
        try self.init(path: layout.stateDatabasePath)
    }

    /// An in-memory store with the same schema, for tests that need no durability.
    public static func inMemory() throws(StateStoreError) -> StateStore {
        let queue = try wrap { try DatabaseQueue(configuration: configuration()) }
        return try StateStore(writer: queue, path: nil)
    }

    private init(writer: any DatabaseWriter, path: String?) throws(StateStoreError) {
        self.writer = writer
        self.path = path
        try Self.wrap { try Self.migrator.migrate(writer) }
        try reloadFleet()
    }

    static func configuration() -> GRDB.Configuration {
        var configuration = GRDB.Configuration()
        configuration.label = "berth.state"
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        return configuration
    }

    /// The schema, one migration per version. Never edit a shipped migration: add a new one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: meta, jobs, idempotency_keys") { db in
            try db.execute(
                sql: """
                    CREATE TABLE meta (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        last_applied_index INTEGER NOT NULL,
                        last_applied_term INTEGER NOT NULL
                    );
                    INSERT INTO meta (id, last_applied_index, last_applied_term) VALUES (1, 0, 0);

                    CREATE TABLE jobs (
                        id TEXT PRIMARY KEY NOT NULL,
                        command TEXT NOT NULL,
                        image TEXT,
                        status TEXT NOT NULL,
                        created_at_ms INTEGER NOT NULL,
                        updated_at_ms INTEGER NOT NULL,
                        executed_by TEXT,
                        output TEXT,
                        error TEXT
                    );
                    CREATE INDEX jobs_by_created ON jobs (created_at_ms, id);
                    CREATE INDEX jobs_by_status ON jobs (status, created_at_ms, id);
                    CREATE INDEX jobs_by_executed_by ON jobs (executed_by, created_at_ms, id);

                    CREATE TABLE idempotency_keys (
                        key TEXT PRIMARY KEY NOT NULL,
                        created_at_ms INTEGER NOT NULL,
                        status_code INTEGER NOT NULL,
                        response BLOB NOT NULL
                    );
                    CREATE INDEX idempotency_keys_by_created ON idempotency_keys (created_at_ms);
                    """)
        }
        migrator.registerMigration("v2: members") { db in
            try db.execute(
                sql: """
                    CREATE TABLE members (
                        node_id INTEGER PRIMARY KEY NOT NULL,
                        peer_address TEXT NOT NULL,
                        http_address TEXT NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v3: idempotency keys bound to their request") { db in
            try db.execute(
                sql: "ALTER TABLE idempotency_keys ADD COLUMN request_hash INTEGER NOT NULL DEFAULT 0")
        }
        migrator.registerMigration("v4: nodes (placement's node truth)") { db in
            try db.execute(
                sql: """
                    CREATE TABLE nodes (
                        node_id TEXT PRIMARY KEY NOT NULL,
                        truth TEXT NOT NULL,
                        sequence INTEGER NOT NULL,
                        changed_index INTEGER NOT NULL
                    );
                    CREATE TABLE fleet_meta (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        changed_index INTEGER NOT NULL
                    );
                    INSERT INTO fleet_meta (id, changed_index) VALUES (1, 0);
                    """)
        }
        migrator.registerMigration("v5: launches") { db in
            try db.execute(
                sql: """
                    CREATE TABLE launches (
                        id TEXT PRIMARY KEY NOT NULL,
                        node_id TEXT,
                        state TEXT NOT NULL,
                        created_at_ms INTEGER NOT NULL,
                        updated_at_ms INTEGER NOT NULL,
                        record TEXT NOT NULL
                    );
                    CREATE INDEX launches_by_created ON launches (created_at_ms, id);
                    CREATE INDEX launches_by_state ON launches (state, created_at_ms, id);
                    CREATE INDEX launches_by_node ON launches (node_id, state, created_at_ms, id);
                    """)
        }
        migrator.registerMigration("v6: launch placements kept apart from the record") { db in
            try db.execute(sql: "ALTER TABLE launches ADD COLUMN placement BLOB")
        }
        migrator.registerMigration("v7: jobs run as launches; run outputs; scheduler state") { db in
            try db.execute(
                sql: """
                    ALTER TABLE jobs ADD COLUMN backend TEXT;
                    ALTER TABLE jobs ADD COLUMN run_id TEXT;
                    ALTER TABLE jobs ADD COLUMN run_count INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE jobs ADD COLUMN max_concurrent_runs INTEGER NOT NULL DEFAULT 1;
                    CREATE TABLE job_runs (
                        run_id TEXT PRIMARY KEY NOT NULL,
                        job_id TEXT NOT NULL,
                        number INTEGER NOT NULL,
                        created_at_ms INTEGER NOT NULL
                    );
                    CREATE INDEX job_runs_by_job ON job_runs (job_id, number);
                    CREATE TABLE launch_outputs (
                        launch_id TEXT PRIMARY KEY NOT NULL,
                        stdout TEXT NOT NULL,
                        stderr TEXT NOT NULL,
                        truncated INTEGER NOT NULL
                    );
                    CREATE TABLE scheduler_state (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        paused INTEGER NOT NULL,
                        changed_at_ms INTEGER NOT NULL
                    );
                    INSERT INTO scheduler_state (id, paused, changed_at_ms) VALUES (1, 0, 0);
                    """)
        }
        migrator.registerMigration("v8: a run's job kept in its launch row") { db in
            // A `job_runs` row per run was a third random-keyed B-tree insert per job submission
            // (the write benchmark lost a quarter of its throughput). A job's runs are found by
            // their ids instead, `<job>-run-<n>`: a primary-key range of `launches`.
            try db.execute(
                sql: """
                    ALTER TABLE launches ADD COLUMN job_id TEXT;
                    ALTER TABLE launches ADD COLUMN run_number INTEGER;
                    UPDATE launches SET
                        job_id = (SELECT job_id FROM job_runs WHERE run_id = launches.id),
                        run_number = (SELECT number FROM job_runs WHERE run_id = launches.id)
                    WHERE id IN (SELECT run_id FROM job_runs);
                    DROP TABLE job_runs;
                    """)
        }
        migrator.registerMigration("v9: cron schedules, retries, fired due times, DAG run tasks") { db in
            // Partial indexes: the leader reads its cron jobs and owed retries a few times a
            // second, and they are few among many one-off jobs.
            try db.execute(
                sql: """
                    ALTER TABLE jobs ADD COLUMN plan TEXT;
                    ALTER TABLE jobs ADD COLUMN last_due_ms INTEGER;
                    ALTER TABLE jobs ADD COLUMN retry_at_ms INTEGER;
                    ALTER TABLE jobs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
                    CREATE INDEX jobs_scheduled ON jobs (id) WHERE last_due_ms IS NOT NULL;
                    CREATE INDEX jobs_retrying ON jobs (retry_at_ms) WHERE retry_at_ms IS NOT NULL;
                    CREATE TABLE job_fires (
                        job_id TEXT NOT NULL,
                        due_ms INTEGER NOT NULL,
                        at_ms INTEGER NOT NULL,
                        missed INTEGER NOT NULL,
                        outcome TEXT NOT NULL,
                        run_id TEXT,
                        PRIMARY KEY (job_id, due_ms)
                    ) WITHOUT ROWID;
                    CREATE TABLE run_tasks (
                        run_id TEXT NOT NULL,
                        name TEXT NOT NULL,
                        job_id TEXT NOT NULL,
                        position INTEGER NOT NULL,
                        state TEXT NOT NULL,
                        launch_id TEXT,
                        reason TEXT,
                        updated_at_ms INTEGER NOT NULL,
                        PRIMARY KEY (run_id, name)
                    ) WITHOUT ROWID;
                    CREATE INDEX run_tasks_by_job ON run_tasks (job_id, state);
                    """)
        }
        migrator.registerMigration("v10: node and executor indexes skip rows that have neither") { db in
            // Every job starts without an executor and every run without a node: these indexes
            // were two more B-tree inserts per submission on every member, for rows no query by
            // node or executor can match (`x = ?` implies `x IS NOT NULL`, so queries still use
            // them).
            try db.execute(
                sql: """
                    DROP INDEX launches_by_node;
                    CREATE INDEX launches_by_node ON launches (node_id, state, created_at_ms, id)
                        WHERE node_id IS NOT NULL;
                    DROP INDEX jobs_by_executed_by;
                    CREATE INDEX jobs_by_executed_by ON jobs (executed_by, created_at_ms, id)
                        WHERE executed_by IS NOT NULL;
                    """)
        }
        return migrator
    }

    /// Runs `body`, turning whatever it throws into a `StateStoreError`.
    static func wrap<T>(_ body: () throws -> T) throws(StateStoreError) -> T {
        do {
            return try body()
        } catch {
            throw storeError(error)
        }
    }

    static func storeError(_ error: any Error) -> StateStoreError {
        switch error {
        case let error as StateStoreError:
            return error
        case let error as DatabaseError:
            return .database(resultCode: error.extendedResultCode.rawValue, message: error.message ?? "\(error)")
        default:
            return .database(resultCode: -1, message: "\(error)")
        }
    }

    // MARK: - Queries

    /// Every server's replicated addresses, by node id.
    public func members() throws(StateStoreError) -> [MemberRecord] {
        try Self.wrap { try writer.read { try MemberRecord.order(Column("node_id")).fetchAll($0) } }
    }

    /// The last applied entry (index 0 before any).
    public func lastApplied() throws(StateStoreError) -> AppliedPosition {
        try Self.wrap { try writer.read { try Self.appliedPosition(in: $0) } }
    }

    /// The job with this id, if any.
    public func job(id: String) throws(StateStoreError) -> JobRecord? {
        try Self.wrap { try writer.read { try JobRecord.fetchOne($0, key: id) } }
    }

    /// The job with this id, if any, read without blocking the calling thread: HTTP handlers run
    /// on the I/O event loops, which must never wait for SQLite.
    public func job(id: String) async throws(StateStoreError) -> JobRecord? {
        do {
            return try await writer.read { try JobRecord.fetchOne($0, key: id) }
        } catch {
            throw Self.storeError(error)
        }
    }

    /// A page of jobs matching `query`, and how many match in all — read in one transaction.
    public func listJobs(_ query: JobQuery) throws(StateStoreError) -> JobPage {
        let read = try Self.jobPageRead(query)
        return try Self.wrap { try writer.read(read) }
    }

    /// `listJobs` without blocking the calling thread (a filtered count can scan the table).
    public func listJobs(_ query: JobQuery) async throws(StateStoreError) -> JobPage {
        let read = try Self.jobPageRead(query)
        do {
            return try await writer.read(read)
        } catch {
            throw Self.storeError(error)
        }
    }

    /// The read transaction behind `listJobs`.
    private static func jobPageRead(_ query: JobQuery) throws(StateStoreError)
        -> @Sendable (Database) throws -> JobPage
    {
        var after: JobPageToken?
        if let token = query.pageToken, !token.isEmpty {
            guard let decoded = JobPageToken(encoded: token) else { throw .invalidPageToken(token) }
            after = decoded
        }
        var conditions: [String] = []
        var arguments: [DatabaseValue] = []
        if let status = query.status {
            conditions.append("status = ?")
            arguments.append(status.rawValue.databaseValue)
        }
        if let text = query.commandContains, !text.isEmpty {
            conditions.append("instr(lower(command), lower(?)) > 0")
            arguments.append(text.databaseValue)
        }
        if let from = query.createdAfterMs {
            conditions.append("created_at_ms >= ?")
            arguments.append(from.databaseValue)
        }
        if let until = query.createdBeforeMs {
            conditions.append("created_at_ms <= ?")
            arguments.append(until.databaseValue)
        }
        if let worker = query.executedBy, !worker.isEmpty {
            conditions.append("executed_by = ?")
            arguments.append(worker.databaseValue)
        }
        let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        var pageConditions = conditions
        var pageArguments = arguments
        if let after {
            pageConditions.append("(created_at_ms, id) > (?, ?)")
            pageArguments += [after.createdAtMs.databaseValue, after.id.databaseValue]
        }
        let pageFilter =
            pageConditions.isEmpty ? "" : " WHERE " + pageConditions.joined(separator: " AND ")
        let pageSize = query.effectivePageSize
        pageArguments.append((pageSize + 1).databaseValue)
        let filterArguments = arguments
        let finalPageArguments = pageArguments
        return { db in
            let total =
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM jobs" + filter, arguments: StatementArguments(filterArguments))
                ?? 0
            var jobs = try JobRecord.fetchAll(
                db, sql: "SELECT * FROM jobs" + pageFilter + " ORDER BY created_at_ms, id LIMIT ?",
                arguments: StatementArguments(finalPageArguments))
            var next: String?
            if jobs.count > pageSize {
                jobs.removeLast(jobs.count - pageSize)
                next = jobs.last.map { JobPageToken(createdAtMs: $0.createdAtMs, id: $0.id).encoded }
            }
            return JobPage(jobs: jobs, nextPageToken: next, totalCount: total)
        }
    }

    static func appliedPosition(in db: Database) throws -> AppliedPosition {
        guard let position = try AppliedPosition.fetchOne(db, sql: "SELECT * FROM meta WHERE id = 1")
        else {
            throw StateStoreError.invalidSnapshot(reason: "meta has no row")
        }
        return position
    }
}

/// Removes snapshot and restore copies a crash left beside the database
/// (`.<name>.snapshot-*.tmp`, `.<name>.restore-*.tmp`).
private func removeLeftoverTemporaryFiles(besides path: String) {
    let directory = FileIO.directory(of: path)
    let prefix = "." + String(path[path.index(after: path.lastIndex(of: "/") ?? path.startIndex)...]) + "."
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    for name in names where name.hasPrefix(prefix) && name.contains(".tmp") {
        try? FileManager.default.removeItem(atPath: directory + "/" + name)
    }
}
