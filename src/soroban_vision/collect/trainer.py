"""Fine-tuning runs started from the review page, one at a time, each step a confined subprocess of
the server (child.py):

1. the accepted crops exported (`dataset export`: players kept apart) into the run's folder;
2. `soroban-vision train --json-progress --init-from CURRENT`, its events passed on as they come,
   stoppable through its stop file;
3. the comparison of the new model with the current one (compare.py), and the verdict (verdict.py);
4. on request, and only when the verdict is "not worse": `soroban-vision export` (the TF.js graph
   model with its contract) and `soroban-vision doctor` on it; when the doctor does not fail, the
   model, its export and its evidence are published (published.py).

Every path is the server's own (RUNS/run-N/..., PUBLISH/run-N); requests give only numbers."""

from __future__ import annotations

import json
import logging
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from soroban_vision.collect import published, runs
from soroban_vision.collect.child import Child, cli, last_error
from soroban_vision.collect.rejection import Rejected
from soroban_vision.collect.runlog import RunLog
from soroban_vision.collect.runs import Run, RunParams
from soroban_vision.collect.storage import now
from soroban_vision.collect.trainer_settings import TrainerSettings
from soroban_vision.collect.verdict import decide

log = logging.getLogger("soroban_vision.collect.training")
EVENT_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz_")
PRIVATE_FIELDS = ("config", "out", "id")  # the training's own paths stay on the server


class Trainer:
    def __init__(self, settings: TrainerSettings, db: str, fallback_model: Path):
        self.settings, self.db, self.fallback = settings, db, fallback_model
        settings.runs_dir.mkdir(parents=True, exist_ok=True)
        self.runs: dict[int, Run] = {}
        for folder in sorted(settings.runs_dir.glob("run-*")):
            run = Run.load(folder)
            if run is not None and folder.name == f"run-{run.id}":
                self.runs[run.id] = run
                if run.state == runs.INTERRUPTED:
                    run.save()
        self._lock = threading.Lock()
        self._busy: int | None = None  # the run whose step is running (or being prepared)
        self._child: Child | None = None
        self._closing = False
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ queries

    def current(self) -> tuple[str, Path]:
        return published.current(self.settings.publish_dir, self.fallback)

    def get(self, run_id: int) -> Run:
        run = self.runs.get(run_id)
        if run is None:
            raise Rejected(404, "not_found", "no such run")
        return run

    def busy(self) -> int | None:
        return self._busy

    def listing(self, limit: int = 20) -> list[dict]:
        return [self.runs[i].view() for i in sorted(self.runs, reverse=True)[:limit]]

    # ------------------------------------------------------------------ actions

    def start(self, params: RunParams) -> Run:
        """Export the accepted crops and start training (blocking for the export: a worker thread)."""
        with self._lock:
            self._refuse_if_busy()
            run_id = max([0, *self.runs, *_folder_ids(self.settings.runs_dir)]) + 1
            self._busy = run_id
        folder = self.settings.runs_dir / f"run-{run_id}"
        try:
            folder.mkdir()
            name, _ = self.current()
            run = Run(run_id, folder, params, now(), name, log=RunLog(folder / "events.ndjson"))
            run.data = self._export(folder / "data", params.heldout)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            self._busy = None
            raise
        run.save()
        run.log.add("run", state=run.state, data=run.data, params=run.view()["params"], current=name)
        self.runs[run_id] = run
        self._spawn(run, self._train_and_compare)
        return run

    def stop(self, run_id: int) -> Run:
        with self._lock:
            run = self.get(run_id)
            if self._busy != run_id or run.state != runs.TRAINING:
                raise Rejected(409, "not_training", f"run {run_id} is not training ({run.state})")
            (run.folder / "stop").touch()
            run.stop_requested = True
        run.log.add("stop_requested")
        run.save()
        return run

    def publish(self, run_id: int) -> Run:
        if self.settings.publish_dir is None:
            raise Rejected(403, "publish_disabled", "publishing is off: the server has no publish folder")
        with self._lock:
            self._refuse_if_busy()
            run = self.get(run_id)
            if run.state == runs.PUBLISHED:
                raise Rejected(409, "already_published", f"run {run_id} is already published")
            if run.state not in (runs.COMPARED, runs.PUBLISH_FAILED) or run.verdict is None:
                raise Rejected(409, "not_compared", f"run {run_id} has no comparison yet ({run.state})")
            if not run.verdict["not_worse"]:
                raise Rejected(409, "worse_than_current", f"run {run_id} is worse than the current model")
            self._busy = run_id
        self._advance(run, runs.PUBLISHING)
        self._spawn(run, self._publish)
        return run

    def close(self) -> None:
        """End the running step (the server is stopping)."""
        self._closing = True
        child = self._child
        if child is not None:
            child.end()
        if self._thread is not None:
            self._thread.join(30)

    # ------------------------------------------------------------------ the steps

    def _refuse_if_busy(self) -> None:
        if self._busy is not None:
            raise Rejected(409, "run_in_progress", f"run {self._busy} is still running; one run at a time")

    def _export(self, out: Path, heldout: float) -> dict:
        from soroban_vision.collect.export import export_dataset
        from soroban_vision.errors import DatasetError

        try:
            counts = export_dataset(self.db, out, heldout=heldout, say=lambda _: None)
        except DatasetError as e:
            raise Rejected(409, "no_accepted_crops", str(e)) from None
        if counts["heldout"] == 0 or counts["train"] == 0:
            raise Rejected(
                409,
                "no_heldout_players",
                "the accepted crops come from one player only: accept crops of at least two players, "
                "so that some are held out to compare on",
            )
        return counts

    def _spawn(self, run: Run, step: Callable[[Run], None]) -> None:
        def body():
            try:
                step(run)
            except Exception:
                log.exception("training run %s failed", run.id)
                self._fail(run, "internal", "the server failed during this run; see its log")
            finally:
                self._child = None
                self._busy = None

        # a daemon: should the server exit without its shutdown hook, this thread ends with it, and
        # the confined child with the thread (its parent-death signal)
        self._thread = threading.Thread(target=body, name=f"run-{run.id}", daemon=True)
        self._thread.start()

    def _advance(self, run: Run, state: str, kind: str = "run", **fields) -> None:
        """The event first, then the state: a stream that sees the run settled has seen the event."""
        run.log.add(kind, state=state, **fields)
        run.state = state
        run.save()

    def _fail(self, run: Run, code: str, message: str) -> None:
        run.error = {"code": code, "message": message}
        failed = runs.PUBLISH_FAILED if run.state == runs.PUBLISHING else runs.FAILED
        self._advance(run, failed, "failed", error=run.error)

    def _run_child(self, run: Run, name: str, command: list[str], on_line=None) -> int | None:
        """Run one step to its exit code; None when it was ended (the run has failed, saying why)."""
        if self._closing:
            self._fail(run, "server_stopping", "the server is stopping")
            return None
        child = Child(command, self.settings.bounds, run.folder / f"{name}.log", run.folder)
        self._child = child
        code = child.run(on_line or (lambda _: None))
        self._child = None
        if child.timed_out:
            hours = self.settings.bounds.seconds / 3600
            self._fail(run, "timed_out", f"the {name} step ran past the {hours:g}-hour limit")
            return None
        if code < 0 or self._closing:
            self._fail(run, f"{name}_killed", f"the {name} step was ended by signal {-code}")
            return None
        run.log.add("step", step=name, exit_code=code)
        return code

    def _train_and_compare(self, run: Run) -> None:
        p, f = run.params, run.folder
        _, current = self.current()
        command = cli(
            "train", "--json-progress", "--init-from", str(current), "--data", str(f / "data" / "train"),
            "--synthetic", str(p.synthetic), "--epochs", str(p.epochs), "--batch-size", str(p.batch_size),
            "--learning-rate", repr(p.learning_rate), "--seed", str(p.seed),
            "--stop-file", str(f / "stop"), "--out", str(f / "model"),
        )  # fmt: skip
        code = self._run_child(run, "train", command, lambda line: _forward(run.log, line))
        run.log.compact("batch")  # a settled run keeps its epochs in memory, not every batch
        if code is None:
            return
        if code != 0 or not (f / "model" / "model.keras").is_file():
            err = run.log.latest("error")
            message = err["message"] if err else last_error(f / "train.log") or f"train exited {code}"
            self._fail(run, "train_failed", message)
            return
        run.metrics = json.loads((f / "model" / "metrics.json").read_text())
        self._advance(run, runs.COMPARING, stopped=run.stop_requested)
        command = [
            *cli()[:1], "-m", "soroban_vision.collect.compare", "--new", str(f / "model"),
            "--current", str(current), "--heldout", str(f / "data" / "heldout"),
            "--rendered-dir", str(f / "rendered"), "--rendered", str(p.rendered), "--seed", str(p.seed),
            "--out", str(f / "comparison.json"),
        ]  # fmt: skip
        code = self._run_child(run, "compare", command, lambda line: _forward(run.log, line))
        if code is None:
            return
        if code != 0:
            self._fail(run, "compare_failed", last_error(f / "compare.log") or f"compare exited {code}")
            return
        run.comparison = json.loads((f / "comparison.json").read_text())
        run.verdict = decide(run.comparison)
        self._advance(run, runs.COMPARED, "compared", comparison=run.comparison, verdict=run.verdict)

    def _publish(self, run: Run) -> None:
        f, out = run.folder, self.settings.publish_dir
        name = f"run-{run.id}"
        stage = out / f".{name}.partial"
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir(parents=True)
        command = cli(
            "export", str(f / "model"), "--out", str(stage / "tfjs"), "--check-data", str(f / "rendered")
        )
        code = self._run_child(run, "export", command)
        if code is None:
            return
        if code != 0:
            why = "export_refused" if code == 3 else "export_failed"
            self._fail(run, why, last_error(f / "export.log") or f"export exited {code}")
            return
        report_path = f / "doctor.json"
        report_path.unlink(missing_ok=True)
        command = cli(
            "doctor", "--keras", str(f / "model" / "model.keras"), "--tfjs", str(stage / "tfjs"),
            "--images", str(f / "rendered"), "--runtimes", self.settings.doctor_runtimes,
            "--json", str(report_path), "--quiet",
        )  # fmt: skip
        code = self._run_child(run, "doctor", command)
        if code is None:
            return
        if code not in (0, 1) or not report_path.is_file():
            self._fail(run, "doctor_failed", last_error(f / "doctor.log") or f"doctor exited {code}")
            return
        report = json.loads(report_path.read_text())
        run.doctor = _doctor_view(report)
        run.log.add("doctor", doctor=run.doctor)
        if report["status"] == "fail":
            shutil.rmtree(stage, ignore_errors=True)
            self._fail(run, "doctor_fail", "the doctor's verdict is fail: the export was not published")
            return
        extra = {"comparison.json": run.comparison, "verdict.json": run.verdict, "doctor.json": report}
        published.stage_evidence(f / "model", stage, extra)
        record = {"published_at": now(), "run": run.id, "doctor": report["status"]}
        target = published.place(stage, out, name, record)
        run.published = {"name": name, "path": str(target), **record}
        self._advance(run, runs.PUBLISHED, "published", published=run.published)


def _folder_ids(runs_dir: Path) -> list[int]:
    ids = []
    for p in runs_dir.glob("run-*"):
        tail = p.name[4:]
        if tail.isascii() and tail.isdigit():
            ids.append(int(tail))
    return ids


def _forward(runlog: RunLog, line: str) -> None:
    """One NDJSON line of a step's stdout, as a run event (its paths left out)."""
    try:
        doc = json.loads(line)
    except ValueError:
        return
    kind = doc.pop("event", None) if isinstance(doc, dict) else None
    if not isinstance(kind, str) or not kind or len(kind) > 40 or not set(kind) <= EVENT_NAME_CHARS:
        return
    for name in PRIVATE_FIELDS:
        doc.pop(name, None)
    runlog.add(kind, **doc)


def _doctor_view(report: dict) -> dict:
    return {
        "status": report["status"],
        "checks": [{k: c.get(k) for k in ("id", "status", "summary")} for c in report.get("checks", [])],
        "runtimes": [{k: r.get(k) for k in ("id", "status")} for r in report.get("runtimes", [])],
        "seconds": report.get("seconds"),
    }
