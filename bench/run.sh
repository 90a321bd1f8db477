#!/usr/bin/env bash
# Berth vs etcd write benchmark (throughput/latency with wrk, failover and transfer gaps).
#
# Prerequisites (this script installs nothing; Debian/Ubuntu):
#   apt-get update && apt-get install -y etcd-server etcd-client wrk
#   python3 (standard library only)
# and a release build of berth (built here when missing, in .build-release):
#   swift build -c release --product berth --scratch-path .build-release
#
# Usage: bench/run.sh [bench.py options]     e.g.
#   bench/run.sh                                    # what docs/benchmarks.md reports (~4 min)
#   bench/run.sh --duration 5 --rounds 1            # a quicker look
#   bench/run.sh --systems berth --skip-throughput  # only Berth's failover/transfer gaps
#   bench/run.sh --systems berth --berth-args '--snapshot-threshold 1000000'   # diagnosis
#   bench/run.sh --systems berth,berth-tls --conns 64 --rounds 3 --kill-trials 0 --transfer-trials 0
#                                                   # what peer TLS costs (docs/benchmarks.md)
# Phases: leadership-transfer and kill -9 gaps on the young clusters, then wrk at each
# connection count, Berth and etcd interleaved (both clusters stay up; an idle Berth cluster
# costs ~3% of one core).
# Options (defaults): --conns 1,16,64  --duration 12  --warmup 3  --rounds 2
#          --payload-bytes 128  --kill-trials 5  --transfer-trials 5  --etcd-kill-trials 5
#          --gap-timeout 0.5  --systems berth,etcd  --berth-args ''  --skip-throughput
#          --tls-dir DIR (certificates for the berth-tls system; default: `berth certs init` in the
#          temporary directory). berth-tls is Berth with peer links over mutual TLS and the API
#          plaintext (BERTH_HTTP_TLS=off), so wrk measures the peer links' cost alone.
# Output: OUT/summary.md (tables), OUT/results.json (everything, raw wrk output included),
#   OUT/run.log and OUT/logs/ (every server's log). bench/results/ is git-ignored.
# Environment: BERTH_BIN (default .build-release/release/berth), BENCH_OUT (default
#   bench/results/<timestamp>), BENCH_KEEP_WORK=1 keeps the temporary data directory.
#
# Everything listens on free 127.0.0.1 ports only. All servers run from one temporary
# directory; on exit — normal, error or Ctrl-C — every process started is killed (by the pid it
# recorded) and the directory is removed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BERTH_BIN="${BERTH_BIN:-$ROOT/.build-release/release/berth}"
OUT="${BENCH_OUT:-$ROOT/bench/results/$(date +%Y%m%d-%H%M%S)}"

for tool in wrk etcd python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "missing $tool: apt-get install -y etcd-server etcd-client wrk (and python3)" >&2
        exit 2
    fi
done
if [[ ! -x "$BERTH_BIN" ]]; then
    echo "building berth (release) into $ROOT/.build-release ..." >&2
    (cd "$ROOT" && swift build -c release --product berth --scratch-path .build-release)
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/berth-bench.XXXXXX")"
BENCH_PID=""

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n "$BENCH_PID" ]] && kill -0 "$BENCH_PID" 2>/dev/null; then
        kill -TERM "$BENCH_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$BENCH_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$BENCH_PID" 2>/dev/null || true
    fi
    # Whatever the driver did not stop itself: every server recorded its pid here.
    if [[ -d "$WORK/pids" ]]; then
        for f in "$WORK"/pids/*.pid; do
            [[ -e "$f" ]] || continue
            pid="$(cat "$f")"
            kill -KILL "$pid" 2>/dev/null || true
        done
    fi
    if [[ -d "$WORK/logs" ]]; then
        mkdir -p "$OUT/logs" && cp -r "$WORK"/logs/. "$OUT/logs/" 2>/dev/null || true
    fi
    if [[ "${BENCH_KEEP_WORK:-0}" == 1 ]]; then
        echo "kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$OUT"
echo "work dir $WORK, results in $OUT" >&2
# The driver runs in the background so that this shell handles Ctrl-C at once.
python3 -u "$ROOT/bench/bench.py" --work "$WORK" --out "$OUT" --berth "$BERTH_BIN" "$@" > >(tee "$OUT/run.log") 2>&1 &
BENCH_PID=$!
wait "$BENCH_PID"
