"""The command group and its one error handler: every error a user can cause is one line on
stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import sys

import click

from soroban_vision.cli.quiet import quiet_tensorflow, set_verbose
from soroban_vision.errors import SorobanError, UsageError

# What each optional install brings (pyproject's extras), by module: a command that imports one
# the base install lacks names the extra instead of failing with a traceback.
EXTRAS = {
    "train": ("training", ("tensorflow", "keras", "tensorflowjs", "tf2onnx", "onnx", "matplotlib", "psutil")),
    "browser": ("browser", ("playwright",)),
}


def fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def missing_extra(command: str | None, module: str | None) -> UsageError | None:
    """The one-line error for a command whose optional dependency is not installed, else None."""
    top = (module or "").split(".")[0]
    for extra, (words, modules) in EXTRAS.items():
        if top in modules:
            return UsageError(
                f"'{command}' needs the {words} extras: pip install 'soroban-vision[{extra}]'",
                code="missing_extra",
            )
    return None


class Cli(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ModuleNotFoundError as e:
            error = missing_extra(ctx.invoked_subcommand, e.name)
            if error is None:
                raise
            raise error from None

    def main(self, args=None, prog_name=None, **kwargs):
        try:
            rv = super().main(args=args, prog_name=prog_name, standalone_mode=False, **kwargs)
        except click.exceptions.Exit as e:
            sys.exit(e.exit_code)
        except click.exceptions.Abort:
            fail("aborted", 130)
        except click.UsageError as e:
            hint = f" (see '{e.ctx.command_path} --help')" if e.ctx else ""
            fail(f"{e.format_message()}{hint}", 2)
        except click.ClickException as e:
            fail(e.format_message(), e.exit_code or 1)
        except SorobanError as e:
            fail(str(e), e.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except Exception as e:
            if os.environ.get("SOROBAN_DEBUG"):
                raise
            first = (str(e).strip().splitlines() or [""])[0][:200]
            fail(f"internal error: {type(e).__name__}: {first} (set SOROBAN_DEBUG=1 for the traceback)", 1)
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="soroban-vision")
@click.option(
    "--verbose",
    "-v",
    is_flag=True,
    help="Let TensorFlow's, XLA's and absl's own log lines through (hidden by default).",
)
def main(verbose: bool) -> None:
    """Read the digits on a soroban from camera images, in Python and in the browser."""
    set_verbose(verbose)
    quiet_tensorflow()  # before any command can import TensorFlow
