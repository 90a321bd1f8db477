#!/usr/bin/env bash
# Runs the simulator over many seeds in a release build (default 100,000), in a scratch
# package holding only the core, the simulator and its tests, so nothing else is compiled.
# Usage: scripts/long-run.sh [SEEDS]
set -euo pipefail
seeds="${1:-100000}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/berth-long-run-XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/Sources" "$work/Tests"
cp -r "$root/Sources/BerthRaft" "$work/Sources/"
cp -r "$root/Tests/BerthSimulation" "$root/Tests/BerthSimulationTests" "$work/Tests/"
cat > "$work/Package.swift" <<'SWIFT'
// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "BerthLongRun",
    targets: [
        .target(name: "BerthRaft"),
        .target(name: "BerthSimulation", dependencies: ["BerthRaft"], path: "Tests/BerthSimulation"),
        .testTarget(name: "BerthSimulationTests", dependencies: ["BerthSimulation", "BerthRaft"]),
    ],
    swiftLanguageModes: [.v6]
)
SWIFT
cd "$work"
swift build -c release -Xswiftc -enable-testing --build-tests
start=$(date +%s)
BERTH_SIM_SEEDS="$seeds" swift test -c release -Xswiftc -enable-testing --skip-build --filter SimulationSeedTests
echo "long run: $seeds seeds × {3, 5} nodes in $(( $(date +%s) - start )) s"
