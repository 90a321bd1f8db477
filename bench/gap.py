"""Write-unavailability gap: one client writes sequentially while a fault is injected.

The client keeps one keep-alive HTTP connection to the node it believes leads and sends one
write at a time. On any failure (refused, reset, no answer within the request timeout — 0.5 s by
default —, non-success status) it moves on: to
the `leader_hint` of a 503 when there is one, otherwise to the next member, after a 2 ms
pause (it deliberately ignores Retry-After so that the system, not the client's back-off, is
measured). Every attempt's start, end, node and outcome is recorded with time.monotonic().

gap (kill -9)   = end of the first successful write sent after the kill − end of the last
                  successful write sent before it (the write in flight at the kill may still
                  succeed: its answer can already be on its way).
gap (transfer)  = the longest interval between two consecutive successful writes that overlaps
                  the transfer request (from sending it until 1 s after its answer).
"""

import http.client
import json
import statistics
import threading
import time

HOST = "127.0.0.1"


class Writer(threading.Thread):
    def __init__(self, cluster, first_target, request_timeout=0.5, label="gap"):
        super().__init__(daemon=True)
        self.cluster = cluster
        self.target = first_target
        self.request_timeout = request_timeout
        self.label = label
        self.stop_event = threading.Event()
        self.successes = []  # (start, end, node)
        self.failures = []  # (start, end, node, reason)
        self.counter = 0
        self.conn = None
        self.conn_node = None

    def _connection(self):
        if self.conn is None or self.conn_node != self.target:
            if self.conn is not None:
                self.conn.close()
            self.conn = http.client.HTTPConnection(HOST, self.cluster.http_ports[self.target],
                                                   timeout=self.request_timeout)
            self.conn_node = self.target
        return self.conn

    def _rotate(self, hint=None):
        ids = self.cluster.ids
        if hint in ids and hint != self.target:
            self.target = hint
        else:
            self.target = ids[(ids.index(self.target) + 1) % len(ids)]

    def run(self):
        while not self.stop_event.is_set():
            self.counter += 1
            payload = f"{self.label}-{self.counter}-".ljust(128, "x")
            path, body = self.cluster.write_request(payload)
            node = self.target
            start = time.monotonic()
            status, parsed, reason = None, None, None
            try:
                conn = self._connection()
                conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                data = resp.read()
                status = resp.status
                try:
                    parsed = json.loads(data) if data else None
                except ValueError:
                    parsed = None
            except (OSError, http.client.HTTPException) as e:
                reason = type(e).__name__
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
            end = time.monotonic()
            if status is not None and self.cluster.write_ok(status):
                self.successes.append((start, end, node))
                continue
            if reason is None:
                code = None
                if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
                    code = parsed["error"].get("code")
                reason = f"HTTP {status} {code or ''}".strip()
            self.failures.append((start, end, node, reason))
            hint = parsed.get("leader_hint") if isinstance(parsed, dict) else None
            if self.conn is not None:
                self.conn.close()
                self.conn = None
            self._rotate(hint)
            time.sleep(0.002)
        if self.conn is not None:
            self.conn.close()

    def stop(self):
        self.stop_event.set()
        self.join(timeout=10)

    # Analysis -----------------------------------------------------------------------------

    def kill_gap(self, t_kill):
        """The one request in flight at the kill may still succeed (its answer was already on
        its way): it counts as a write before the kill. After = sent after the kill."""
        before = [s[1] for s in self.successes if s[0] < t_kill]
        after = [s[1] for s in self.successes if s[0] >= t_kill]
        if not before or not after:
            return None
        return min(after) - max(before)

    def window_gap(self, t0, t1):
        ends = sorted(s[1] for s in self.successes)
        best = None
        for a, b in zip(ends, ends[1:]):
            if a <= t1 and b >= t0:
                best = b - a if best is None else max(best, b - a)
        return best

    def baseline_interval(self, t_until):
        ends = sorted(s[1] for s in self.successes if s[1] <= t_until)
        gaps = [b - a for a, b in zip(ends, ends[1:])]
        return statistics.median(gaps) if gaps else None

    def failures_between(self, t0, t1):
        return [f for f in self.failures if t0 <= f[0] <= t1]


def summarize_failures(failures):
    counts = {}
    for f in failures:
        counts[f[3]] = counts.get(f[3], 0) + 1
    return counts


def run_kill_trials(cluster, trials, log, settle=1.0, max_wait=15.0, request_timeout=0.5):
    """kill -9 the leader `trials` times; returns a list of per-trial dicts."""
    results = []
    for n in range(1, trials + 1):
        cluster.wait_ready(timeout=60, members=cluster.ids)
        leader = cluster.leader()
        writer = Writer(cluster, leader, request_timeout=request_timeout, label=f"kill{n}")
        writer.start()
        time.sleep(settle)
        t_kill = time.monotonic()
        cluster.kill9(leader)
        deadline = time.monotonic() + max_wait
        while time.monotonic() < deadline:
            if any(s[0] >= t_kill for s in writer.successes):
                break
            time.sleep(0.01)
        time.sleep(0.3)
        writer.stop()
        gap = writer.kill_gap(t_kill)
        new_leader = cluster.leader()
        fails = summarize_failures(writer.failures_between(t_kill - 1, t_kill + max_wait))
        base = writer.baseline_interval(t_kill)
        result = {"trial": n, "killed": leader, "new_leader": new_leader,
                  "gap_ms": None if gap is None else round(gap * 1000, 1),
                  "baseline_write_ms": None if base is None else round(base * 1000, 2),
                  "failed_attempts": fails}
        log(f"  kill trial {n}: leader {leader} killed, gap {result['gap_ms']} ms, new leader {new_leader}, "
            f"failed attempts {fails}")
        results.append(result)
        cluster.start(leader)
        cluster.wait_ready(timeout=60, members=cluster.ids)
        time.sleep(0.5)
    return results


def run_transfer_trials(cluster, trials, log, settle=1.0, http_json=None, request_timeout=0.5, front=None):
    """POST /api/cluster/transfer-leadership `trials` times (Berth only). With `front` (an
    HAProxyFront), the writer writes through it instead of to the leader directly."""
    results = []
    for n in range(1, trials + 1):
        cluster.wait_ready(timeout=60, members=cluster.ids)
        leader = cluster.leader()
        target = [j for j in cluster.ids if j != leader][n % (len(cluster.ids) - 1)]
        if front is not None:
            writer = Writer(front, 0, request_timeout=request_timeout, label=f"xfer{n}")
        else:
            writer = Writer(cluster, leader, request_timeout=request_timeout, label=f"xfer{n}")
        writer.start()
        time.sleep(settle)
        t0 = time.monotonic()
        status, body = http_json(cluster.http_ports[leader], "POST", "/api/cluster/transfer-leadership",
                                 {"target": target}, timeout=10)
        t1 = time.monotonic()
        time.sleep(1.0)
        writer.stop()
        gap = writer.window_gap(t0, t1 + 1.0)
        fails = summarize_failures(writer.failures_between(t0 - 0.1, t1 + 1.0))
        base = writer.baseline_interval(t0)
        result = {"trial": n, "from": leader, "to": target, "http_status": status,
                  "transfer_call_ms": round((t1 - t0) * 1000, 1),
                  "gap_ms": None if gap is None else round(gap * 1000, 1),
                  "baseline_write_ms": None if base is None else round(base * 1000, 2),
                  "failed_attempts": fails, "leader_after": cluster.leader()}
        log(f"  transfer trial {n}: {leader}->{target} HTTP {status} in {result['transfer_call_ms']} ms, "
            f"max write gap {result['gap_ms']} ms, failed attempts {fails}")
        results.append(result)
        time.sleep(0.5)
    return results
