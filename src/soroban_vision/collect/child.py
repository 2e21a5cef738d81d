"""One step of a training run as a subprocess of the server: the project's own commands
(`soroban-vision train --json-progress`, `export`, `doctor`, the comparison), confined (confine.py),
in their own process group so that stopping the server ends them and everything they started.
Their stdout is read line by line (NDJSON events); their stderr goes to a log file in the run's
folder. The command line is built by the server from its own paths and validated numbers only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from soroban_vision.collect.confine import Bounds, launcher

MAX_LINE = 1024 * 1024
KILL_GRACE_S = 10


def child_env() -> dict[str, str]:
    """The server's environment without its keys or database settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOROBAN_COLLECT_")}
    env.update(TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    return env


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "soroban_vision.cli", *args]


class Child:
    """Run `command` to its end (or the wall-clock bound); `on_line(text)` gets each stdout line."""

    def __init__(self, command: list[str], bounds: Bounds, log: Path, cwd: Path):
        self.command, self.bounds, self.log, self.cwd = command, bounds, log, cwd
        self.proc: subprocess.Popen | None = None
        self.timed_out = False
        self._lock = threading.Lock()
        self._ended = False

    def run(self, on_line: Callable[[str], None]) -> int:
        with self._lock:
            if self._ended:  # ended before it began: the server is stopping
                return -signal.SIGTERM
            with open(self.log, "ab") as err:
                self.proc = subprocess.Popen(
                    launcher(self.bounds, self.command),
                    stdout=subprocess.PIPE,
                    stderr=err,
                    stdin=subprocess.DEVNULL,
                    cwd=self.cwd,
                    env=child_env(),
                    start_new_session=True,  # its own process group: end() reaches its children too
                )
        timer = threading.Timer(self.bounds.seconds, self._time_out)
        timer.daemon = True
        timer.start()
        try:
            while line := self.proc.stdout.readline(MAX_LINE):
                on_line(line.decode("utf-8", "replace"))
            return self.proc.wait()
        finally:
            timer.cancel()
            self.proc.stdout.close()

    def _time_out(self) -> None:
        self.timed_out = True
        self.end()

    def end(self) -> None:
        """SIGTERM to the whole group, SIGKILL after a grace period."""
        with self._lock:
            self._ended = True
            proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(KILL_GRACE_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def last_error(log: Path) -> str:
    """A step's own one-line `error: ...` from its log, if it wrote one."""
    try:
        lines = log.read_text(errors="replace").splitlines()[-200:]
    except OSError:
        return ""
    found = [line[len("error:") :].strip() for line in lines if line.startswith("error:")]
    return found[-1] if found else ""
