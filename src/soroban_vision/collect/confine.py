"""The bounds of a training run's subprocess, applied by a tiny launcher in the child itself
(`python -m soroban_vision.collect.confine BOUNDS -- COMMAND...`) before it execs the command: no
`preexec_fn` in a threaded server. Writable memory, file size and core dumps are capped, the CPU
priority lowered, TensorFlow's thread pools sized, and the child dies with the server thread that
started it (Linux's parent-death signal)."""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import signal
import sys
from dataclasses import dataclass

PR_SET_PDEATHSIG = 1
THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS")


@dataclass(frozen=True)
class Bounds:
    # RLIMIT_DATA, not RLIMIT_AS: Chromium (the doctor's browser runtimes) reserves terabytes of
    # address space it never writes
    memory_mb: int = 8192
    file_mb: int = 2048  # the largest file the run may write
    nice: int = 10  # the server and its clients keep their share of the CPU
    threads: int = 0  # TensorFlow's intra-op threads (0: one per core)
    seconds: int = 6 * 3600  # wall clock, enforced by the server (child.py)

    def args(self) -> list[str]:
        return [
            f"--memory-mb={self.memory_mb}",
            f"--file-mb={self.file_mb}",
            f"--nice={self.nice}",
            f"--threads={self.threads}",
            f"--parent={os.getpid()}",
        ]


def launcher(bounds: Bounds, command: list[str]) -> list[str]:
    """The argv that runs `command` under `bounds`."""
    return [sys.executable, "-m", "soroban_vision.collect.confine", *bounds.args(), "--", *command]


def _die_with_parent(parent: int) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the server's shutdown still ends the group
        return
    if os.getppid() != parent:  # the server died before the signal was armed
        os._exit(1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="confine")
    for name in ("--memory-mb", "--file-mb", "--nice", "--threads", "--parent"):
        parser.add_argument(name, type=int, required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    a = parser.parse_args(argv)
    command = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not command:
        parser.error("no command")
    _die_with_parent(a.parent)
    mb = 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (a.memory_mb * mb, a.memory_mb * mb))
    resource.setrlimit(resource.RLIMIT_FSIZE, (a.file_mb * mb, a.file_mb * mb))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.nice(a.nice)
    if a.threads > 0:
        for name in THREAD_VARIABLES:
            os.environ[name] = str(a.threads)
        os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
