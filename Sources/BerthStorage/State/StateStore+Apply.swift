import BerthControlPlane
import BerthRaft
import Foundation
import GRDB

extension StateStore {
    /// Applies one committed command at (`index`, `term`) in one transaction with the applied
    /// index. An index at or below the applied index is a no-op (`.alreadyApplied`); an index
    /// past `lastApplied + 1` throws `.applyGap`. The command's idempotency key, when it was
    /// used within 24 h (by the commands' own timestamps), returns the first answer
    /// (`.replayed`) instead of applying twice.
    public func apply(index: LogIndex, term: Term, command: StateCommand) throws(StateStoreError)
        -> ApplyResult
    {
        try applyBatch([(index, term, .some(command))])[0]
    }

    /// Applies one committed log entry: a command payload is decoded and applied (bytes that are
    /// not a `StateCommand` are rejected as `.malformedCommand`, identically everywhere); empty
    /// and configuration entries only advance the applied index.
    public func apply(_ entry: Entry) throws(StateStoreError) -> ApplyResult {
        try apply([entry])[0]
    }

    /// Applies committed entries in order, all in one transaction (one fsync for the batch).
    public func apply(_ entries: [Entry]) throws(StateStoreError) -> [ApplyResult] {
        try applyBatch(
            entries.map { entry in
                switch entry.payload {
                case .command(let bytes): return (entry.index, entry.term, StateCommand(encoded: bytes))
                case .empty, .configChange: return (entry.index, entry.term, .some(.noop))
                }
            })
    }

    /// One transaction: each item applied in turn, then the applied index written once. The
    /// fleet's lock is held throughout, so readers see the view and its index change together.
    private func applyBatch(_ items: [(LogIndex, Term, StateCommand?)]) throws(StateStoreError)
        -> [ApplyResult]
    {
        guard !items.isEmpty else { return [] }
        do {
            return try fleetBox.withLock { (fleet: inout FleetSnapshot) throws(StateStoreError) -> [ApplyResult] in
                let (results, applied) = try Self.wrap {
                    try writer.write { db in
                        var position = try Self.appliedPosition(in: db)
                        let start = position
                        var results: [ApplyResult] = []
                        results.reserveCapacity(items.count)
                        for (index, term, command) in items {
                            guard index > position.index else {
                                results.append(.alreadyApplied(index: index))
                                continue
                            }
                            guard index == position.index + 1 else {
                                throw StateStoreError.applyGap(lastApplied: position.index, index: index)
                            }
                            if let command {
                                results.append(try Self.execute(command, index: index, in: db, fleet: &fleet))
                            } else {
                                results.append(.applied(index: index, outcome: .rejected(.malformedCommand)))
                            }
                            position = AppliedPosition(index: index, term: term)
                        }
                        if position != start { try position.update(db) }
                        return (results, position.index)
                    }
                }
                fleet.appliedIndex = applied
                return results
            }
        } catch {
            // The transaction rolled back, but the view may hold some of its changes.
            try? reloadFleet()
            throw error
        }
    }

    /// Applies one command, honouring its idempotency key.
    private static func execute(
        _ command: StateCommand, index: LogIndex, in db: Database, fleet: inout FleetSnapshot
    ) throws -> ApplyResult {
        guard let key = command.idempotencyKey, let nowMs = command.timestampMs else {
            return .applied(index: index, outcome: try perform(command, index: index, in: db, fleet: &fleet))
        }
        let oldestKeptMs = nowMs - IdempotencyRecord.windowMs
        // Keys older than the window are forgotten, by the command's own clock: a stale row is
        // treated as absent (and overwritten), so the answer is deterministic whenever the rows
        // are removed. Removing them is a statement of its own, so it runs at every
        // `purgeEveryIndices`-th index instead of at every write (the same indices on every member).
        if index % IdempotencyRecord.purgeEveryIndices == 0 {
            try db.cachedStatement(sql: "DELETE FROM idempotency_keys WHERE created_at_ms < ?")
                .execute(arguments: [oldestKeptMs])
        }
        // Every write carries a key (its client's or one its node made up), so this path runs
        // for every write on every node: cached statements, and the answer as a blob.
        if let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT response, request_hash, created_at_ms FROM idempotency_keys WHERE key = ?"),
            arguments: [key]), (row["created_at_ms"] as Int64) >= oldestKeptMs
        {
            let firstHash = UInt64(bitPattern: row["request_hash"] as Int64)
            if firstHash != 0, command.requestHash != 0, firstHash != command.requestHash {
                return .applied(index: index, outcome: .rejected(.idempotencyKeyReused(key: key)))
            }
            let response: Data = row["response"]
            guard let outcome = CommandOutcome(encoded: Array(response)) else {
                throw StateStoreError.corruptIdempotencyRecord(key: key)
            }
            return .replayed(index: index, outcome: outcome)
        }
        let outcome = try perform(command, index: index, in: db, fleet: &fleet)
        try db.cachedStatement(
            sql: """
                INSERT INTO idempotency_keys (key, created_at_ms, status_code, response, request_hash)
                VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (key) DO UPDATE SET created_at_ms = excluded.created_at_ms,
                    status_code = excluded.status_code, response = excluded.response,
                    request_hash = excluded.request_hash
                """
        ).execute(arguments: [
            key, nowMs, outcome.httpStatus, Data(outcome.encoded()), Int64(bitPattern: command.requestHash),
        ])
        return .applied(index: index, outcome: outcome)
    }

    /// The state change itself. What a command means is decided in `BerthControlPlane` (the
    /// fleet view for node truth and cordons, `JobRules`, `LaunchRules`); here the rows are read,
    /// the decision asked for, and its result written. Refusals are outcomes, not errors: they
    /// are part of the replicated history and must come out the same on every node.
    private static func perform(
        _ command: StateCommand, index: LogIndex, in db: Database, fleet: inout FleetSnapshot
    ) throws -> CommandOutcome {
        switch command {
        case .recordEnvelope(let record):
            let truth: NodeTruth
            do {
                truth = try fleet.view.upsert(record.envelope, receivedAtMs: record.receivedAtMs)
            } catch {
                return .rejected(
                    .staleSequence(nodeID: error.nodeID, stored: error.storedSequence, offered: error.offeredSequence))
            }
            try saveNode(truth, index: index, in: db)
            fleet.changedIndex = index
            return .nodeRecorded(truth: truth)
        case .cordonNode(let cordon):
            do {
                if cordon.cordoned {
                    try fleet.view.cordon(cordon.nodeID, atMs: cordon.atMs, draining: cordon.draining)
                } else {
                    try fleet.view.uncordon(cordon.nodeID)
                }
            } catch {
                return .rejected(.nodeNotFound(id: cordon.nodeID))
            }
            guard let truth = fleet.view.truth(of: cordon.nodeID) else {
                return .rejected(.nodeNotFound(id: cordon.nodeID))
            }
            try saveNode(truth, index: index, in: db)
            fleet.changedIndex = index
            return .nodeCordoned(truth: truth)
        case .executeLaunch(let execute):
            return try executeLaunch(execute, in: db, fleet: &fleet)
        case .reportLaunch(let report):
            return try reportLaunch(report, in: db, fleet: &fleet)
        case .terminateLaunch(let terminate):
            return try terminateLaunch(terminate, in: db, fleet: &fleet)
        case .noop:
            return .noop
        case .setMember(let member):
            try member.save(db)
            return .memberRecorded(member: member)
        case .createJob(let create):
            // Optimistic: a new id is the common case, so try the insert the rules would make
            // for no existing job (one statement, the primary-key index searched once), and read
            // the existing job only when the id is taken.
            let maxRuns = create.maxConcurrentRuns ?? JobRecord.defaultMaxConcurrentRuns
            // A one-off job runs now: its `depends_on` jobs must have succeeded already.
            if let plan = create.plan, plan.schedule == nil,
                let unmet = try Self.firstUnmetDependency(plan.dependsOn, in: db),
                try Self.job(create.id, in: db) == nil
            {
                return .rejected(
                    .dependencyNotSatisfied(id: create.id, dependency: unmet.id, status: unmet.status))
            }
            var decision = JobRules.create(
                existing: nil, id: create.id, command: create.command, image: create.image, backend: create.backend,
                maxConcurrentRuns: maxRuns, plan: create.plan, atMs: create.createdAtMs)
            if case .write(let job) = decision {
                if try Self.insertNew(job, in: db) {
                    // The job's first run, as a launch waiting for the leader to place it.
                    try Self.startRun(of: job, atMs: create.createdAtMs, in: db)
                } else {
                    decision = JobRules.create(
                        existing: try Self.job(create.id, in: db), id: create.id, command: create.command,
                        image: create.image, backend: create.backend, maxConcurrentRuns: maxRuns,
                        plan: create.plan, atMs: create.createdAtMs)
                    if case .write = decision {
                        throw StateStoreError.corruptRow(
                            table: "jobs", reason: "\(create.id): the insert conflicted but no row has that id")
                    }
                }
            }
            switch decision {
            case .write(let job), .unchanged(let job): return .jobCreated(job: job)
            case .refused(let refusal): return .rejected(CommandRejection(refusal))
            }
        case .cancelJob(let cancel):
            let decision = JobRules.cancel(existing: try Self.job(cancel.id, in: db), id: cancel.id, atMs: cancel.atMs)
            if case .write(let job) = decision, let runID = job.runID {
                // Its current run stops through the launch terminate path.
                try Self.terminateRun(runID, atMs: cancel.atMs, in: db, fleet: &fleet)
            }
            return try Self.store(decision, in: db, answer: CommandOutcome.jobCancelled)
        case .startJob(let start):
            let decision = JobRules.start(
                existing: try Self.job(start.id, in: db), id: start.id, executedBy: start.executedBy, atMs: start.atMs)
            return try Self.store(decision, in: db, answer: CommandOutcome.jobUpdated)
        case .finishJob(let finish):
            let decision = JobRules.finish(
                existing: try Self.job(finish.id, in: db), id: finish.id, succeeded: finish.succeeded,
                output: finish.output, error: finish.error, atMs: finish.atMs)
            return try Self.store(decision, in: db, answer: CommandOutcome.jobUpdated)
        case .triggerJob(let trigger):
            return try Self.triggerJob(trigger, in: db)
        case .setSchedulerPaused(let set):
            return try Self.setSchedulerPaused(set, in: db)
        case .markNodeLost(let mark):
            return try Self.markNodeLost(mark, index: index, in: db, fleet: &fleet)
        case .moveLaunch(let move):
            return try Self.moveLaunch(move, in: db, fleet: &fleet)
        case .drainNode(let drain):
            return try Self.drainNode(drain, index: index, in: db, fleet: &fleet)
        case .reportOrphans(let report):
            return try Self.reportOrphans(report, index: index, in: db, fleet: &fleet)
        case .sweepOrphans(let sweep):
            return try Self.sweepOrphans(sweep, index: index, in: db, fleet: &fleet)
        case .fireJob(let fire):
            return try Self.fireJob(fire, in: db)
        case .retryJob(let retry):
            return try Self.retryJob(retry, in: db)
        }
    }

    /// Writes what the job rules decided for an existing job, and answers.
    static func store(_ decision: JobDecision, in db: Database, answer: (JobRecord) -> CommandOutcome) throws
        -> CommandOutcome
    {
        switch decision {
        case .write(let job):
            try job.update(db)
            return answer(job)
        case .unchanged(let job): return answer(job)
        case .refused(let refusal): return .rejected(CommandRejection(refusal))
        }
    }

    // Apply runs these for every write on every node: cached statements are prepared once per
    // connection instead of once per write.

    /// Inserts a new job; false (and nothing written) when its id is taken. One statement, so
    /// the primary-key index is searched once.
    private static func insertNew(_ job: JobRecord, in db: Database) throws -> Bool {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO jobs (id, command, image, status, created_at_ms, updated_at_ms, executed_by, output, error,
                    backend, run_id, run_count, max_concurrent_runs, plan, last_due_ms, retry_at_ms, attempt)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING
                """)
        let plan = job.plan.map { String(decoding: StateCommand.canonicalJSON($0), as: UTF8.self) }
        try statement.execute(arguments: [
            job.id, job.command, job.image, job.status.rawValue, job.createdAtMs, job.updatedAtMs, job.executedBy,
            job.output, job.error, job.backend, job.runID, job.runCount, job.maxConcurrentRuns, plan, job.lastDueMs,
            job.retryAtMs, job.attempt,
        ])
        return db.changesCount == 1
    }

    static func job(_ id: String, in db: Database) throws -> JobRecord? {
        try JobRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM jobs WHERE id = ?"), arguments: [id])
    }
}
