"""Quiet by default, everything with `soroban-vision --verbose CMD`: TensorFlow, XLA and absl log
from C++ straight to file descriptor 2 (cuDNN/cuBLAS factories, the computation placer, grappler
sessions during the ONNX export), much of it before absl's logging starts, where
TF_CPP_MIN_LOG_LEVEL does not reach (TensorFlow 2.19). None of it is for users, and real failures
still surface as Python exceptions. Python's own stderr (progress, warnings we print, errors) is
never filtered."""

from __future__ import annotations

import atexit
import logging
import os
import re
import sys
import threading
import warnings

# C++ log lines: absl (`E0000 00:00:1796146163.007072  4997 cuda_dnn.cc:8579] ...`), TSL
# (`2026-12-01 17:29:22.915339: I tensorflow/...cc:153] ...`), absl's pre-init banner, and the
# second line of the CPU-feature notice. Fatal (F) lines are kept: they come before a crash.
CHATTER = re.compile(
    r"^(?:[IWE]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\]"
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] \S+:\d+\]"
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|To enable the following instructions: .* rebuild TensorFlow)"
)
# Libraries whose Python warnings (deprecations, NumPy FutureWarnings) users cannot act on.
NOISY_MODULES = r"(keras|tensorflow|tensorflowjs|tf_keras|tf2onnx|onnx|absl|jax|flax|google)(\.|$)"


class _State:
    verbose = False
    filtered = False


def set_verbose(verbose: bool) -> None:
    """`--verbose`: every log line of TensorFlow & co. gets through (call before any quieting)."""
    _State.verbose = verbose


def is_verbose() -> bool:
    return _State.verbose or bool(os.environ.get("SOROBAN_DEBUG"))


def quiet_tensorflow() -> None:
    """Silence TensorFlow's start-up and logging chatter unless --verbose (or SOROBAN_DEBUG=1).
    Idempotent; harmless where TensorFlow is not installed. The group calls it before any command
    runs, and commands again before they import TensorFlow."""
    if is_verbose():
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")
    for category in (FutureWarning, DeprecationWarning, UserWarning):
        warnings.filterwarnings("ignore", category=category, module=NOISY_MODULES)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("tf2onnx").setLevel(logging.ERROR)
    _filter_native_stderr()
    if "absl.logging" in sys.modules or _importable("absl"):
        import absl.logging  # comes with TensorFlow: the base install has neither

        absl.logging.set_verbosity(absl.logging.ERROR)


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _filter_native_stderr() -> None:
    """Point file descriptor 2 at a pipe whose reader drops C++ log lines and passes the rest on;
    Python's sys.stderr keeps writing to the original stderr (a terminal stays a terminal)."""
    if _State.filtered or sys.stderr is not sys.__stderr__:
        return  # once; and not where stderr is captured in-process (a test's runner)
    try:
        if sys.stderr.fileno() != 2:
            return
    except (AttributeError, OSError, ValueError):
        return
    sys.stderr.flush()
    original = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    sys.stderr = sys.__stderr__ = os.fdopen(
        os.dup(original), "w", buffering=1, encoding=sys.stderr.encoding, errors="backslashreplace"
    )
    pump = threading.Thread(target=_pump, args=(read_end, original), name="sv-stderr", daemon=True)
    pump.start()
    _State.filtered = True

    def restore() -> None:
        os.dup2(original, 2)  # our end of the pipe closes; children that kept it finish on their own
        pump.join(timeout=1)

    atexit.register(restore)


def _pump(read_end: int, original: int) -> None:
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        pending = b""
        while chunk := pipe.read(65536):
            *lines, pending = (pending + chunk).split(b"\n")
            _forward(lines, original)
        if pending:
            _forward([pending], original)


def _forward(lines: list[bytes], original: int) -> None:
    keep = [line for line in lines if not CHATTER.match(line.decode("utf-8", "replace"))]
    if keep:
        os.write(original, b"".join(line + b"\n" for line in keep))
