#!/usr/bin/env python3
"""Placement at fleet scale on a real 3-node Berth cluster (issue 9's performance targets).

1. intake: N synthetic SchedulerEnvelopes (default 10,000 nodes), pushed by T client threads
   through every member; envelopes/s.
2. explain: `POST /api/v1alpha1/schedule/explain` over the whole fleet, one request at a time,
   on the leader and on a follower; latency p50/p99 (the evaluation plus the JSON of every node),
   then the same with `?summary=true` (the top 10 and counts by code).
3. placements: `POST /api/v1alpha1/launch/execute` from T threads for D seconds; committed
   placements/s (each one is evaluated over the whole fleet on every member at apply).
1b. intake rate: wrk (bench/intake.lua, 16 connections) re-pushes every node's envelope with
   newer sequences to the leader; envelopes/s and p99.
4. intake under load: other clients' write latency (wrk, 16 connections of `POST /api/jobs`)
   alone, then while wrk (8 connections) re-pushes every node's envelope as fast as it can;
   the p99 ratio and the envelope rate reached.

Usage: bench/placement.py --berth PATH [--nodes 10000] [--threads 8] [--seconds 10]
Prints one JSON document with the results. Loopback only; every process is killed at the end.
"""

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import HOST, BerthCluster  # noqa: E402


def envelope(i, now):
    arm = i % 2 == 0
    return {
        "node_id": f"node-{i:05d}",
        "sequence": 1,
        "observed_at": now,
        "arch": "aarch64" if arm else "x86_64",
        "cpus": {"total": 64, "allocatable": 60},
        "memory_mib": {"total": 262144, "allocatable": 245760},
        "kvm": {"present": True, "usable": i % 7 != 0},
        "kernel": "6.8.0",
        "backends": [
            {"kind": "qemu", "binary": "/usr/bin/qemu-system-" + ("aarch64" if arm else "x86_64"),
             "version": "8.2.2"},
            {"kind": "process", "binary": "/usr/local/bin/berth", "version": "0.1.0"},
        ],
        "labels": {"zone": f"z{i % 5}", "rack": f"r{i % 40}"},
        "health": "healthy" if i % 50 else "degraded",
    }


INTENT = {
    "name": "bench", "arch": "any", "vcpus": 1, "memory_mib": 512, "requires_kvm": True,
    "backend": "any", "labels": {"zone": "z1"},
    "image": {"kernel": "/var/lib/berth/vmlinux", "disk": "/var/lib/berth/rootfs.ext4"},
}


def post(conn, path, body):
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    return resp.status, resp.read()


def wrk_p99(port, seconds):
    """(writes/s, p99 ms) of 16 connections writing jobs to `port` for `seconds`."""
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, BENCH_SYSTEM="berth", BENCH_RUN_ID="intake", BENCH_PAYLOAD_BYTES="128")
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", "16", "-d", f"{seconds}s", "--latency", "-s", os.path.join(here, "write.lua"),
         f"http://{HOST}:{port}"], env=env, capture_output=True, text=True, timeout=seconds + 60).stdout
    rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))
    value, unit = re.search(r"99%\s+([0-9.]+)(us|ms|s)", out).groups()
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    return rate, p99


def wrk_intake(port, seconds, connections, nodes, sequence_base):
    """(envelopes/s, p99 ms, non-2xx count) of wrk re-pushing the fleet's envelopes to `port`:
    a compiled client, so that the rate measured is the cluster's and not Python's."""
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, BENCH_NODES=str(nodes), BENCH_SEQUENCE_BASE=str(sequence_base), BENCH_THREADS="2")
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency", "-s",
         os.path.join(here, "intake.lua"), f"http://{HOST}:{port}"],
        env=env, capture_output=True, text=True, timeout=seconds + 60).stdout
    rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))
    value, unit = re.search(r"99%\s+([0-9.]+)(us|ms|s)", out).groups()
    failed = re.search(r"Non-2xx or 3xx responses:\s+([0-9]+)", out)
    return rate, float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], int(failed.group(1)) if failed else 0


def run_threads(count, target):
    threads = [threading.Thread(target=target, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--berth", required=True)
    ap.add_argument("--nodes", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--explains", type=int, default=40)
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="berth-placement-")
    # Telemetry must not go stale while the run lasts (the fleet is pushed once, at the start).
    cluster = BerthCluster(work, args.berth, extra_args=["--telemetry-max-age", "3600"])
    results = {"nodes": args.nodes, "threads": args.threads}
    try:
        cluster.start_all_and_wait()
        cluster.wait_ready(timeout=60, members=cluster.ids)
        leader = cluster.leader()
        follower = next(j for j in cluster.ids if j != leader)
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

        # 1. intake
        failures = []

        def push(n):
            port = cluster.http_ports[cluster.ids[n % len(cluster.ids)]]
            conn = http.client.HTTPConnection(HOST, port, timeout=30)
            for i in range(n, args.nodes, args.threads):
                status, body = post(conn, "/api/v1alpha1/intake/envelope", json.dumps(envelope(i, now)))
                if status != 200:
                    failures.append((status, body[:200]))
            conn.close()

        t0 = time.monotonic()
        run_threads(args.threads, push)
        elapsed = time.monotonic() - t0
        results["intake"] = {"envelopes": args.nodes, "seconds": round(elapsed, 2),
                             "per_second": round(args.nodes / elapsed), "failures": len(failures)}
        # The same fleet re-pushed by wrk (16 connections to the leader): the intake rate the
        # cluster sustains, without the Python client's own limit in the way.
        rate, p99, failed = wrk_intake(cluster.http_ports[leader], args.seconds, 16, args.nodes, 2)
        results["intake_wrk"] = {"connections": 16, "per_second": round(rate), "p99_ms": round(p99, 2),
                                 "non_2xx": failed}

        # 2. explain (sequential), on the leader and on a follower
        intent = json.dumps(INTENT)
        for name, member, path in (("explain_leader", leader, "/api/v1alpha1/schedule/explain"),
                                   ("explain_follower", follower, "/api/v1alpha1/schedule/explain"),
                                   ("explain_summary_leader", leader, "/api/v1alpha1/schedule/explain?summary=true"),
                                   ("explain_summary_follower", follower,
                                    "/api/v1alpha1/schedule/explain?summary=true")):
            conn = http.client.HTTPConnection(HOST, cluster.http_ports[member], timeout=30)
            post(conn, "/api/v1alpha1/schedule/explain?consistent=true", intent)  # warm up, catch up
            times, size = [], 0
            for _ in range(args.explains):
                t = time.monotonic()
                status, body = post(conn, path, intent)
                times.append((time.monotonic() - t) * 1000)
                size = len(body)
                assert status == 200, (status, body[:300])
            conn.close()
            times.sort()
            results[name] = {"p50_ms": round(statistics.median(times), 2),
                             "p99_ms": round(times[int(len(times) * 0.99) - 1], 2), "answer_bytes": size}

        # 3. placements
        counts, errors = [0] * args.threads, []
        deadline = time.monotonic() + args.seconds
        body = json.dumps({"intent": INTENT})

        def place(n):
            port = cluster.http_ports[cluster.ids[n % len(cluster.ids)]]
            conn = http.client.HTTPConnection(HOST, port, timeout=30)
            while time.monotonic() < deadline:
                status, answer = post(conn, "/api/v1alpha1/launch/execute", body)
                if status == 201:
                    counts[n] += 1
                else:
                    errors.append((status, answer[:200]))
            conn.close()

        t0 = time.monotonic()
        run_threads(args.threads, place)
        elapsed = time.monotonic() - t0
        total = sum(counts)
        results["placements"] = {"committed": total, "seconds": round(elapsed, 2),
                                 "per_second": round(total / elapsed, 1), "errors": len(errors),
                                 "first_errors": [e[0] for e in errors[:5]]}
        # 4. intake under load
        leader = cluster.leader() or leader
        alone_rate, alone_p99 = wrk_p99(cluster.http_ports[leader], args.seconds)
        # Envelopes re-pushed by wrk (8 connections, sequences far above phase 1's) while the
        # other clients write.
        intake = {}

        def repush():
            intake["rate"], intake["p99"], intake["failed"] = wrk_intake(
                cluster.http_ports[leader], args.seconds + 2, 8, args.nodes, 1_000_000)

        pusher = threading.Thread(target=repush)
        pusher.start()
        time.sleep(1)
        loaded_rate, loaded_p99 = wrk_p99(cluster.http_ports[leader], args.seconds)
        pusher.join()
        envelope_rate = intake["rate"]
        results["intake_under_load"] = {
            "writes_alone_per_second": round(alone_rate), "p99_alone_ms": round(alone_p99, 2),
            "writes_with_intake_per_second": round(loaded_rate), "p99_with_intake_ms": round(loaded_p99, 2),
            "p99_ratio": round(loaded_p99 / alone_p99, 2), "envelopes_per_second": round(envelope_rate),
            "envelope_non_2xx": intake["failed"]}
        results["loadavg"] = open("/proc/loadavg").read().split()[:3]
    finally:
        cluster.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
