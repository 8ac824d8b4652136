"""The `cnncalc` command: a thin click layer. Commands parse options, call the library and hand
records to a renderer; a CnnError becomes one line on stderr and exit code 2 (errors.ExitCode)."""
from __future__ import annotations

import importlib
import sys

import click

from .. import __version__
from ..errors import CnnError, ExitCode
from ..quoting import escaped, one_line

# One line per command module; each module defines `commands`, a list of click commands.
COMMAND_MODULES = (
    "cnncalc.cli.analysis_commands",
    "cnncalc.cli.forward_command",
    "cnncalc.cli.bench_command",
    "cnncalc.cli.check_command",
    "cnncalc.cli.compare_command",
    "cnncalc.cli.draw_commands",
    "cnncalc.cli.interop_commands",
)


class _Group(click.Group):
    def main(self, *args, **kwargs):
        """Click's own usage errors (`--batch 0`, an unknown option) as one `error:` line, exit 2,
        like every other bad input, instead of its several-line usage block."""
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.format_message(), err=True)  # `cnncalc` alone: the help, as click does
            sys.exit(ExitCode.BAD_INPUT)
        except click.ClickException as exc:
            hint = f" (see cnncalc {exc.ctx.info_name} --help)" if getattr(exc, "ctx", None) else ""
            click.echo(f"error: {one_line(exc.format_message())}{hint}", err=True)
            sys.exit(ExitCode.BAD_INPUT)
        except click.exceptions.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(ExitCode.CHECK_FAILED)
        sys.exit(ExitCode.OK if not result else ExitCode.CHECK_FAILED)  # --help, --version

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CnnError as exc:
            click.echo(f"error: {escaped(str(exc))}", err=True)  # a file name may hold an ESC too
            sys.exit(ExitCode.BAD_INPUT)
        except BrokenPipeError:
            sys.exit(ExitCode.OK)

    def get_command(self, ctx: click.Context, cmd_name: str):
        """Command modules are imported when a command is looked up, in order, until one has it:
        `cnncalc params` does not pay for forward's, bench's and check's imports (issue 14: the
        command's wall time is mostly imports)."""
        for module in COMMAND_MODULES:
            if cmd_name in self.commands:
                break
            _load(self, module)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context):
        for module in COMMAND_MODULES:
            _load(self, module)
        return super().list_commands(ctx)


def _load(group: click.Group, module: str) -> None:
    loaded = group.__dict__.setdefault("_loaded", set())
    if module not in loaded:
        loaded.add(module)
        for command in importlib.import_module(module).commands:
            group.add_command(command)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cnncalc")
def main() -> None:
    """Sizes, parameters, connections, MACs, memory and receptive fields of CNNs written in YAML.

    \b
    Examples:
      cnncalc list
      cnncalc params lenet5-1998
      cnncalc rf rf-example --layer pool3
      cnncalc summary resnet18 --input 3,64,64 --format json
    """


