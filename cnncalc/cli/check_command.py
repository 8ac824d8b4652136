"""`check` and `template`: homework answers against the engine (see docs/homework.md)."""
from __future__ import annotations

import functools
import sys

import click

from ..homework import AnswerErrors, check as check_answers
from ..homework import parse_answers_file, template as answers_template
from ..homework.answers import MAX_ERRORS_SHOWN
from ..homework.verdicts import refuse_totals_layer
from ..errors import CnnError, ExitCode, Where
from ..i18n import LANGUAGES, msg, set_language, tr
from ..quoting import escaped
from ..render import FORMATS
from ..render.check_view import render_check
from .common import emit, open_network


def translated_errors(func):
    """Set the language from --lang first, and translate a CnnError's message on its way out
    (engine errors are English in the code; the zh catalog holds their templates). Every
    unreadable answer of a file (AnswerErrors) is one `error:` line, up to MAX_ERRORS_SHOWN."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        set_language(kwargs.get("lang"))
        try:
            return func(*args, **kwargs)
        except AnswerErrors as exc:
            shown = exc.errors[:MAX_ERRORS_SHOWN]
            for error in shown:
                error.message = tr(error.message)
                click.echo(f"error: {escaped(str(error))}", err=True)
            if len(exc.errors) > len(shown):
                more = CnnError(tr(msg("{n} more unreadable answers not listed; fix these first",
                                       n=len(exc.errors) - len(shown))),
                                Where(shown[0].where.file) if shown[0].where else None)
                click.echo(f"error: {more}", err=True)
            sys.exit(ExitCode.BAD_INPUT)
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
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="json: every verdict and the score, for autograders; csv, markdown: one row per answer.")
@lang_option
@click.pass_context
@translated_errors
def check(ctx: click.Context, file: str, answers: str, input_shape: str | None, fmt: str, lang: str | None) -> None:
    """Check homework ANSWERS (YAML: layer → claimed values) against the network FILE.

    \b
    Exit code: 0 every question answered and right; 1 some wrong or left
    blank, or no questions at all; 2 bad input (one line per unreadable
    answer, with file:line:col, and nothing on standard output).
    ANSWERS may be - for standard input (FILE then must not be -).
    Examples:
      cnncalc check lenet5-1998 examples/lenet5-1998-answers-mistakes.yaml
      cat answers.yaml | cnncalc check lenet5-1998 -
    """
    set_language(lang)
    if file == "-" and answers == "-":
        raise click.UsageError("FILE and ANSWERS cannot both be - (standard input)")
    analysis = open_network(file, input_shape).analyse()
    refuse_totals_layer(analysis)  # before reading the answers: their `totals` would be ambiguous
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

    A question left blank counts as not answered; delete the ones you do not ask.

    \b
    Example:
      cnncalc template lenet5-1998 > homework.yaml
    """
    set_language(lang)
    emit(answers_template(open_network(file, input_shape).analyse(), file, input_shape))


commands = [check, template]
