"""Joining the cluster with a deadline. TensorFlow waits for a missing worker for ever, and while it
waits it holds the interpreter lock, so no Python thread can time it out. So, before TensorFlow
starts, every worker checks in with the chief over plain TCP on the chief's own port (free until
the chief starts TensorFlow): a missing worker is a one-line error after the timeout, and workers
started with other options or other data are told so. A watchdog process covers the few seconds
between this meeting and TensorFlow's own join."""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from soroban_vision.errors import UsageError
from soroban_vision.multiworker.cluster import Cluster, ClusterError

PROTOCOL = 1
RETRY_S = 0.5


def meet(cluster: Cluster, facts: dict, timeout: float, say: Callable[[str], None]) -> None:
    """Return when every worker has checked in with the same cluster and `facts` (the training
    options and the data's fingerprint); raise ClusterError after `timeout` seconds, or UsageError
    when a worker disagrees."""
    deadline = time.monotonic() + timeout
    hello = {"protocol": PROTOCOL, "index": cluster.index, "workers": list(cluster.workers), "facts": facts}
    if cluster.is_chief:
        say(f"waiting up to {timeout:g} s for {cluster.size - 1} worker(s) to join at {cluster.chief}")
        _host(cluster, hello, deadline, timeout)
    else:
        say(f"joining the chief at {cluster.chief} (waiting up to {timeout:g} s)")
        _visit(cluster, hello, deadline, timeout)


def _disagreement(mine: dict, theirs: dict) -> str | None:
    """What differs between two workers' hellos, in words; None when they agree."""
    if theirs.get("protocol") != PROTOCOL:
        return "runs another version of soroban-vision"
    if theirs["workers"] != mine["workers"]:
        return f"has another --cluster list ({','.join(theirs['workers'])})"
    keys = sorted(k for k in mine["facts"] if mine["facts"][k] != theirs["facts"].get(k))
    if keys:
        return "was started with " + ", ".join(
            f"{k} {theirs['facts'].get(k)} where the chief has {mine['facts'][k]}" for k in keys
        )
    return None


def _send(conn: socket.socket, doc: dict) -> None:
    with contextlib.suppress(OSError):  # the worker has gone; it will check in again or time out
        conn.sendall(json.dumps(doc).encode() + b"\n")


def _read_line(conn: socket.socket, deadline: float) -> dict | None:
    """One JSON line from `conn` before `deadline`; None for anything else (a closed socket, bytes
    from TensorFlow's server still on that port, a timeout)."""
    data = b""
    while b"\n" not in data and time.monotonic() < deadline and len(data) < 1 << 16:
        conn.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = conn.recv(4096)
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    try:
        doc = json.loads(data.split(b"\n", 1)[0])
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return doc if isinstance(doc, dict) else None


def _alive(conn: socket.socket) -> bool:
    readable, _, _ = select.select([conn], [], [], 0)
    if not readable:
        return True
    try:
        return bool(conn.recv(1, socket.MSG_PEEK))
    except OSError:
        return False


def _host(cluster: Cluster, hello: dict, deadline: float, timeout: float) -> None:
    """The chief's side: listen on its own port until every other worker has checked in."""
    _, port = cluster.host_port(0)
    server = socket.socket(socket.AF_INET6 if ":" in cluster.host_port(0)[0] else socket.AF_INET)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        server.bind(("", port))
    except OSError as e:
        server.close()
        raise ClusterError(f"the chief cannot listen on port {port} ({e.strerror or e})") from None
    server.listen(cluster.size)
    joined: dict[int, socket.socket] = {}
    problem = ""
    try:
        while len(joined) < cluster.size - 1:
            left = deadline - time.monotonic()
            if left <= 0:
                missing = [i for i in range(1, cluster.size) if i not in joined]
                where = ", ".join(f"{i} ({cluster.workers[i]})" for i in missing)
                message = problem or (
                    f"worker(s) {where} did not join within {timeout:g} s; start them with the same "
                    "--cluster and their --task-index, or raise --cluster-timeout"
                )
                for conn in joined.values():
                    _send(conn, {"error": message})
                raise ClusterError(message)
            server.settimeout(min(left, 1.0))
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            theirs = _read_line(conn, min(deadline, time.monotonic() + 5))
            if theirs is None or not {"index", "workers", "facts"} <= theirs.keys():
                conn.close()
                continue
            index = theirs["index"]
            why = _disagreement(hello, theirs)
            if why is None and not (isinstance(index, int) and 0 < index < cluster.size):
                why = f"says it is worker {index}"
            if why is None and index in joined and _alive(joined[index]):
                why = f"says it is worker {index}, which has already joined"
            if why is not None:
                problem = f"a worker at {conn.getpeername()[0]} {why}"
                _send(conn, {"error": f"this worker {why}; every worker needs the same command"})
                conn.close()
                continue
            if index in joined:
                joined[index].close()  # a worker that died and came back
            joined[index] = conn
        for conn in joined.values():
            _send(conn, {"go": True})
    finally:
        for conn in joined.values():
            conn.close()
        server.close()


def _visit(cluster: Cluster, hello: dict, deadline: float, timeout: float) -> None:
    """A worker's side: check in with the chief, again and again until it answers or time is up."""
    host, port = cluster.host_port(0)
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(
                (host, port), timeout=max(0.1, min(2.0, deadline - time.monotonic()))
            ) as conn:
                conn.sendall(json.dumps(hello).encode() + b"\n")
                answer = _read_line(conn, deadline)
        except OSError:
            answer = None
        if answer and "error" in answer:
            raise UsageError(str(answer["error"]))
        if answer and answer.get("go"):
            return
        time.sleep(RETRY_S)
    raise ClusterError(
        f"the chief (worker 0 at {cluster.chief}) did not answer within {timeout:g} s; start it with "
        "the same --cluster and --task-index 0, or raise --cluster-timeout"
    )


WATCHDOG = """
import os, sys, time, signal
parent, deadline, message = int(sys.argv[1]), time.monotonic() + float(sys.argv[2]), sys.argv[3]
while time.monotonic() < deadline:
    time.sleep(0.2)
    if os.getppid() != parent:
        sys.exit(0)
sys.stderr.write("error: " + message + "\\n")
sys.stderr.flush()
os.kill(parent, signal.SIGKILL)
"""


@contextmanager
def watchdog(seconds: float, message: str) -> Iterator[None]:
    """End this process with `message` on stderr if the block has not finished within `seconds`.
    A separate process, because TensorFlow's join holds the interpreter lock while it waits."""
    child = subprocess.Popen(
        [sys.executable, "-c", WATCHDOG, str(os.getpid()), str(seconds), message],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        child.kill()
        child.wait()
