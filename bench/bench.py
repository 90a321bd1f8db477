#!/usr/bin/env python3
"""Berth vs etcd: write throughput/latency with wrk, and write-unavailability gaps.

Normally started by bench/run.sh, which owns the temporary directory and the clean-up.
Writes OUT/results.json and OUT/summary.md.
"""

import argparse
import datetime
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster as clusters  # noqa: E402
import gap  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
LOG_LINES = []
WORK = None


def log(message):
    line = f"[{time.strftime('%H:%M:%S')}] {message}"
    print(line, flush=True)
    LOG_LINES.append(line)


def parse_duration(text):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if not m:
        return None
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(output):
    result = {"raw": output}
    m = re.search(r"Requests/sec:\s+([\d.]+)", output)
    result["rps"] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in ([\d.]+\w+)", output)
    result["requests"] = int(m.group(1)) if m else None
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+\w+)", output, re.M)
        result[f"p{pct}_ms"] = parse_duration(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["non_2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: (.*)", output)
    result["socket_errors"] = m.group(1).strip() if m else None
    m = re.search(r"Latency\s+([\d.]+\w+)\s+([\d.]+\w+)\s+([\d.]+\w+)", output)
    if m:
        result["mean_ms"], result["stdev_ms"], result["max_ms"] = (parse_duration(x) for x in m.groups())
    return result


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def cpu_seconds(pids):
    """utime + stime of each pid (all its threads), in seconds."""
    hz = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[pid] = (int(fields[11]) + int(fields[12])) / hz
        except (OSError, IndexError, ValueError):
            out[pid] = 0.0
    return out


def run_wrk(system, port, conns, seconds, run_id, payload_bytes):
    threads = max(1, min(conns, 2))
    # berth-tls is Berth with peer TLS: the same requests.
    request_kind = "berth" if system.startswith("berth") else system
    env = dict(os.environ, BENCH_SYSTEM=request_kind, BENCH_RUN_ID=run_id, BENCH_PAYLOAD_BYTES=str(payload_bytes))
    argv = ["wrk", "-t", str(threads), "-c", str(conns), "-d", f"{seconds}s", "--timeout", "10s", "--latency",
            "-s", os.path.join(HERE, "write.lua"), f"http://127.0.0.1:{port}"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pidfile = os.path.join(WORK, "pids", "wrk.pid")
    with open(pidfile, "w") as f:
        f.write(str(proc.pid))
    try:
        stdout, stderr = proc.communicate(timeout=seconds + 60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.unlink(pidfile)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {stderr}")
    return parse_wrk(stdout)


def progress_counter(cluster, member):
    """Berth: commit index; etcd: store revision (one per put). Used to check that the writes
    wrk counted were really committed."""
    if cluster.kind.startswith("berth"):
        return cluster.status(member)["commit_index"]
    return int(cluster.status(member)["header"]["revision"])


class StatusProbe(threading.Thread):
    """Polls the leader's status endpoint every 20 ms during a run: its slowest answers show
    how long the node's consensus loop was unavailable (Berth answers /api/cluster on its Raft
    loop; etcd answers /v3/maintenance/status from its server). Costs ~50 requests/s."""

    def __init__(self, cl, member):
        super().__init__(daemon=True)
        self.cl, self.member = cl, member
        self.stop_event = threading.Event()
        self.latencies = []

    def run(self):
        while not self.stop_event.is_set():
            t = time.monotonic()
            try:
                self.cl.status(self.member, timeout=5)
            except OSError:
                pass
            self.latencies.append(time.monotonic() - t)
            self.stop_event.wait(0.02)

    def finish(self):
        self.stop_event.set()
        self.join(timeout=10)
        lat = sorted(self.latencies)
        if not lat:
            return {}
        return {"status_probe_max_ms": round(lat[-1] * 1000, 1),
                "status_probe_over_100ms": sum(1 for x in lat if x > 0.1)}


def throughput(systems, conns_list, seconds, warmup, rounds, payload_bytes):
    rows = []
    for rnd in range(1, rounds + 1):
        for conns in conns_list:
            for name, cl in systems:
                leader = cl.leader()
                # Through HAProxy, wrk writes to the front and HAProxy picks a member.
                port = getattr(cl, "front_port", None) or cl.http_ports[leader]
                run_id = f"{'t' if name == 'berth-tls' else name[0]}{'h' if name == 'berth-haproxy' else ''}{rnd}c{conns}"
                wrk_system = "etcd" if name == "etcd" else "berth"
                if warmup > 0:
                    run_wrk(wrk_system, port, conns, warmup, run_id + "w", payload_bytes)
                before = progress_counter(cl, leader)
                la = loadavg()
                members = {j: cl.pid(j) for j in cl.ids if cl.alive(j)}
                cpu_before = cpu_seconds(members.values())
                probe = StatusProbe(cl, leader)
                probe.start()
                try:
                    res = run_wrk(wrk_system, port, conns, seconds, run_id, payload_bytes)
                finally:
                    res_probe = probe.finish()
                res.update(res_probe)
                cpu_after = cpu_seconds(members.values())
                cpu = {j: cpu_after[p] - cpu_before[p] for j, p in members.items()}
                done = max(1, res["requests"] or 1)
                res["cpu_ms_per_write_leader"] = round(1000 * cpu[leader] / done, 3)
                res["cpu_ms_per_write_cluster"] = round(1000 * sum(cpu.values()) / done, 3)
                after = progress_counter(cl, leader)
                res.update({"system": name, "round": rnd, "conns": conns, "leader": leader,
                            "loadavg_1m_before": la, "committed_delta": after - before})
                rows.append(res)
                log(f"  {name:5s} round {rnd} c={conns:3d}: {res['rps']:.0f} writes/s, p50 {res['p50_ms']:.2f} ms, "
                    f"p99 {res['p99_ms']:.2f} ms, non-2xx {res['non_2xx']}, socket errors {res['socket_errors']}, "
                    f"committed Δ {res['committed_delta']} for {res['requests']} requests, load {la}, "
                    f"status probe max {res.get('status_probe_max_ms')} ms, CPU ms/write leader "
                    f"{res['cpu_ms_per_write_leader']} cluster {res['cpu_ms_per_write_cluster']}")
    return rows


def table(rows, conns_list):
    out = []
    for conns in conns_list:
        per = {}
        for system in ("berth", "berth-tls", "etcd", "berth-haproxy"):
            rs = [r for r in rows if r["system"] == system and r["conns"] == conns]
            if rs:
                per[system] = {k: statistics.median([r[k] for r in rs]) for k in ("rps", "p50_ms", "p99_ms")}
                per[system]["runs"] = len(rs)
        entry = {"conns": conns, **per}
        if "berth" in per and "etcd" in per:
            entry["ratio_rps"] = per["berth"]["rps"] / per["etcd"]["rps"]
            entry["ratio_p99"] = per["berth"]["p99_ms"] / per["etcd"]["p99_ms"]
        if "berth" in per and "berth-haproxy" in per:
            entry["haproxy_ratio_rps"] = per["berth-haproxy"]["rps"] / per["berth"]["rps"]
        if "berth" in per and "berth-tls" in per:
            # What peer TLS costs: 1 − (writes/s with TLS ÷ writes/s plaintext).
            entry["tls_cost_rps"] = 1 - per["berth-tls"]["rps"] / per["berth"]["rps"]
            entry["tls_ratio_p99"] = per["berth-tls"]["p99_ms"] / per["berth"]["p99_ms"]
        out.append(entry)
    return out


def log_counts(work):
    """Snapshots taken and role changes, per Berth member log."""
    out = {}
    logs = os.path.join(work, "logs")
    for name in sorted(os.listdir(logs)) if os.path.isdir(logs) else []:
        if not name.startswith("berth-"):
            continue
        with open(os.path.join(logs, name), errors="replace") as f:
            text = f.read()
        out[name] = {"log_compactions": text.count("log compacted"),
                     "became_candidate": text.count("role=candidate"),
                     "became_leader": text.count("role=leader")}
    return out


def gap_stats(trials):
    gaps = [t["gap_ms"] for t in trials if t.get("gap_ms") is not None]
    if not gaps:
        return None
    return {"n": len(gaps), "median_ms": statistics.median(gaps), "max_ms": max(gaps), "min_ms": min(gaps),
            "all_ms": gaps}


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    def cmd(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError:
            return "?"
    return {"nproc": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
            "etcd_version": cmd(["etcd", "--version"]).splitlines()[0] if cmd(["etcd", "--version"]) else "?",
            "wrk_version": cmd(["wrk", "-v"]).splitlines()[0] if cmd(["wrk", "-v"]) else "?",
            "loadavg_at_start": open("/proc/loadavg").read().strip()}


def markdown(results):
    lines = [f"# Berth vs etcd — {results['started']}", ""]
    m = results["machine"]
    lines += [f"- machine: {m['nproc']} cores, {m['cpu_model']}, kernel {m['kernel']}; load at start {m['loadavg_at_start']}",
              f"- {m['etcd_version']}; {m['wrk_version']}",
              f"- {results['args']}", ""]
    if results.get("table"):
        lines += ["| connections | Berth writes/s | Berth p50 | Berth p99 | etcd writes/s | etcd p50 | etcd p99 | "
                  "writes/s ratio | p99 ratio |", "|---|---|---|---|---|---|---|---|---|"]
        for e in results["table"]:
            b, t = e.get("berth"), e.get("etcd")
            def cell(x, k, fmt):
                return fmt.format(x[k]) if x else "—"
            lines.append(f"| {e['conns']} | {cell(b, 'rps', '{:.0f}')} | {cell(b, 'p50_ms', '{:.2f} ms')} | "
                         f"{cell(b, 'p99_ms', '{:.2f} ms')} | {cell(t, 'rps', '{:.0f}')} | {cell(t, 'p50_ms', '{:.2f} ms')} | "
                         f"{cell(t, 'p99_ms', '{:.2f} ms')} | "
                         f"{'{:.2f}×'.format(e['ratio_rps']) if 'ratio_rps' in e else '—'} | "
                         f"{'{:.2f}×'.format(e['ratio_p99']) if 'ratio_p99' in e else '—'} |")
        lines.append("")
        if any("berth-haproxy" in e for e in results["table"]):
            lines += ["Through HAProxy (deploy-style front, round robin over the 3 members; followers forward) "
                      "against direct writes to the leader, same run:", "",
                      "| connections | direct writes/s | p99 | through HAProxy writes/s | p99 | HAProxy / direct |",
                      "|---|---|---|---|---|---|"]
            for e in results["table"]:
                b, h = e.get("berth"), e.get("berth-haproxy")
                if b and h:
                    lines.append(f"| {e['conns']} | {b['rps']:.0f} | {b['p99_ms']:.2f} ms | {h['rps']:.0f} | "
                                 f"{h['p99_ms']:.2f} ms | {e['haproxy_ratio_rps']:.2f}× |")
        if any("berth-tls" in e for e in results["table"]):
            lines += ["Peer TLS (berth-tls: peer links over mutual TLS, API plaintext) against plaintext Berth:", "",
                      "| connections | plaintext writes/s | TLS writes/s | TLS cost | plaintext p99 | TLS p99 |",
                      "|---|---|---|---|---|---|"]
            for e in results["table"]:
                b, t = e.get("berth"), e.get("berth-tls")
                if not (b and t):
                    continue
                lines.append(f"| {e['conns']} | {b['rps']:.0f} | {t['rps']:.0f} | {100 * e['tls_cost_rps']:.1f} % | "
                             f"{b['p99_ms']:.2f} ms | {t['p99_ms']:.2f} ms |")
            lines.append("")
        lines += ["Per run:", "", "| system | round | conns | writes/s | p50 | p99 | max | non-2xx | socket errors | "
                  "committed Δ / requests | load 1m | slowest status probe | CPU ms/write leader / 3 nodes |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in results["runs"]:
            lines.append(f"| {r['system']} | {r['round']} | {r['conns']} | {r['rps']:.0f} | {r['p50_ms']:.2f} ms | "
                         f"{r['p99_ms']:.2f} ms | {r.get('max_ms') or 0:.1f} ms | {r['non_2xx']} | {r['socket_errors'] or '—'} | "
                         f"{r['committed_delta']} / {r['requests']} | {r['loadavg_1m_before']} | {r.get('status_probe_max_ms')} ms | "
                         f"{r.get('cpu_ms_per_write_leader')} / {r.get('cpu_ms_per_write_cluster')} |")
        lines.append("")
    for key, title in (("elections", "Spurious elections under load (no faults)"),):
        if results.get(key):
            lines += [f"## {title}", ""]
            for system, e in results[key].items():
                lines.append(f"- {system}: terms before {e['before']}, after {e['after']}, leader {e['leader_before']} → "
                             f"{e['leader_after']}: {'NONE' if e['spurious'] == 0 else str(e['spurious']) + ' term change(s)'}")
            lines.append("")
    for key, title in (("berth_kill", "Berth kill -9 of the leader"), ("berth_transfer", "Berth leadership transfer"),
                       ("berth_transfer_haproxy", "Berth leadership transfer, writes through HAProxy"),
                       ("etcd_kill", "etcd kill -9 of the leader")):
        trials = results.get(key)
        if not trials:
            continue
        s = gap_stats(trials)
        lines += [f"## {title}", ""]
        if s:
            lines.append(f"gap median {s['median_ms']:.1f} ms, max {s['max_ms']:.1f} ms over {s['n']} trials: {s['all_ms']}")
        lines.append("")
        for t in trials:
            lines.append(f"- {json.dumps(t)}")
        lines.append("")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--berth", required=True)
    ap.add_argument("--etcd", default="etcd")
    ap.add_argument("--berth-args", default="", help="extra berth server flags, e.g. '--snapshot-threshold 1000000'")
    ap.add_argument("--systems", default="berth,etcd",
                    help="any of berth, berth-tls (peer links over mutual TLS, API plaintext), etcd, "
                         "berth-haproxy (Berth's writes through a real HAProxy; needs berth)")
    ap.add_argument("--tls-dir", default=None,
                    help="certificates for berth-tls (berth certs init layout); default: made in the work dir")
    ap.add_argument("--conns", default="1,16,64")
    ap.add_argument("--duration", type=int, default=12)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--payload-bytes", type=int, default=128)
    ap.add_argument("--kill-trials", type=int, default=5)
    ap.add_argument("--transfer-trials", type=int, default=5)
    ap.add_argument("--etcd-kill-trials", type=int, default=5)
    ap.add_argument("--gap-timeout", type=float, default=0.5,
                    help="per-request timeout of the gap client, seconds (then it tries another member)")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--haproxy-transfer-trials", type=int, default=0,
                    help="leadership-transfer trials with the writer going through a real HAProxy")
    args = ap.parse_args()
    global WORK
    WORK = args.work
    os.makedirs(os.path.join(WORK, "pids"), exist_ok=True)
    # run.sh stops the driver with SIGTERM: unwind so that wrk and the servers are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    os.makedirs(args.out, exist_ok=True)
    conns_list = [int(c) for c in args.conns.split(",") if c]
    wanted = args.systems.split(",")
    results = {"started": datetime.datetime.now().isoformat(timespec="seconds"), "machine": machine(),
               "args": " ".join(sys.argv[1:])}
    log(f"machine: {results['machine']}")

    started = []
    try:
        systems = []
        if "berth" in wanted:
            berth = clusters.BerthCluster(args.work, args.berth, extra_args=args.berth_args.split())
            started.append(berth)
            log(f"starting Berth: http ports {berth.http_ports}, peer ports {berth.peer_ports}")
            berth.start_all_and_wait()
            systems.append(("berth", berth))
            if "berth-haproxy" in wanted:
                front = clusters.HAProxyFront(args.work, berth)
                started.append(front)
                front.start_all_and_wait()
                log(f"HAProxy in front of Berth on port {front.port}")
                systems.append(("berth-haproxy", clusters.ThroughFront(berth, front)))
        if "berth-tls" in wanted:
            tls_dir = args.tls_dir or os.path.join(args.work, "certs")
            if not args.tls_dir:
                subprocess.run([args.berth, "certs", "init", tls_dir, "--nodes", "3"], check=True,
                               stdout=subprocess.DEVNULL)
            berth_tls = clusters.BerthCluster(args.work, args.berth, extra_args=args.berth_args.split(),
                                              kind="berth-tls", tls_dir=tls_dir)
            started.append(berth_tls)
            log(f"starting Berth with peer TLS ({tls_dir}): http ports {berth_tls.http_ports}, "
                f"peer ports {berth_tls.peer_ports}")
            berth_tls.start_all_and_wait()
            systems.append(("berth-tls", berth_tls))
        if "etcd" in wanted:
            etcd = clusters.EtcdCluster(args.work, args.etcd)
            started.append(etcd)
            log(f"starting etcd: client ports {etcd.http_ports}, peer ports {etcd.peer_ports}")
            etcd.start_all_and_wait()
            systems.append(("etcd", etcd))

        # Gaps first, on young clusters, so that they measure elections and transfers rather than
        # the state size reached by the throughput runs.
        for name, cl in systems:
            if name == "berth" and args.transfer_trials > 0:
                log(f"berth: {args.transfer_trials} leadership-transfer trials")
                results["berth_transfer"] = gap.run_transfer_trials(cl, args.transfer_trials, log,
                                                                    http_json=clusters.http_json,
                                                                    request_timeout=args.gap_timeout)
            if name == "berth" and args.haproxy_transfer_trials > 0:
                front = clusters.HAProxyFront(args.work, cl)
                started.append(front)
                front.start_all_and_wait()
                log(f"berth: {args.haproxy_transfer_trials} leadership-transfer trials through HAProxy (port {front.port})")
                results["berth_transfer_haproxy"] = gap.run_transfer_trials(
                    cl, args.haproxy_transfer_trials, log, http_json=clusters.http_json,
                    request_timeout=args.gap_timeout, front=front)
                front.stop()
            if name == "berth" and args.kill_trials > 0:
                log(f"berth: {args.kill_trials} kill -9 trials")
                results["berth_kill"] = gap.run_kill_trials(cl, args.kill_trials, log, request_timeout=args.gap_timeout)
            if name == "etcd" and args.etcd_kill_trials > 0:
                log(f"etcd: {args.etcd_kill_trials} kill -9 trials")
                results["etcd_kill"] = gap.run_kill_trials(cl, args.etcd_kill_trials, log, request_timeout=args.gap_timeout)
        if not args.skip_throughput:
            before = {name: (cl.terms(), cl.leader()) for name, cl in systems}
            log(f"throughput: conns {conns_list}, {args.warmup}s warm-up + {args.duration}s each, {args.rounds} round(s)")
            rows = throughput(systems, conns_list, args.duration, args.warmup, args.rounds, args.payload_bytes)
            after = {name: (cl.terms(), cl.leader()) for name, cl in systems}
            results["runs"] = [{k: v for k, v in r.items() if k != "raw"} for r in rows]
            results["wrk_output"] = [r["raw"] for r in rows]
            results["table"] = table(rows, conns_list)
            results["elections"] = {}
            for name, _ in systems:
                tb, lb = before[name]
                ta, la = after[name]
                spurious = max(ta.values()) - max(tb.values())
                results["elections"][name] = {"before": tb, "after": ta, "leader_before": lb, "leader_after": la,
                                              "spurious": spurious}
                log(f"  {name}: terms {tb} -> {ta}, leader {lb} -> {la}")

        results["berth_log_counts"] = log_counts(args.work)
        log(f"berth logs: {results['berth_log_counts']}")
        for key in ("berth_kill", "berth_transfer", "berth_transfer_haproxy", "etcd_kill"):
            if results.get(key):
                results[key + "_stats"] = gap_stats(results[key])
                log(f"{key}: {results[key + '_stats']}")
    finally:
        for cl in started:
            cl.stop()
        results["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
        results["log"] = LOG_LINES
        with open(os.path.join(args.out, "results.json"), "w") as f:
            json.dump(results, f, indent=2)
        with open(os.path.join(args.out, "summary.md"), "w") as f:
            f.write(markdown(results))
        log(f"results in {args.out}/summary.md and results.json")


if __name__ == "__main__":
    main()
