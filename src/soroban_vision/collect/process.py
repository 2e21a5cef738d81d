"""The collection service in its own process, as a deployment runs it (`soroban-vision
collect-server`), for tests and benchmarks: started on a free loopback port, waited for, and
stopped, or killed with SIGKILL to test what survives a crash. Keys go in the environment, not
in the command line that `ps` shows."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

URL_LINE = re.compile(r"collect-server: (http://\S+)")


class ServerProcess:
    def __init__(
        self,
        db: str,
        write_key: str,
        admin_key: str | None = None,
        *options: str,
        log: Path | None = None,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ):
        self.db, self.write_key, self.admin_key, self.options = db, write_key, admin_key, options
        self.log, self.cwd, self.env = log, cwd, env or {}
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self, timeout: float = 60) -> ServerProcess:
        env = {**os.environ, **self.env, "SOROBAN_COLLECT_WRITE_KEY": self.write_key}
        env.pop("SOROBAN_COLLECT_ADMIN_KEY", None)
        if self.admin_key:
            env["SOROBAN_COLLECT_ADMIN_KEY"] = self.admin_key
        command = [
            sys.executable,
            "-m",
            "soroban_vision.cli",
            "collect-server",
            "--db",
            self.db,
            "--port",
            "0",
        ]
        stderr = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(
            [*command, *self.options], stdout=subprocess.PIPE, stderr=stderr, env=env, text=True, cwd=self.cwd
        )
        if self.log:
            stderr.close()
        found: list[str] = []
        reader = threading.Thread(target=lambda: found.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        match = URL_LINE.search(found[0]) if found else None
        if match is None:
            self.kill()
            raise RuntimeError(f"collect-server did not start: {found[:1]} (see {self.log})")
        self.url = match.group(1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=5) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError("collect-server never answered /healthz")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush; what was committed must survive."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
