#!/usr/bin/env python3
"""Mutation check: proves the simulator's checkers have teeth.

Each mutation below is a deliberate bug: in the Raft core (Sources/BerthRaft, including the
ReadyPipeline that the server and the simulator share), or in the simulated server's own
production-mirroring code (how it serves follower reads, forwards writes, compacts its log).
For each one this script builds a scratch package holding only the core, the simulator and its
tests, applies the bug to the copy (the working tree is never touched), runs
BerthSimulationTests over BERTH_SIM_SEEDS seeds (default 1,000, × {3, 5} nodes, plus the
scripted scenarios) and reports whether a checker failed, which one, and the first seed that
caught it. Mutations marked as such run a second time with the owner's promise check off
(BERTH_SIM_PROMISE_CHECK=0), to show the Raft-level checkers catch their consequences too. A
mutation that survives makes the script exit 1.

Usage: scripts/mutation-check.py [--seeds N] [--only NAME]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORE = "Sources/BerthRaft/"
SIM = "Tests/BerthSimulation/"

# (name, what the bug is, file, exact text, replacement, also run without the promise check)
MUTATIONS = [
    (
        "vote-twice",
        "grant a second vote in the same term when no leader is known",
        CORE + "RaftNode+Step.swift",
        "|| (vote == .none && leader == .none)",
        "|| (leader == .none)",
        False,
    ),
    (
        "commit-old-term",
        "commit an entry of an earlier term by counting replicas (Figure 8)",
        CORE + "RaftNode+Leader.swift",
        "guard majorityIndex > log.committed, log.term(at: majorityIndex) == term else { return false }",
        "guard majorityIndex > log.committed, log.term(at: majorityIndex) != nil else { return false }",
        False,
    ),
    (
        "vote-not-persisted",
        "answer a vote without persisting it (the hard state omits the vote)",
        CORE + "RaftNode.swift",
        "var currentHardState: HardState { HardState(term: term, vote: vote, commit: log.committed) }",
        "var currentHardState: HardState { HardState(term: term, vote: .none, commit: log.committed) }",
        False,
    ),
    (
        "accept-stale-append",
        "accept AppendEntries from a leader of an older term",
        CORE + "RaftNode+Step.swift",
        "} else if message.term < term {",
        "} else if message.term < term, ({ if case .appendEntries = message.body { return false }; return true })() {",
        False,
    ),
    (
        "skip-log-matching",
        "append entries without checking the term at prevIndex (§5.3 consistency check)",
        CORE + "RaftLog.swift",
        "guard matchTerm(prevIndex, prevTerm) else { return .mismatch }",
        "guard prevIndex <= lastIndex else { return .mismatch }",
        False,
    ),
    (
        "read-without-quorum",
        "answer a ReadIndex read without confirming leadership with a quorum",
        CORE + "RaftNode+Leader.swift",
        "if configuration.voters == [id] {",
        "if true {",
        False,
    ),
    (
        "ignore-incarnation",
        "count votes and acknowledgements from a member's unadmitted incarnation (a lost disk)",
        CORE + "RaftNode+Step.swift",
        "if let admitted = configuration.incarnation(of: message.from), admitted != message.incarnation,",
        "if let admitted = configuration.incarnation(of: message.from), admitted != admitted,",
        False,
    ),
    (
        "rejoined-leader-ignored",
        "drop a leader's messages from an incarnation the (stale) membership does not record",
        CORE + "RaftNode+Step.swift",
        "            !message.body.isSentByLeader\n",
        "            true\n",
        False,
    ),
    (
        "win-on-unwritten-vote",
        "a candidate counts its own vote before it is durable (its RequestVotes leave before the write)",
        CORE + "RaftNode+Election.swift",
        "if role == .candidate, votes[id] == true, !ownVoteIsDurable { grantedCount -= 1 }",
        "",
        False,
    ),
    (
        "send-first-unsteady",
        "ReadyPipeline: a node that led at the previous Ready sends before its write (a deposed leader's votes and acks)",
        CORE + "ReadyPipeline.swift",
        "|| (ready.snapshot == nil && current.role == .leader\n"
        "                    && current.term == previous.term && current.vote == previous.vote)",
        "|| (ready.snapshot == nil && (previous.role == .leader || current.role == .leader))",
        True,
    ),
    (
        "early-votes-and-acks",
        "takeMessagesSendableWhileWriting lets votes and acknowledgements out during a write",
        CORE + "RaftNode.swift",
        "case .heartbeatResponse where message.term == lastHardState.term:",
        "case .heartbeatResponse, .appendEntriesResponse, .requestVoteResponse:",
        True,
    ),
    (
        "commit-over-replaced-entries",
        "a Ready's hard state commits stable entries its own entries replace (torn write: hard state kept alone)",
        CORE + "RaftNode.swift",
        "hardState.commit = first - 1",
        "_ = first",
        False,
    ),
    (
        "follower-read-without-wait",
        "a follower serves a read without waiting until it has applied the leader's read index",
        SIM + "SimulatedCluster+Clients.swift",
        "node.confirmedReads.append((ReadState(id: id, index: index), read))",
        "node.confirmedReads.append((ReadState(id: id, index: 0), read))",
        False,
    ),
    (
        "unanswered-forward-acknowledged",
        "a follower whose forward got no answer tells the client the write succeeded",
        SIM + "SimulatedCluster+Clients.swift",
        "            outcomes.append(.outcomeUnknown(client: forward.client, op: forward.op, node: node.id))\n"
        "            record(.outcomeUnknown(",
        "            acknowledge(forward.op, client: forward.client, at: 0, on: node)\n"
        "            record(.outcomeUnknown(",
        False,
    ),
    (
        "compact-without-store-sync",
        "compaction writes a data-less snapshot without syncing the state store first",
        SIM + "SimulatedCluster+Ready.swift",
        "        node.storeSynced = node.stateMachine\n        node.storeTransactions = []\n        node.storage.compact(",
        "        node.storage.compact(",
        False,
    ),
]

# The randomized seeds' own failure lines (other tests quote seeds too: only these count).
SEED_FAILURE = re.compile(r"testRandomizedSeeds : failed - seed (\d+) \((\d) nodes\): ([A-Za-z` ]+?) violated")
DIED = re.compile(r"died while running seed (\d+) \((\d) nodes\)")


# The mutant is built as a package of its own holding only the core, the simulator and the
# simulation tests: nothing else can break its build, and no server dependency is compiled.
MINIMAL_PACKAGE = """// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "BerthMutant",
    targets: [
        .target(name: "BerthRaft"),
        .target(name: "BerthSimulation", dependencies: ["BerthRaft"], path: "Tests/BerthSimulation"),
        .testTarget(name: "BerthSimulationTests", dependencies: ["BerthSimulation", "BerthRaft"]),
    ],
    swiftLanguageModes: [.v6]
)
"""


PARTS = ["Sources/BerthRaft", "Tests/BerthSimulation", "Tests/BerthSimulationTests"]


def make_minimal_package(tree, base):
    for part in PARTS:
        shutil.copytree(os.path.join(base, part), os.path.join(tree, part))
    with open(os.path.join(tree, "Package.swift"), "w") as out:
        out.write(MINIMAL_PACKAGE)


def run(cmd, cwd, env, log):
    with open(log, "w") as out:
        return subprocess.run(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT).returncode


def first_failure(text, code):
    """The first randomized seed that failed and the invariant it broke, else what failed."""
    if code == 0:
        return "-", "-"
    match = SEED_FAILURE.search(text)
    if match:
        return f"{match.group(1)} ({match.group(2)} nodes)", match.group(3)
    died = DIED.search(text)
    if died:
        return f"{died.group(1)} ({died.group(2)} nodes)", "a trap in the core"
    failed = re.search(r"error: (\w+)\.", text)
    return "-", f"{failed.group(1)}" if failed else "a scripted test"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=1000)
    parser.add_argument("--only")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="berth-mutants-")
    scratch = os.path.join(work, "build")  # shared by every mutant: only changed files rebuild
    # Every mutant starts from the tree as it is now, however long the run takes.
    base = os.path.join(work, "base")
    for part in PARTS:
        shutil.copytree(os.path.join(ROOT, part), os.path.join(base, part))
    results = []
    for name, what, file, old, new, twice in MUTATIONS:
        if args.only and name != args.only:
            continue
        tree = os.path.join(work, name)
        make_minimal_package(tree, base)
        path = os.path.join(tree, file)
        source = open(path).read()
        if source.count(old) != 1:
            print(f"{name}: the text to mutate is not in {file} exactly once; update this script")
            results.append((name, what, "NOT APPLIED", "-", "-", "-"))
            continue
        open(path, "w").write(source.replace(old, new))
        log = os.path.join(work, f"{name}.log")
        started = time.time()
        env = dict(os.environ, BERTH_SIM_SEEDS=str(args.seeds))
        env.pop("BERTH_SIM_SEED", None)
        build = run(["swift", "build", "--build-tests", "--scratch-path", scratch], tree, env, log)
        if build != 0:
            results.append((name, what, "BUILD FAILED", "-", "-", log))
            continue
        for promise_check in ([True, False] if twice else [True]):
            label = name if promise_check else f"{name} (promise check off)"
            env["BERTH_SIM_PROMISE_CHECK"] = "1" if promise_check else "0"
            started = time.time() if not promise_check else started
            # Without the promise check only the randomized seeds count (the scripted tests
            # keep it on).
            tests = "BerthSimulationTests" if promise_check else "SimulationSeedTests"
            code = run(
                ["swift", "test", "--skip-build", "--scratch-path", scratch, "--filter", tests], tree, env, log)
            seconds = time.time() - started
            text = open(log, errors="replace").read()
            seed, caught_as = first_failure(text, code)
            verdict = "caught" if code != 0 else "MISSED"
            results.append((label, what, verdict, seed, caught_as, f"{seconds:.0f} s"))
            print(f"{label}: {verdict} (seed {seed}, as {caught_as}, {seconds:.0f} s)", flush=True)
        shutil.rmtree(tree, ignore_errors=True)

    print()
    print("| mutation | bug | result | first failing seed | caught as | time |")
    print("|---|---|---|---|---|---|")
    for row in results:
        print("| " + " | ".join(row) + " |")
    shutil.rmtree(work, ignore_errors=True)
    return 0 if results and all(r[2] == "caught" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
