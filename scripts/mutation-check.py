#!/usr/bin/env python3
"""Mutation check: proves the simulator's checkers have teeth.

Each mutation below is a deliberate Raft bug. For each one this script copies the package to a
scratch directory, applies the bug to the copy of Sources/BerthRaft (the working tree is never
touched), runs the simulator over BERTH_SIM_SEEDS seeds (default 1,000) and reports whether a
checker failed and the first seed that caught it. A mutation the simulator does not catch makes
the script exit 1.

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

# (name, what the bug is, file, exact text, replacement)
MUTATIONS = [
    (
        "vote-twice",
        "grant a second vote in the same term when no leader is known",
        "RaftNode+Step.swift",
        "|| (vote == .none && leader == .none)",
        "|| (leader == .none)",
    ),
    (
        "commit-old-term",
        "commit an entry of an earlier term by counting replicas (Figure 8)",
        "RaftNode+Leader.swift",
        "guard majorityIndex > log.committed, log.term(at: majorityIndex) == term else { return false }",
        "guard majorityIndex > log.committed, log.term(at: majorityIndex) != nil else { return false }",
    ),
    (
        "vote-not-persisted",
        "answer a vote without persisting it (the hard state omits the vote)",
        "RaftNode.swift",
        "var currentHardState: HardState { HardState(term: term, vote: vote, commit: log.committed) }",
        "var currentHardState: HardState { HardState(term: term, vote: .none, commit: log.committed) }",
    ),
    (
        "accept-stale-append",
        "accept AppendEntries from a leader of an older term",
        "RaftNode+Step.swift",
        "} else if message.term < term {",
        "} else if message.term < term, ({ if case .appendEntries = message.body { return false }; return true })() {",
    ),
    (
        "skip-log-matching",
        "append entries without checking the term at prevIndex (§5.3 consistency check)",
        "RaftLog.swift",
        "guard matchTerm(prevIndex, prevTerm) else { return .mismatch }",
        "guard prevIndex <= lastIndex else { return .mismatch }",
    ),
    (
        "read-without-quorum",
        "answer a ReadIndex read without confirming leadership with a quorum",
        "RaftNode+Leader.swift",
        "if configuration.voters == [id] {",
        "if true {",
    ),
]

SEED_PATTERNS = [
    re.compile(r"BERTH_SIM_SEED=(\d+)"),
    re.compile(r"seed[ =:]+(\d+)", re.IGNORECASE),
]


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


def make_minimal_package(tree):
    for part in ["Sources/BerthRaft", "Tests/BerthSimulation", "Tests/BerthSimulationTests"]:
        shutil.copytree(os.path.join(ROOT, part), os.path.join(tree, part))
    with open(os.path.join(tree, "Package.swift"), "w") as out:
        out.write(MINIMAL_PACKAGE)


def run(cmd, cwd, env, log):
    with open(log, "w") as out:
        return subprocess.run(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT).returncode


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=1000)
    parser.add_argument("--only")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="berth-mutants-")
    scratch = os.path.join(work, "build")  # shared by every mutant: dependencies build once
    results = []
    for name, what, file, old, new in MUTATIONS:
        if args.only and name != args.only:
            continue
        tree = os.path.join(work, name)
        make_minimal_package(tree)
        path = os.path.join(tree, "Sources", "BerthRaft", file)
        source = open(path).read()
        if source.count(old) != 1:
            print(f"{name}: the text to mutate is not in {file} exactly once; update this script")
            results.append((name, what, "NOT APPLIED", "-", "-"))
            continue
        open(path, "w").write(source.replace(old, new))
        env = dict(os.environ, BERTH_SIM_SEEDS=str(args.seeds))
        env.pop("BERTH_SIM_SEED", None)
        log = os.path.join(work, f"{name}.log")
        started = time.time()
        build = run(["swift", "build", "--build-tests", "--scratch-path", scratch], tree, env, log)
        if build != 0:
            results.append((name, what, "BUILD FAILED", "-", log))
            continue
        code = run(
            ["swift", "test", "--skip-build", "--scratch-path", scratch, "--filter", "BerthSimulationTests"],
            tree, env, log)
        seconds = time.time() - started
        text = open(log, errors="replace").read()
        seed = "-"
        for pattern in SEED_PATTERNS:
            match = pattern.search(text)
            if match:
                seed = match.group(1)
                break
        verdict = "caught" if code != 0 else "MISSED"
        results.append((name, what, verdict, seed, f"{seconds:.0f}s"))
        print(f"{name}: {verdict} (seed {seed}, {seconds:.0f}s)", flush=True)
        shutil.rmtree(tree, ignore_errors=True)

    print()
    print("| mutation | bug | result | first failing seed | time |")
    print("|---|---|---|---|---|")
    for row in results:
        print("| " + " | ".join(row) + " |")
    shutil.rmtree(work, ignore_errors=True)
    return 0 if results and all(r[2] == "caught" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
