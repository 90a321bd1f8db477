import BerthRaft
import BerthStorage
import Dispatch
import Foundation

/// How the Raft loop carries out a `Ready` (`ReadyPipeline` decides the order): the log's write
/// and fsync run on the writer queue while the loop keeps ticking and taking messages; the
/// apply to SQLite and the answers to waiting clients run on the loop once the write is
/// durable.
extension RaftLoop: ReadyOwner {
    /// Carries out whatever the core has, then publishes the status handlers read.
    func drive() {
        guard !stopped else { return }
        pipeline.run()
        afterReadys()
    }

    func send(_ messages: [Message]) {
        transport?.send(messages)
    }

    func write(_ ready: Ready) -> ReadyWrite {
        metrics.readies.increment()
        var durable = ready
        if let snapshot = ready.snapshot, ReceivedSnapshotToken.path(in: snapshot.data) != nil {
            // Received into a file: the log keeps the snapshot without data (like a compaction,
            // the state database is the snapshot once restored; until then the file is).
            durable.snapshot?.data = []
        }
        let prepared: DurableLogStorage.PreparedWrite
        do {
            prepared = try log.prepare(durable)
        } catch {
            stopOnStorageFailure(error)
        }
        // Only a commit index moved: a plain write with no fsync, here and now.
        guard prepared.mustSync || ready.snapshot != nil else {
            perform(prepared, startedAt: DispatchTime.now().uptimeNanoseconds)
            return .done
        }
        let startedAt = DispatchTime.now().uptimeNanoseconds
        let delay = hooks.fsyncDelayMilliseconds
        writer.async {
            if delay > 0 { usleep(UInt32(delay) * 1000) }
            let result = Result { () throws(DurableLogError) in try self.log.perform(prepared) }
            self.eventLoop.execute {
                guard !self.stopped else { return }
                switch result {
                case .failure(let error): self.stopOnStorageFailure(error)
                case .success(let fsync): self.recordFsync(fsync)
                }
                self.log.complete(prepared)
                self.recordPersist(since: startedAt)
                self.pipeline.writeCompleted()
                self.afterReadys()
            }
        }
        return .pending
    }

    private func perform(_ prepared: DurableLogStorage.PreparedWrite, startedAt: UInt64) {
        do {
            recordFsync(try log.perform(prepared))
        } catch {
            stopOnStorageFailure(error)
        }
        log.complete(prepared)
        recordPersist(since: startedAt)
    }

    private func recordFsync(_ nanoseconds: UInt64?) {
        if let nanoseconds { metrics.fsyncDuration.recordNanoseconds(Int64(nanoseconds)) }
    }

    private func recordPersist(since start: UInt64) {
        metrics.persistDuration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start))
    }

    /// Without durable storage this node must not answer anyone: stop it.
    private func stopOnStorageFailure(_ error: any Error) -> Never {
        if let error = error as? DurableLogError { log.fail(error) }
        logger.critical("cannot persist the raft log; stopping", metadata: ["error": "\(error)"])
        fatalError("raft log persist failed: \(error)")
    }

    func apply(_ ready: Ready) {
        if ready.snapshot != nil { membershipChanged = true }
        do {
            if let snapshot = ready.snapshot {
                let restored: AppliedPosition
                if let file = ReceivedSnapshotToken.path(in: snapshot.data) {
                    // Restored and fsynced: the file has served its purpose.
                    restored = try state.restore(fromFile: file)
                    try? FileManager.default.removeItem(atPath: file)
                } else {
                    restored = try state.restore(from: snapshot.data)
                }
                lastSnapshotIndex = snapshot.metadata.index
                logger.info("installed snapshot from leader", metadata: ["index": "\(restored.index)"])
                metrics.snapshotsInstalled.increment()
                failProposals(upTo: snapshot.metadata.index)
            }
            let applyStart = DispatchTime.now().uptimeNanoseconds
            let results = try state.apply(ready.committedEntries)
            if !ready.committedEntries.isEmpty {
                metrics.applyDuration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - applyStart))
                metrics.entriesApplied.increment(by: ready.committedEntries.count)
            }
            for (entry, result) in zip(ready.committedEntries, results) {
                if case .configChange = entry.payload { membershipChanged = true }
                if case .memberRecorded? = result.outcome { membershipChanged = true }
                complete(entry: entry, result: result)
            }
        } catch {
            logger.critical("cannot apply committed entries; stopping", metadata: ["error": "\(error)"])
            fatalError("state machine apply failed: \(error)")
        }
        for read in ready.readStates {
            readsAwaitingIndex.removeValue(forKey: read.id)?.succeed(read.index)
        }
        for id in ready.failedReads {
            readsAwaitingIndex.removeValue(forKey: id)?.fail(WriteFailure.leadershipLost)
        }
        if let abort = ready.transferAborted {
            if let waiter = transferWaiter, waiter.target == abort.target {
                transferWaiter = nil
                waiter.promise.fail(TransferFailure.aborted(abort))
            }
            // Writes held for the transfer can be proposed here again: wake them as a status
            // change would (role, leader and term did not move), instead of at their deadline.
            for waiter in statusWaiters { waiter.succeed() }
            statusWaiters = []
        }
        if let soft = ready.softState {
            logger.info(
                "raft role changed",
                metadata: [
                    "role": "\(soft.role.rawValue)", "leader": "\(soft.leader)", "term": "\(node.basicStatus.term)",
                ])
            if soft.leader != .none, soft.leader != lastKnownLeader {
                lastKnownLeader = soft.leader
                noteLeader(soft.leader)
                metrics.leaderChanges.increment()
            }
            metrics.isLeader.record(soft.role == .leader ? 1 : 0)
            if let waiter = transferWaiter, soft.leader == waiter.target {
                transferWaiter = nil
                waiter.promise.succeed()
            }
        }
    }

    /// After the pipeline advanced the core: publish the status request handlers read, update
    /// gauges, re-sync peers after membership changes, release reads, compact the log.
    private func afterReadys() {
        let status = node.basicStatus
        if status != lastStatus {
            if status.refusedMessages > lastStatus.refusedMessages {
                logger.warning(
                    "refused a peer message that no correct peer sends",
                    metadata: ["reason": "\(node.status.lastRefusal ?? "?")", "total": "\(status.refusedMessages)"])
                metrics.refusedMessages.increment(by: status.refusedMessages - lastStatus.refusedMessages)
            }
            if status.role == .candidate, lastStatus.role != .candidate || status.term != lastStatus.term {
                metrics.electionsStarted.increment()
            }
            let moved =
                status.role != lastStatus.role || status.leader != lastStatus.leader || status.term != lastStatus.term
            lastStatus = status
            publishedStatus.withLockedValue { $0 = status }
            if moved, !statusWaiters.isEmpty {
                for waiter in statusWaiters { waiter.succeed() }
                statusWaiters = []
            }
            metrics.term.record(Int64(status.term))
            LogContext.setTerm(status.term, node: config.nodeID)
            metrics.commitIndex.record(Int64(status.commit))
            metrics.appliedIndex.record(Int64(status.applied))
            if !appliedWaiters.isEmpty {
                appliedWaiters.removeAll { waiter in
                    guard status.applied > waiter.after else { return false }
                    waiter.promise.succeed()
                    return true
                }
            }
        }
        if membershipChanged {
            membershipChanged = false
            onMembershipApplied?(node.status)
        }
        reportHasLog()
        releaseReads()
        if !pipeline.isWriting, let compaction = pendingCompaction {
            pendingCompaction = nil
            compact(at: compaction.index, configuration: compaction.configuration)
        }
        maybeSnapshot()
    }

    private func complete(entry: Entry, result: ApplyResult) {
        guard !proposals.isEmpty else { return }
        let (committed, replaced) = proposals.applied(index: entry.index, term: entry.term)
        if let committed {
            committed.deadline.cancel()
            committed.promise.succeed(result.outcome ?? .noop)
        }
        for pending in replaced {
            pending.deadline.cancel()
            metrics.proposalsFailed.increment()
            pending.promise.fail(WriteFailure.lostInLeaderChange)
        }
    }

    /// A snapshot from the leader covered these indices: the entries there may be ours or not.
    private func failProposals(upTo index: LogIndex) {
        for pending in proposals.covered(upTo: index) {
            pending.deadline.cancel()
            metrics.proposalsFailed.increment()
            pending.promise.fail(
                WriteFailure.outcomeUnknown(
                    reason: "a snapshot from the leader replaced this node's log before the entry applied"))
        }
    }

    private func releaseReads() {
        guard !readsAwaitingApply.isEmpty else { return }
        let applied = lastStatus.applied
        readsAwaitingApply.removeAll { read in
            guard read.index <= applied else { return false }
            read.promise.succeed()
            return true
        }
    }

    /// Compacts the log every `snapshotThresholdEntries` applied entries without copying the
    /// state (etcd's approach): the SQLite database already holds the state at the applied
    /// index, so it is made durable (fsync, off the loop) and the log is cut behind that index
    /// with a snapshot that carries no data. A follower that needs the state gets a copy made
    /// when it is sent (`StateStore.snapshotData`, possibly newer than the snapshot's index —
    /// the applies it already holds are skipped). Copying the whole database here instead cost
    /// a core for seconds once the state reached 100 MB.
    private func maybeSnapshot() {
        let applied = lastStatus.applied
        guard !snapshotInProgress, pendingCompaction == nil,
            applied >= lastSnapshotIndex + LogIndex(config.snapshotThresholdEntries)
        else {
            return
        }
        guard let term = try? log.term(at: applied) else { return }
        snapshotInProgress = true
        // The membership as of `applied`, which is what the core reports now.
        let snapshot = Snapshot(
            metadata: SnapshotMetadata(index: applied, term: term, configuration: node.status.configuration),
            data: [])
        let state = self.state
        let layout = log.layout
        snapshotQueue.async {
            let written = Result {
                try state.syncToDisk()
                try DurableLogStorage.writeSnapshotFile(snapshot, layout: layout)
            }
            self.eventLoop.execute {
                self.snapshotInProgress = false
                do {
                    try written.get()
                } catch {
                    self.logger.error("log compaction failed; will retry", metadata: ["error": "\(error)"])
                    self.lastSnapshotIndex = applied
                    return
                }
                // The WAL is rewritten by compaction: never while the writer queue holds it.
                if self.pipeline.isWriting {
                    self.pendingCompaction = (applied, snapshot.metadata.configuration)
                } else {
                    self.compact(at: applied, configuration: snapshot.metadata.configuration)
                }
            }
        }
    }

    private func compact(at index: LogIndex, configuration: Configuration) {
        do {
            try log.compact(snapshotAt: index, configuration: configuration, data: [], snapshotFileWritten: true)
            metrics.logCompactions.increment()
            logger.info("log compacted", metadata: ["index": "\(index)"])
        } catch {
            logger.error("log compaction failed; will retry", metadata: ["error": "\(error)"])
        }
        lastSnapshotIndex = index
    }
}
