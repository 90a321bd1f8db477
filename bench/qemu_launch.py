#!/usr/bin/env python3
"""Launch-to-ready of a QEMU VM: through Berth, and the same QEMU command started by hand.

    bench/qemu_launch.py [--berth PATH] [--rounds N] [--accel tcg|kvm]

Through Berth: a 3-node cluster and one `berth agent` on 127.0.0.1 (free ports, a temporary
directory); each round POSTs launch/execute and polls the launch (every 5 ms) until it is
`running`, which the agent reports once QMP `query-status` says running. By hand: the exact
argv `berth agent prepare` prints for the same spec, spawned here, with QMP polled (every
10 ms, as the agent does) until `running`. Both boot the test guest of
scripts/build-test-guest.sh. Prints each round and the medians; Berth's overhead is the
difference of the medians (target: at most 100 ms). Standard library only; every process it
started is killed on exit.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import cluster as clusters  # noqa: E402


def qmp_running(path, timeout=2.0):
    """True when QEMU at `path` answers query-status with running (False if not yet)."""
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(path)
    except OSError:
        return False
    try:
        f = s.makefile("rwb", buffering=0)

        def answer():
            while True:
                line = f.readline()
                if not line:
                    raise OSError("closed")
                message = json.loads(line)
                if "event" not in message:
                    return message
        answer()  # greeting
        f.write(b'{"execute": "qmp_capabilities"}\n')
        answer()
        f.write(b'{"execute": "query-status"}\n')
        return answer().get("return", {}).get("status") == "running"
    except (OSError, ValueError):
        return False
    finally:
        s.close()


def wait_qmp(path, limit=60):
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if qmp_running(path):
            return True
        time.sleep(0.01)
    return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--berth", default=os.environ.get("BERTH_BIN", os.path.join(ROOT, ".build/debug/berth")))
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    guest = subprocess.run([os.path.join(ROOT, "scripts/build-test-guest.sh")], check=True,
                           capture_output=True, text=True).stdout.strip()
    work = tempfile.mkdtemp(prefix="berth-qbench-")
    cluster = clusters.BerthCluster(work, args.berth)
    agent = None
    started = []
    try:
        cluster.start_all_and_wait()
        root = os.path.join(work, "agent-root")
        os.makedirs(os.path.join(root, "images"))
        for name in ("vmlinuz", "initrd.img"):
            shutil.copy(os.path.join(guest, name), os.path.join(root, "images", name))
        servers = ",".join(f"http://127.0.0.1:{cluster.http_ports[i]}" for i in cluster.ids)
        log = open(os.path.join(work, "agent.log"), "ab")
        agent = subprocess.Popen([args.berth, "agent", "--servers", servers, "--node-id", "bench-1",
                                  "--root", root, "--labels", "role=qbench", "--envelope-interval", "2",
                                  "--reserved-memory-mib", "0"],
                                 stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
        port = cluster.http_ports[cluster.leader() or 1]
        intent = {"name": "qbench", "arch": "any", "vcpus": 1, "memory_mib": 128, "requires_kvm": False,
                  "backend": "qemu", "labels": {"role": "qbench"},
                  "image": {"kernel": "images/vmlinuz", "initrd": "images/initrd.img", "cmdline": "console=ttyS0"}}

        berth_times, hand_times, accel = [], [], None
        for round_ in range(args.rounds):
            # Through Berth.
            t0 = time.monotonic()
            deadline = t0 + 30
            while True:
                status, body = clusters.http_json(port, "POST", "/api/v1alpha1/launch/execute", {"intent": intent})
                if status == 201 or time.monotonic() > deadline:
                    break
                time.sleep(0.1)  # the agent has not registered its QEMU yet
                t0 = time.monotonic()
            if status != 201:
                raise RuntimeError(f"execute: {status} {body}")
            launch = body["launch_id"]
            while True:
                _, shown = clusters.http_json(port, "GET", f"/api/v1alpha1/launch/{launch}")
                state = (shown or {}).get("state")
                if state == "running":
                    break
                if state in ("failed", "terminated") or time.monotonic() - t0 > 60:
                    raise RuntimeError(f"launch {launch}: {shown}")
                time.sleep(0.005)
            berth_ms = (time.monotonic() - t0) * 1000
            trace = shown.get("trace") or []
            if trace:
                first = trace[0]["at_ms"]
                steps = "  ".join(f"{e['state']} +{e['at_ms'] - first}" for e in trace)
            spec = json.load(open(os.path.join(root, "launches", launch, "launch.json")))["spec"]
            accel = spec["accel"]
            clusters.http_json(port, "POST", f"/api/v1alpha1/launch/{launch}/terminate", {})

            # By hand: the argv `berth agent prepare` prints for the same spec.
            prepared = subprocess.run([args.berth, "agent", "prepare", "--spec", "-", "--root", root],
                                      input=json.dumps(spec), capture_output=True, text=True)
            invocation = json.loads(prepared.stdout)["invocation"]
            hand_id = f"hand-{round_}"
            directory = os.path.join(root, "launches", hand_id)
            os.makedirs(directory, exist_ok=True)
            argv = [a.replace("{launch_id}", hand_id) for a in invocation["argv"]]
            sock = invocation["qmp_socket"].replace("{launch_id}", hand_id)
            t0 = time.monotonic()
            qemu = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=open(os.path.join(directory, "serial.log"), "wb"),
                                    stderr=subprocess.DEVNULL, start_new_session=True)
            started.append(qemu)
            if not wait_qmp(sock):
                raise RuntimeError("QEMU by hand never said running")
            hand_ms = (time.monotonic() - t0) * 1000
            qemu.send_signal(signal.SIGKILL)
            qemu.wait()
            berth_times.append(berth_ms)
            hand_times.append(hand_ms)
            print(f"round {round_ + 1}: through Berth {berth_ms:7.1f} ms   by hand {hand_ms:7.1f} ms"
                  f"   (trace, ms from pending: {steps if trace else '-'})", flush=True)
            # The next round starts once this VM is terminated: while a terminate is still
            # offered (until its report lands, after the powerdown grace and quit), the agent's
            # action poll backs off 300 ms between polls, which would be measured too.
            while clusters.http_json(port, "GET", f"/api/v1alpha1/launch/{launch}")[1].get("state") != "terminated":
                time.sleep(0.1)
            time.sleep(0.5)

        b, h = statistics.median(berth_times), statistics.median(hand_times)
        print(f"accel {accel}, {args.rounds} rounds, medians: through Berth {b:.1f} ms, by hand {h:.1f} ms, "
              f"Berth overhead {b - h:.1f} ms (target <= 100 ms)")
    finally:
        for q in started:
            if q.poll() is None:
                q.kill()
        if agent is not None:
            agent.kill()
            agent.wait()
        # VMs still running under the agent's keeper (their own sessions): end them by record.
        launches = os.path.join(work, "agent-root", "launches")
        for name in os.listdir(launches) if os.path.isdir(launches) else []:
            try:
                record = json.load(open(os.path.join(launches, name, "launch.json")))
                workload = record["process"]["workload"]
                stat = open(f"/proc/{workload['pid']}/stat").read()
                if int(stat[stat.rindex(")") + 2:].split()[19]) == workload["start_time"]:
                    os.killpg(workload["pid"], signal.SIGKILL)
            except (OSError, KeyError, ValueError, TypeError):
                pass
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
