"""Start, stop, kill and inspect local 3-node Berth and etcd clusters on 127.0.0.1.

Every process started here writes its pid to WORK/pids/NAME.pid so that bench/run.sh can
kill it on exit even when Python itself was killed. Only loopback addresses are used.
"""

import base64
import http.client
import json
import os
import signal
import socket
import subprocess
import time

HOST = "127.0.0.1"


def free_ports(count):
    """`count` distinct free TCP ports on 127.0.0.1 (bound once, then released)."""
    sockets, ports = [], []
    try:
        while len(ports) < count:
            s = socket.socket()
            s.bind((HOST, 0))
            sockets.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in sockets:
            s.close()
    return ports


def http_json(port, method, path, body=None, timeout=2.0):
    """(status, parsed JSON or None) for one request to 127.0.0.1:port; raises OSError."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        conn.request(method, path, body=payload, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = None
        return resp.status, parsed
    finally:
        conn.close()


class Cluster:
    """Common process handling: one subprocess per member, pid files, logs."""

    kind = "?"

    def __init__(self, work, size=3):
        self.work = work
        self.size = size
        self.procs = {}  # member id -> Popen
        os.makedirs(os.path.join(work, "pids"), exist_ok=True)
        os.makedirs(os.path.join(work, "logs"), exist_ok=True)

    def _pidfile(self, i):
        return os.path.join(self.work, "pids", f"{self.kind}-{i}.pid")

    def _spawn(self, i, argv):
        log = open(os.path.join(self.work, "logs", f"{self.kind}-{i}.log"), "ab")
        # A new session: a Ctrl-C in the terminal reaches run.sh (which cleans up), not the
        # servers directly, so a server is never left half-stopped by the signal alone.
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=getattr(self, "env", None))
        log.close()
        self.procs[i] = proc
        with open(self._pidfile(i), "w") as f:
            f.write(str(proc.pid))
        return proc

    def pid(self, i):
        return self.procs[i].pid

    def alive(self, i):
        p = self.procs.get(i)
        return p is not None and p.poll() is None

    def kill9(self, i):
        p = self.procs[i]
        p.send_signal(signal.SIGKILL)
        p.wait()
        try:
            os.unlink(self._pidfile(i))
        except FileNotFoundError:
            pass

    def stop(self):
        for i, p in self.procs.items():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.time() + 10
        for i, p in self.procs.items():
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            try:
                os.unlink(self._pidfile(i))
            except FileNotFoundError:
                pass
        self.procs = {}

    def wait_for(self, predicate, timeout, what):
        deadline = time.time() + timeout
        last_error = None
        while time.time() < deadline:
            try:
                result = predicate()
                if result:
                    return result
            except (OSError, http.client.HTTPException, ValueError) as e:
                last_error = e
            time.sleep(0.05)
        raise RuntimeError(f"{self.kind}: timed out waiting for {what} (last error: {last_error})")


class BerthCluster(Cluster):
    kind = "berth"

    def __init__(self, work, binary, size=3, extra_args=(), kind="berth", tls_dir=None):
        # kind names the logs and pid files: "berth-tls" runs beside "berth" in one benchmark.
        self.kind = kind
        super().__init__(work, size)
        self.binary = binary
        self.extra_args = list(extra_args)
        # Peer links over mutual TLS with the certificates of `berth certs init tls_dir`; the API
        # stays plaintext (BERTH_HTTP_TLS=off) so that wrk measures what peer TLS costs.
        self.tls_dir = tls_dir
        self.env = dict(os.environ, BERTH_HTTP_TLS="off") if tls_dir else None
        ports = free_ports(2 * size)
        self.peer_ports = {i + 1: ports[i] for i in range(size)}
        self.http_ports = {i + 1: ports[size + i] for i in range(size)}
        self.ids = list(range(1, size + 1))

    def argv(self, i):
        peers = ",".join(f"{j}={HOST}:{self.peer_ports[j]}" for j in self.ids)
        return [self.binary, "server", "--node-id", str(i),
                "--data-dir", os.path.join(self.work, "data", f"berth-{i}"),
                "--peer-listen", f"{HOST}:{self.peer_ports[i]}",
                "--http-listen", f"{HOST}:{self.http_ports[i]}",
                "--peers", peers] + self.tls_args(i) + self.extra_args

    def tls_args(self, i):
        if not self.tls_dir:
            return []
        return ["--tls-cert", os.path.join(self.tls_dir, f"node-{i}.pem"),
                "--tls-key", os.path.join(self.tls_dir, f"node-{i}.key"),
                "--tls-ca", os.path.join(self.tls_dir, "ca.pem")]

    def start(self, i=None):
        for j in ([i] if i else self.ids):
            self._spawn(j, self.argv(j))

    def start_all_and_wait(self, timeout=30):
        self.start()
        self.wait_ready(timeout)

    def wait_ready(self, timeout=30, members=None):
        members = members or [j for j in self.ids if self.alive(j)]

        def ready():
            for j in members:
                st, _ = http_json(self.http_ports[j], "GET", "/health/ready", timeout=1)
                if st != 200:
                    return False
            return self.leader() is not None
        self.wait_for(ready, timeout, "all members ready with a leader")

    def status(self, i, timeout=1.0):
        st, body = http_json(self.http_ports[i], "GET", "/api/cluster", timeout=timeout)
        return body if st == 200 else None

    def leader(self):
        """The member id that every live member agrees leads, or None."""
        seen = set()
        for j in self.ids:
            if not self.alive(j):
                continue
            try:
                s = self.status(j)
            except (OSError, http.client.HTTPException):
                return None
            if not s or s.get("leader_id") is None:
                return None
            seen.add(s["leader_id"])
        return seen.pop() if len(seen) == 1 else None

    def terms(self):
        out = {}
        for j in self.ids:
            if self.alive(j):
                s = self.status(j)
                out[j] = s.get("current_term") if s else None
        return out

    def write_target(self, i):
        return f"http://{HOST}:{self.http_ports[i]}/api/jobs"

    def write_request(self, payload):
        """(path, body bytes) of one write whose payload is `payload` (str)."""
        return "/api/jobs", json.dumps({"command": payload}).encode()

    def write_ok(self, status):
        return status == 201


class EtcdCluster(Cluster):
    kind = "etcd"

    def __init__(self, work, binary="etcd", size=3, extra_args=()):
        super().__init__(work, size)
        self.binary = binary
        self.extra_args = list(extra_args)
        ports = free_ports(2 * size)
        self.ids = list(range(1, size + 1))
        self.peer_ports = {i + 1: ports[i] for i in range(size)}
        self.http_ports = {i + 1: ports[size + i] for i in range(size)}  # client ports
        self.started_once = set()

    def argv(self, i):
        initial = ",".join(f"e{j}=http://{HOST}:{self.peer_ports[j]}" for j in self.ids)
        return [self.binary, "--name", f"e{i}",
                "--data-dir", os.path.join(self.work, "data", f"etcd-{i}"),
                "--listen-client-urls", f"http://{HOST}:{self.http_ports[i]}",
                "--advertise-client-urls", f"http://{HOST}:{self.http_ports[i]}",
                "--listen-peer-urls", f"http://{HOST}:{self.peer_ports[i]}",
                "--initial-advertise-peer-urls", f"http://{HOST}:{self.peer_ports[i]}",
                "--initial-cluster", initial,
                "--initial-cluster-token", "berth-bench",
                "--initial-cluster-state", "new",
                "--logger", "zap", "--log-level", "warn"] + self.extra_args

    def start(self, i=None):
        for j in ([i] if i else self.ids):
            self._spawn(j, self.argv(j))
            self.started_once.add(j)

    def start_all_and_wait(self, timeout=30):
        self.start()
        self.wait_ready(timeout)

    def wait_ready(self, timeout=30, members=None):
        members = members or [j for j in self.ids if self.alive(j)]

        def ready():
            for j in members:
                st, body = http_json(self.http_ports[j], "GET", "/health", timeout=1)
                if st != 200 or not body or body.get("health") != "true":
                    return False
            return self.leader() is not None
        self.wait_for(ready, timeout, "all members healthy with a leader")

    def status(self, i, timeout=1.0):
        st, body = http_json(self.http_ports[i], "POST", "/v3/maintenance/status", {}, timeout=timeout)
        return body if st == 200 else None

    def _member_ids(self):
        """etcd member id (as decimal string) -> our index."""
        for j in self.ids:
            if not self.alive(j):
                continue
            s = self.status(j)
            if s:
                st, body = http_json(self.http_ports[j], "POST", "/v3/cluster/member/list", {})
                return {m["ID"]: int(m["name"][1:]) for m in body["members"]}
        return {}

    def leader(self):
        seen = set()
        for j in self.ids:
            if not self.alive(j):
                continue
            try:
                s = self.status(j)
            except (OSError, http.client.HTTPException):
                return None
            if not s or s.get("leader") in (None, "0"):
                return None
            seen.add(s["leader"])
        if len(seen) != 1:
            return None
        return self._member_ids().get(seen.pop())

    def terms(self):
        out = {}
        for j in self.ids:
            if self.alive(j):
                s = self.status(j)
                out[j] = int(s.get("raftTerm", 0)) if s else None
        return out

    def write_request(self, payload):
        key = base64.b64encode(("bench/" + payload[:24]).encode()).decode()
        value = base64.b64encode(payload.encode()).decode()
        return "/v3/kv/put", json.dumps({"key": key, "value": value}).encode()

    def write_ok(self, status):
        return status == 200


class HAProxyFront(Cluster):
    """A real HAProxy in front of a Berth cluster, as deploy/haproxy/haproxy.cfg sets one up:
    health checks on /health/ready every 100 ms, writes buffered so that a request refused
    with 503 or a refused connection is retried on another node (they carry an idempotency key
    or were never placed, so a retry is safe). The gap client writes through it as member 0."""
    kind = "haproxy"

    def __init__(self, work, berth, binary="haproxy"):
        super().__init__(work, size=1)
        self.berth = berth
        self.binary = binary
        (self.port,) = free_ports(1)
        self.ids = [0]
        self.http_ports = {0: self.port}
        self.config = os.path.join(work, "haproxy.cfg")
        servers = "\n".join(
            f"    server n{j} {HOST}:{berth.http_ports[j]} check" for j in berth.ids)
        with open(self.config, "w") as f:
            f.write(f"""global
    maxconn 2048
defaults
    mode http
    timeout connect 200ms
    timeout client 30s
    timeout server 10s
    retries 3
    option redispatch
    option http-buffer-request
    retry-on conn-failure empty-response 503
frontend api
    bind {HOST}:{self.port}
    default_backend berth
backend berth
    balance roundrobin
    option httpchk GET /health/ready
    default-server inter 100ms fall 1 rise 1
{servers}
""")

    def start(self, i=None):
        self._spawn(0, [self.binary, "-f", self.config, "-db"])

    def start_all_and_wait(self, timeout=30):
        self.start()
        self.wait_for(lambda: http_json(self.port, "GET", "/health/live", timeout=1)[0] == 200, timeout,
                      "haproxy to answer")

    def wait_ready(self, timeout=30, members=None):
        self.berth.wait_ready(timeout, members)

    def leader(self):
        return self.berth.leader()

    def write_request(self, payload):
        return self.berth.write_request(payload)

    def write_ok(self, status):
        return self.berth.write_ok(status)


class ThroughFront:
    """The Berth cluster as a writer sees it through HAProxy: wrk targets the front's port;
    the leader, the members' status and CPU are the cluster's."""
    kind = "berth"

    def __init__(self, berth, front):
        self.berth, self.front = berth, front
        self.front_port = front.port
        self.ids = berth.ids
        self.http_ports = berth.http_ports

    def leader(self):
        return self.berth.leader()

    def terms(self):
        return self.berth.terms()

    def status(self, i, timeout=1.0):
        return self.berth.status(i, timeout)

    def pid(self, i):
        return self.berth.pid(i)

    def alive(self, i):
        return self.berth.alive(i)
