"""The `zoo` command line: a thin click layer over the library. Commands load lazily so that
`zoo list` never imports torch; ZooErrors become one-line messages with their exit codes."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from zoo.errors import ArgumentError, ZooError, first_line

# command name -> "module:attribute"; a module is imported only when its command runs
COMMANDS = {
    "list": "zoo.cli.models:list_cmd",
    "info": "zoo.cli.models:info_cmd",
    "plugins": "zoo.cli.plugins_cmd:plugins_cmd",
    "download": "zoo.cli.weights_cmd:download_cmd",
    "import": "zoo.cli.weights_cmd:import_cmd",
    "verify": "zoo.cli.weights_cmd:verify_cmd",
    "cache": "zoo.cli.weights_cmd:cache_cmd",
    "convert": "zoo.cli.weights_cmd:convert_cmd",
    "predict": "zoo.cli.predict_cmd:make_predict_cmd",
    "eval": "zoo.cli.eval_cmd:eval_cmd",
    "bench": "zoo.cli.bench_cmd:bench_cmd",
    "generate": "zoo.cli.generate_cmd:generate_cmd",
    "plugin": "zoo.cli.plugin_cmd:plugin_group",
    "publish": "zoo.cli.publish_cmd:publish_cmd",
    "track": "zoo.cli.track_cmd:track_cmd",
    "export": "zoo.cli.export_cmd:export_cmd",
    "train": "zoo.cli.train_cmd:train_cmd",
    "report": "zoo.cli.report_cmd:report_cmd",
}


# library arguments whose flag is not `--` + the argument with dashes (ArgumentError.named)
FLAGS = {"pretrained=False": "--random-init", "as_json": "--json", "input_size": "--size", "backends": "--backend",
         "steps": "--interpolate", "parent": "--dir"}


class LazyGroup(click.Group):
    """Resolves built-in commands on demand; plugin commands come from `zoo_register_commands`."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(super().list_commands(ctx)) | set(_plugin_commands()))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in COMMANDS:
            from zoo.refs import resolve_ref

            found = resolve_ref(COMMANDS[name], "command")
            # a factory builds commands whose options come from the registry (predict: the tasks' options)
            return found if isinstance(found, click.Command) else found()  # type: ignore[return-value]
        return super().get_command(ctx, name) or _plugin_commands().get(name)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        """An unknown subcommand is a usage error (exit 2) naming the close ones: 'zoo lst' -> did you mean list?"""
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            import difflib

            close = difflib.get_close_matches(name, self.list_commands(ctx), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else "; see 'zoo --help'"
            raise click.UsageError(f"no such command '{name}'{hint}", ctx)
        return super().resolve_command(ctx, args)


def _plugin_commands() -> dict[str, click.Command]:
    """Commands that plugins add, collected once; failures show in `zoo plugins`, never here."""
    from zoo.cli.plugin_commands import plugin_commands

    return plugin_commands(COMMANDS)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cvzoo", prog_name="zoo")
def cli() -> None:
    """cvzoo: classic vision models by name, verified weights, one benchmark harness."""


def main(argv: list[str] | None = None) -> Any:
    """Console entry point: errors become one line on stderr and an exit code, never a traceback."""
    try:
        return cli.main(args=argv, prog_name="zoo", standalone_mode=False)
    except click.exceptions.Abort as e:  # click turns Ctrl-C into Abort outside standalone mode
        click.echo("interrupted" if isinstance(e.__cause__, KeyboardInterrupt) else "aborted", err=True)
        sys.exit(130)
    except click.UsageError as e:  # a bad flag or value: one line naming it, not click's usage block
        where = e.ctx.command_path if e.ctx is not None else "zoo"
        click.echo(f"error: {e.format_message().rstrip('.')} (see '{where} --help')", err=True)
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except ArgumentError as e:  # the library names its arguments; a user typed flags
        click.echo(f"error: {e.named(FLAGS)}", err=True)
        sys.exit(e.exit_code)
    except ZooError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as e:  # last resort: still one line, traceback only on request
        if os.environ.get("ZOO_DEBUG"):
            raise
        click.echo(f"error: {first_line(e, with_type=True)} (set ZOO_DEBUG=1 for the traceback)", err=True)
        sys.exit(1)
