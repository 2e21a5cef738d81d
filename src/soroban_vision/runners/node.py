"""TF.js in Node: the real @tensorflow/tfjs graph executor (cpu or wasm backend), no browser."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np

from soroban_vision.errors import UsageError
from soroban_vision.runners.base import BaseRunner, TensorInfo

WEB = Path(__file__).resolve().parents[3] / "web"
SCRIPT = WEB / "tools" / "graph-runner.mjs"


def encode_tensor(a: np.ndarray) -> dict:
    a = np.ascontiguousarray(a)
    dtype = {"float32": "float32", "float64": "float32", "int32": "int32", "int64": "int32"}.get(a.dtype.name)
    if dtype is None:
        raise UsageError(f"TF.js takes float32 or int32 inputs, not {a.dtype}")
    a = a.astype(dtype, copy=False)
    return {"shape": list(a.shape), "dtype": dtype, "b64": base64.b64encode(a.tobytes()).decode()}


def decode_tensor(t: dict) -> np.ndarray:
    dtype = {"float32": np.float32, "int32": np.int32}.get(t["dtype"], np.float32)
    return np.frombuffer(base64.b64decode(t["b64"]), dtype=dtype).reshape(t["shape"])


class NodeRunner(BaseRunner):
    """Runs a graph model folder (model.json + shards) with TF.js in a Node child process."""

    def __init__(self, model_dir: str | Path, backend: str = "wasm"):
        self.name = f"tfjs-node-{backend}"
        if not (Path(model_dir) / "model.json").is_file():
            raise UsageError(f"{model_dir} has no model.json (a TF.js graph model folder)")
        model_dir = Path(model_dir).resolve()  # node runs in web/: a relative path would miss
        node = shutil.which("node")
        if node is None or not (WEB / "node_modules" / "@tensorflow" / "tfjs").is_dir():
            raise UsageError("TF.js in Node needs node and web/node_modules; run `make setup`")
        self.proc = subprocess.Popen(
            [node, str(SCRIPT), str(model_dir), backend],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=WEB,
        )
        ready = self._read()
        self._inputs = [TensorInfo(i["name"], tuple(i["shape"]), i["dtype"]) for i in ready["inputs"]]
        self._outputs = [TensorInfo(o["name"], tuple(o["shape"]), o["dtype"]) for o in ready["outputs"]]
        self.num_tensors = 0

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read().strip().splitlines()
            raise UsageError(f"TF.js runner stopped: {err[-1] if err else 'no output'}")
        msg = json.loads(line)
        if "error" in msg:
            raise UsageError(f"TF.js: {msg['error']}")
        return msg

    def inputs(self) -> list[TensorInfo]:
        return self._inputs

    def outputs(self) -> list[TensorInfo]:
        return self._outputs

    def run(self, feed: dict[str, np.ndarray], outputs: list[str] | None = None) -> dict[str, np.ndarray]:
        names = outputs or [o.name for o in self._outputs]
        if not names:  # graph-runner.mjs lists the outputs from model.json's signature only
            raise UsageError(
                "the model lists no outputs (model.json has no signature): name the ones to fetch"
            )
        req = {"inputs": {k: encode_tensor(v) for k, v in feed.items()}, "outputs": names}
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        msg = self._read()
        self.last_ms = msg["ms"]
        self.num_tensors = msg["numTensors"]
        return {k: decode_tensor(v) for k, v in msg["outputs"].items()}

    def close(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None
