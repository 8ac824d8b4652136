"""Homework checking: claimed values per layer against the engine's records.

    answers = parse_answers(text, "answers.yaml")   # claims, each with its file:line:col
    report = check(analysis, answers)                # verdicts with derivations and hints
    template(analysis, "net.yaml")                   # a blank answers file for `cnncalc check net.yaml`

Every correct value and derivation comes from the records (the engine's expression trees); this
package only compares and, for a wrong answer, recomputes a few known mistakes to name them.
"""
from __future__ import annotations

from .answers import QUANTITIES, TOTAL_QUANTITIES, AnswerErrors, Claim, parse_answers, parse_answers_file
from .verdicts import Report, Verdict, check, template

__all__ = ["QUANTITIES", "TOTAL_QUANTITIES", "AnswerErrors", "Claim", "Report", "Verdict", "check", "parse_answers",
           "parse_answers_file", "template"]
