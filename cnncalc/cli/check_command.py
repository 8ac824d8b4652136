"""`check` and `template`: homework answers against the engine (see docs/homework.md)."""
from __future__ import annotations

import functools

import click

from ..homework import check as check_answers
from ..homework import parse_answers_file, template as answers_template
from ..errors import CnnError, ExitCode
from ..i18n import LANGUAGES, set_language, tr
from ..render.check_view import render_check
from .common import emit, open_network


def translated_errors(func):
    """Set the language from --lang first, and translate a CnnError's message on its way out
    (engine errors are English in the code; the zh catalog holds their templates)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        set_language(kwargs.get("lang"))
        try:
            return func(*args, **kwargs)
        except CnnError as exc:
            exc.message = tr(exc.message)
            raise
    return wrapper


def lang_option(func):
    return click.option("--lang", type=click.Choice(LANGUAGES), default=None,
                        help="Language of explanations, verdicts and hints (default: from LANG, else en).")(func)


@click.command()
@click.argument("file", metavar="FILE")
@click.argument("answers", metavar="ANSWERS", type=click.Path(dir_okay=False))
@click.option("--input", "input_shape", metavar="C,H,W", help="Override the input shape.")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table", show_default=True,
              help="json: every verdict, for autograders.")
@lang_option
@click.pass_context
@translated_errors
def check(ctx: click.Context, file: str, answers: str, input_shape: str | None, fmt: str, lang: str | None) -> None:
    """Check homework ANSWERS (YAML: layer → claimed values) against the network FILE.

    \b
    Exit code: 0 all correct, 1 some wrong, 2 bad input (with file:line).
    ANSWERS may be - for standard input (FILE then must not be -).
    Examples:
      cnncalc check lenet5-1998 examples/lenet5-1998-answers-mistakes.yaml
      cat answers.yaml | cnncalc check lenet5-1998 -
    """
    set_language(lang)
    if file == "-" and answers == "-":
        raise click.UsageError("FILE and ANSWERS cannot both be - (standard input)")
    analysis = open_network(file, input_shape).analyse()
    claims = parse_answers_file(answers, [r.name for r in analysis.layers])
    report = check_answers(analysis, claims)
    emit(render_check(report, fmt))
    ctx.exit(ExitCode.OK if report.all_correct else ExitCode.CHECK_FAILED)


@click.command()
@click.argument("file", metavar="FILE")
@click.option("--input", "input_shape", metavar="C,H,W", help="Override the input shape.")
@lang_option
@translated_errors
def template(file: str, input_shape: str | None, lang: str | None) -> None:
    """Print a blank answers file for the network FILE (every layer, every quantity).

    \b
    Example:
      cnncalc template lenet5-1998 > homework.yaml
    """
    set_language(lang)
    emit(answers_template(open_network(file, input_shape).analyse()))


commands = [check, template]
