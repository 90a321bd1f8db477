#!/usr/bin/env python3
"""Time from job submit to output available, for `echo`, through a 3-node cluster and one agent.

    bench/job_latency.py [--berth PATH] [--rounds N] [--poll-ms MS]

A 3-node cluster and one `berth agent` (process backend) on 127.0.0.1 (free ports, a temporary
directory). Each round POSTs `{"command": "echo round-N"}` to the leader and polls
`GET /api/jobs/ID/output` on a follower (every --poll-ms, default 5) until `available` is true
and the output is the echo's: the whole path — commit, placement, the agent's long poll, the
process, the report, its commit and replication to the follower. Prints each round and the
median, p90 and max. Standard library only; every process it started is killed on exit.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import cluster as clusters  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--berth", default=os.environ.get("BERTH_BIN", os.path.join(ROOT, ".build-release/release/berth")))
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--poll-ms", type=float, default=5)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="berth-jobbench-")
    cluster = clusters.BerthCluster(work, args.berth)
    agent = None
    try:
        cluster.start_all_and_wait()
        servers = ",".join(f"http://127.0.0.1:{cluster.http_ports[i]}" for i in cluster.ids)
        log = open(os.path.join(work, "agent.log"), "ab")
        agent = subprocess.Popen([args.berth, "agent", "--servers", servers, "--node-id", "bench-1",
                                  "--root", os.path.join(work, "agent-root"), "--envelope-interval", "2",
                                  "--reserved-memory-mib", "0"],
                                 stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
        leader = cluster.leader()
        follower = next(i for i in cluster.ids if i != leader)
        lport, fport = cluster.http_ports[leader], cluster.http_ports[follower]
        # The agent's first envelope: a job submitted before it would wait for capacity.
        cluster.wait_for(lambda: (clusters.http_json(lport, "GET", "/api/v1alpha1/nodes")[1] or {}).get("nodes"),
                         30, "the agent's first envelope")

        times = []
        for round_ in range(args.rounds + 1):
            expected = f"round-{round_}\n"
            t0 = time.monotonic()
            status, body = clusters.http_json(lport, "POST", "/api/jobs", {"command": f"echo round-{round_}"})
            if status != 201:
                raise RuntimeError(f"submit: {status} {body}")
            job = body["job_id"]
            while True:
                _, shown = clusters.http_json(fport, "GET", f"/api/jobs/{job}/output")
                if shown and shown.get("available"):
                    break
                if time.monotonic() - t0 > 30:
                    raise RuntimeError(f"job {job}: {shown}")
                time.sleep(args.poll_ms / 1000)
            ms = (time.monotonic() - t0) * 1000
            if shown.get("stdout") != expected:
                raise RuntimeError(f"job {job}: output {shown}")
            if round_ == 0:
                print(f"warm-up: {ms:.1f} ms", flush=True)
                continue
            times.append(ms)
            print(f"round {round_}: submit to output {ms:7.1f} ms", flush=True)
        times.sort()
        p90 = times[min(len(times) - 1, int(round(0.9 * (len(times) - 1))))]
        print(f"{len(times)} rounds: submit to output available (read on a follower) median "
              f"{statistics.median(times):.1f} ms, p90 {p90:.1f} ms, max {times[-1]:.1f} ms")
    finally:
        if agent is not None:
            agent.kill()
            agent.wait()
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
