import BerthRaft
import BerthWire

// The core's messages to and from the peer protocol's (BerthWire knows nothing of the core),
// field for field. The way in can fail only on a membership naming a server as both voter and
// learner, which the core cannot hold; the codec already refuses such frames.

extension WireMessage {
    init(_ message: Message) {
        self.init(from: message.from, to: message.to, term: message.term, body: WireMessageBody(message.body))
    }
}

extension Message {
    /// nil when the wire message carries a membership the core cannot represent. The wire
    /// message has no incarnation of its own: the connection's hello gave the sender's.
    init?(_ wire: WireMessage, incarnation: Incarnation) {
        guard let body = MessageBody(wire.body) else { return nil }
        self.init(from: wire.from, to: wire.to, term: wire.term, body: body, incarnation: incarnation)
    }
}

extension WireMessageBody {
    init(_ body: MessageBody) {
        switch body {
        case .appendEntries(let append):
            self = .appendEntries(
                WireAppendEntries(
                    prevIndex: append.prevIndex, prevTerm: append.prevTerm, entries: append.entries.map(WireEntry.init),
                    commit: append.commit))
        case .appendEntriesResponse(let response):
            self = .appendEntriesResponse(
                WireAppendEntriesResponse(
                    success: response.success, matchIndex: response.matchIndex, conflictTerm: response.conflictTerm,
                    conflictIndex: response.conflictIndex))
        case .heartbeat(let heartbeat):
            self = .heartbeat(WireHeartbeat(commit: heartbeat.commit, readRound: heartbeat.readRound))
        case .heartbeatResponse(let response):
            self = .heartbeatResponse(WireHeartbeatResponse(readRound: response.readRound))
        case .requestVote(let vote):
            self = .requestVote(
                WireRequestVote(
                    lastIndex: vote.lastIndex, lastTerm: vote.lastTerm, preVote: vote.preVote,
                    leadershipTransfer: vote.leadershipTransfer))
        case .requestVoteResponse(let response):
            self = .requestVoteResponse(WireRequestVoteResponse(granted: response.granted, preVote: response.preVote))
        case .installSnapshot(let snapshot):
            self = .installSnapshot(WireSnapshot(snapshot))
        case .timeoutNow:
            self = .timeoutNow
        }
    }
}

extension MessageBody {
    init?(_ wire: WireMessageBody) {
        switch wire {
        case .appendEntries(let append):
            self = .appendEntries(
                AppendEntries(
                    prevIndex: append.prevIndex, prevTerm: append.prevTerm, entries: append.entries.map(Entry.init),
                    commit: append.commit))
        case .appendEntriesResponse(let response):
            self = .appendEntriesResponse(
                AppendEntriesResponse(
                    success: response.success, matchIndex: response.matchIndex, conflictTerm: response.conflictTerm,
                    conflictIndex: response.conflictIndex))
        case .heartbeat(let heartbeat):
            self = .heartbeat(Heartbeat(commit: heartbeat.commit, readRound: heartbeat.readRound))
        case .heartbeatResponse(let response):
            self = .heartbeatResponse(HeartbeatResponse(readRound: response.readRound))
        case .requestVote(let vote):
            self = .requestVote(
                RequestVote(
                    lastIndex: vote.lastIndex, lastTerm: vote.lastTerm, preVote: vote.preVote,
                    leadershipTransfer: vote.leadershipTransfer))
        case .requestVoteResponse(let response):
            self = .requestVoteResponse(RequestVoteResponse(granted: response.granted, preVote: response.preVote))
        case .installSnapshot(let snapshot):
            guard let snapshot = Snapshot(snapshot) else { return nil }
            self = .installSnapshot(snapshot)
        case .timeoutNow:
            self = .timeoutNow
        }
    }
}

extension WireEntry {
    init(_ entry: Entry) {
        let payload: WireEntryPayload
        switch entry.payload {
        case .empty: payload = .empty
        case .command(let bytes): payload = .command(bytes)
        case .configChange(let change): payload = .configChange(WireConfigChange(change))
        }
        self.init(term: entry.term, index: entry.index, payload: payload)
    }
}

extension Entry {
    init(_ wire: WireEntry) {
        let payload: EntryPayload
        switch wire.payload {
        case .empty: payload = .empty
        case .command(let bytes): payload = .command(bytes)
        case .configChange(let change): payload = .configChange(ConfigChange(change))
        }
        self.init(term: wire.term, index: wire.index, payload: payload)
    }
}

extension WireSnapshot {
    init(_ snapshot: Snapshot) {
        let configuration = snapshot.metadata.configuration
        self.init(
            metadata: WireSnapshotMetadata(
                index: snapshot.metadata.index, term: snapshot.metadata.term,
                configuration: WireConfiguration(
                    voters: configuration.voters, learners: configuration.learners,
                    incarnations: configuration.incarnations)),
            data: snapshot.data)
    }
}

extension Snapshot {
    /// nil when the membership names a server as both voter and learner, or an incarnation 0.
    init?(_ wire: WireSnapshot) {
        let configuration = wire.metadata.configuration
        guard configuration.voters.isDisjoint(with: configuration.learners),
            !configuration.incarnations.values.contains(0)
        else { return nil }
        self.init(
            metadata: SnapshotMetadata(
                index: wire.metadata.index, term: wire.metadata.term,
                configuration: Configuration(
                    voters: configuration.voters, learners: configuration.learners,
                    incarnations: configuration.incarnations)),
            data: wire.data)
    }
}

extension WireConfigChange {
    init(_ change: ConfigChange) {
        switch change {
        case .addLearner(let id, let incarnation): self = .addLearner(id, incarnation: incarnation)
        case .rejoin(let id, let incarnation): self = .rejoin(id, incarnation: incarnation)
        case .promote(let id): self = .promote(id)
        case .remove(let id): self = .remove(id)
        }
    }
}

extension ConfigChange {
    init(_ wire: WireConfigChange) {
        switch wire {
        case .addLearner(let id, let incarnation): self = .addLearner(id, incarnation: incarnation)
        case .rejoin(let id, let incarnation): self = .rejoin(id, incarnation: incarnation)
        case .promote(let id): self = .promote(id)
        case .remove(let id): self = .remove(id)
        }
    }
}
