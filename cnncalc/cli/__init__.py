"""The `cnncalc` command: a thin click layer. Commands parse options, call the library and hand
records to a renderer; a CnnError becomes one line on stderr and exit code 2 (errors.ExitCode)."""
from __future__ import annotations

import importlib
import sys

import click

from .. import __version__
from ..errors import CnnError, ExitCode

# One line per command module; each module defines `commands`, a list of click commands.
COMMAND_MODULES = (
    "cnncalc.cli.analysis_commands",
    "cnncalc.cli.forward_command",
    "cnncalc.cli.bench_command",
    "cnncalc.cli.check_command",
)


class _Group(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CnnError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(ExitCode.BAD_INPUT)
        except BrokenPipeError:
            sys.exit(ExitCode.OK)


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


for _module in COMMAND_MODULES:
    for _command in importlib.import_module(_module).commands:
        main.add_command(_command)
