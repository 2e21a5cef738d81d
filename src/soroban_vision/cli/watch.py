"""`watch`: a camera or a video file, read frame by frame, a line for each number once it is steady."""

from __future__ import annotations

import json
from pathlib import Path

import click

from soroban_vision.abacus.spec import SPEC
from soroban_vision.cli.group import main
from soroban_vision.cli.options import json_option, reading_options, to_stdout


@main.command()
@click.argument("video", required=False, type=click.Path(path_type=Path))
@click.option(
    "--camera",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Read camera N (the default, camera 0, when no VIDEO is given).",
)
@reading_options
@click.option(
    "--frames",
    "steady_frames",
    type=click.IntRange(min=1),
    default=SPEC["stabilizer"]["frames"],
    show_default=True,
    help="Agreeing confident frames, the frame still, before a number counts as steady.",
)
@click.option("--max-frames", type=click.IntRange(min=1), metavar="N", help="Stop after N frames.")
@click.option(
    "--show",
    is_flag=True,
    help="A live preview window: each frame, its outline and number (needs OpenCV with a GUI; q closes).",
)
@json_option("the events, one object per line (NDJSON: steady, then end)")
def watch(
    video,
    camera,
    columns,
    markers,
    model,
    frame_model,
    min_confidence,
    steady_frames,
    max_frames,
    show,
    json_out,
) -> None:
    """Read the soroban in front of a camera, or in a VIDEO file, and print each number once
    it is steady (the same number, confidently read, with the frame still). Ctrl-C stops.
    Exit 0 when the video ends or is stopped, 2 when it cannot be opened."""
    from soroban_vision import abacus, load_column_classifier
    from soroban_vision.watch import open_video, watch

    if video is not None and camera is not None:
        raise click.UsageError("give a VIDEO file or --camera N, not both")
    window = _open_window() if show else None
    classifier = load_column_classifier(model)
    stabilizer = abacus.Stabilizer(frames=steady_frames, min_confidence=min_confidence)
    quiet = to_stdout(json_out)
    with (
        open_video(video if video is not None else camera or 0) as source,
        EventLog(json_out) as events,
    ):
        if not quiet:
            click.echo(f"watching {source.name} (Ctrl-C stops)", err=True)
        on_frame = (
            None if window is None else (lambda f, reading, steady: window.show(f.rgb, reading, steady))
        )
        try:
            stream = watch(
                source, classifier, columns, markers, stabilizer, max_frames, on_frame, frame_model
            )
            for event in stream:
                events(event)
                if not quiet:
                    click.echo(_line(event))
        finally:
            if window is not None:
                window.close()
    if json_out is not None and not quiet:
        click.echo(f"json: {json_out}")


def _open_window():
    from soroban_vision.window import open_window

    return open_window()


def _line(event: dict) -> str:
    if event["event"] == "steady":
        flagged = event["flagged_columns"]
        flagged = f", low confidence in columns {flagged}" if flagged else ""
        return (
            f"{event['seconds']:8.2f} s  frame {event['frame']}: {event['number']}   "
            f"({event['method']}, {len(event['digits'])} columns{flagged})"
        )
    timing = f", {event['ms_per_frame']:.0f} ms per frame" if event["ms_per_frame"] is not None else ""
    kept = f", the frame kept on {event['frames_kept']}" if event["frames_kept"] else ""
    return (
        f"{'stopped' if event['stopped'] else 'end'}: {event['frames']} frames, {event['frames_read']} read, "
        f"{event['steady']} steady numbers{timing}{kept}"
    )


class EventLog:
    """Writes each event as one JSON line where --json says, flushed at once for a live reader."""

    def __init__(self, json_out: Path | None):
        self.json_out, self.file = json_out, None

    def __enter__(self):
        if self.json_out is not None and not to_stdout(self.json_out):
            try:
                self.json_out.parent.mkdir(parents=True, exist_ok=True)
                self.file = self.json_out.open("w")
            except OSError as e:
                raise click.UsageError(f"cannot write {self.json_out}: {e.strerror or e}") from None
        return self

    def __call__(self, event: dict) -> None:
        if self.json_out is None:
            return
        line = json.dumps(event)
        if self.file is None:
            click.echo(line)
        else:
            self.file.write(line + "\n")
            self.file.flush()

    def __exit__(self, *exc) -> None:
        if self.file is not None:
            self.file.close()
