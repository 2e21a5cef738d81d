"""Commands of the real-data loop: the collection service, and the export of reviewed crops."""

from __future__ import annotations

from pathlib import Path

import click

from soroban_vision.cli.group import main
from soroban_vision.cli.options import progress_bar, progress_to
from soroban_vision.errors import UsageError

COLLECT_MODULES = ("starlette", "uvicorn", "sqlalchemy", "psycopg", "anyio", "h11")


def _collect_extras(command: str):
    """The one-line error when the collect extras are missing (they are not in the base install)."""
    try:
        import sqlalchemy  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ModuleNotFoundError as e:
        if (e.name or "").split(".")[0] in COLLECT_MODULES:
            raise UsageError(
                f"'{command}' needs the collect extras: pip install 'soroban-vision[collect]'",
                code="missing_extra",
            ) from None
        raise


def db_option(default: str | None):
    return click.option(
        "--db",
        default=default,
        required=default is None,
        show_default=default is not None,
        metavar="URL|PATH",
        help="A SQLite file (path or sqlite:///PATH) or postgresql://USER@HOST:PORT/DB.",
    )


@main.command("collect-server")
@db_option("soroban-collect.db")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8100, show_default=True, help="0: any free port."
)
@click.option(
    "--write-key",
    envvar="SOROBAN_COLLECT_WRITE_KEY",
    show_envvar=True,
    help="The key clients send to submit crops and frames (at least 16 characters).",
)
@click.option(
    "--admin-key",
    envvar="SOROBAN_COLLECT_ADMIN_KEY",
    show_envvar=True,
    help="The key for the review API and page (review is off without it).",
)
@click.option(
    "--model",
    type=click.Path(path_type=Path),
    default=None,
    help="The column model that reads every crop (default: the shipped models/column).",
)
@click.option(
    "--allow-origin",
    "allow_origins",
    multiple=True,
    metavar="ORIGIN",
    help="A web page origin (https://host:port) allowed to post from the browser; repeatable.",
)
@click.option(
    "--rate",
    "rate_per_s",
    type=click.FloatRange(min=0),
    default=None,
    help="Requests per second per key, sustained (default 20; 0: no limit).",
)
@click.option(
    "--burst", type=click.IntRange(min=1), default=None, help="Requests per key at once (default 200)."
)
@click.option("--access-log", is_flag=True, help="Log every request on stderr.")
@click.option(
    "--runs-dir",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="SOROBAN_COLLECT_RUNS_DIR",
    show_envvar=True,
    help="Where the training page's fine-tune runs go (the training page is off without it).",
)
@click.option(
    "--publish-dir",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="SOROBAN_COLLECT_PUBLISH_DIR",
    show_envvar=True,
    help="Where a run that is not worse than the current model is published (publishing is off without it).",
)
def collect_server(
    db, host, port, write_key, admin_key, model, allow_origins, rate_per_s, burst, access_log, **folders
):
    """Collect labelled column crops and frames from apps, for review and fine-tuning."""
    _collect_extras("collect-server")
    from soroban_vision.collect.service import serve

    serve(
        db,
        host=host,
        port=port,
        say=click.echo,
        access_log=access_log,
        rate_per_s=rate_per_s,
        burst=burst,
        write_key=write_key,
        admin_key=admin_key,
        model=model,
        allow_origins=list(allow_origins),
        **folders,  # runs_dir, publish_dir: the training page's
    )


@main.group("dataset")
def dataset() -> None:
    """Training datasets: from collected data, or cut from rendered scenes."""


@dataset.command("export")
@db_option(None)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="A fresh folder: OUT/train and OUT/heldout, each {digit}/*.png + manifest.json.",
)
@click.option(
    "--heldout",
    type=float,
    default=0.2,
    show_default=True,
    help="The share of players whose crops are held out (never in train).",
)
def export(db, out, heldout) -> None:
    """Write the accepted crops as train and held-out datasets, players kept apart."""
    _collect_extras("dataset export")
    from soroban_vision.collect.export import export_dataset

    export_dataset(db, out, heldout=heldout, say=click.echo)


@dataset.command("scenes")
@click.argument("scenes", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="A fresh folder: {digit}/*.png, occluded/*.png (covered rods) and manifest.json.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="The same seed gives the same crops.")
@click.option(
    "--per-column", type=click.IntRange(min=1), default=1, show_default=True, help="Crops cut from each rod."
)
@click.option(
    "--jitter",
    type=click.FloatRange(min=0.0),
    default=1.0,
    show_default=True,
    help="How far each crop is moved off its true quad, in units of the reader's frame error (0: exactly).",
)
def scenes(scenes, out, seed, per_column, jitter) -> None:
    """Cut labelled column crops from render-scenes or render-3d folders, the way the reader cuts them."""
    from soroban_vision.scene_columns import write_scene_columns

    with progress_bar(0, "scene", "dataset scenes") as bar:
        manifest = write_scene_columns(
            list(scenes), out, seed=seed, per_column=per_column, jitter=jitter, progress=progress_to(bar)
        )
    hidden, grazed = manifest["occluded_count"], manifest["grazed_skipped"]
    click.echo(f"wrote {len(manifest['items']) - hidden} columns to {out}/{{0..9}}/ and {out}/manifest.json")
    click.echo(f"wrote {hidden} covered columns to {out}/occluded/; left out {grazed} grazed rods")
