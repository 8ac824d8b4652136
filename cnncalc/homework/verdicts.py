"""Verdicts: each claim against the records, with the worked derivation and, for a wrong answer
that matches a known mistake, a hint naming it. The alternative values below recompute the
mistake from the layer's geometry (`LayerRecord.axes`, `.options`); they never change a count."""
from __future__ import annotations

import math
import re
import shlex
from dataclasses import dataclass, field

from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from ..errors import CnnError, Where
from ..i18n import _
from ..records import Analysis, LayerRecord
from .answers import QUANTITIES, TOTAL_QUANTITIES, TOTALS_KEY, Claim
from .derive import dims_text, formula, rf_stride_ignored, rf_wrong_end, total_formula, worked


@dataclass(frozen=True)
class Verdict:
    layer: str
    quantity: str
    claimed: object  # int, or a list for output/rf; None: not answered (a blank in the file)
    correct: object
    ok: bool
    derivation: str  # the formula, numbers substituted (evaluates to `correct`)
    worked: str  # "formula = value", for the table view
    hint: str | None = None
    hint_key: str | None = None  # which known mistake (stable, untranslated)
    where: str = ""

    def to_json(self) -> dict:
        return {"layer": self.layer, "quantity": self.quantity, "claimed": self.claimed, "correct": self.correct,
                "ok": self.ok, "derivation": self.derivation, "hint": self.hint}


@dataclass(frozen=True)
class Report:
    network: str
    verdicts: tuple[Verdict, ...]
    correct: int = field(init=False)
    total: int = field(init=False)  # every question in the file, answered or not
    unanswered: int = field(init=False)  # questions left blank: they count as wrong

    def __post_init__(self):
        object.__setattr__(self, "correct", sum(v.ok for v in self.verdicts))
        object.__setattr__(self, "total", len(self.verdicts))
        object.__setattr__(self, "unanswered", sum(v.claimed is None for v in self.verdicts))

    @property
    def all_correct(self) -> bool:
        """Every question answered and right; a file with no questions (empty, or only comments) is not."""
        return self.total > 0 and self.correct == self.total

    def to_json(self) -> dict:
        return {"verdicts": [v.to_json() for v in self.verdicts],
                "score": {"correct": self.correct, "total": self.total, "unanswered": self.unanswered}}


# -- known mistakes -------------------------------------------------------------------------

def _n(v: int) -> str:
    return f"{v:,}"


def _has_bias(r: LayerRecord) -> bool:
    return bool(r.options.get("bias")) or r.type == "subsample"


def _bias_count(r: LayerRecord) -> int:
    return r.output[0] if r.output else 0


def _full_table(r: LayerRecord) -> tuple[int, int] | None:
    """(params, connections) of a connection-table conv computed as fully connected."""
    if not r.options.get("table") or len(r.output) != 3:
        return None
    kh, kw = r.options["kernel"]
    b = 1 if r.options.get("bias") else 0
    per_map = r.input[0] * kh * kw + b
    params = per_map * r.output[0]
    return params, params * r.output[1] * r.output[2]


def _count_hint(r: LayerRecord, q: str, claimed: int) -> tuple[str, str] | None:
    correct = getattr(r, q)
    if q == "params" and _has_bias(r) and claimed == r.params - _bias_count(r):
        return "bias_forgotten", _("This is the count without the bias ({alt}): each of the {n} outputs (maps or "
                                   "units) has one bias, a trainable parameter too.").format(
            alt=_n(claimed), n=_bias_count(r))
    if q == "connections" and _has_bias(r):
        units = math.prod(r.output)
        no_bias = r.macs if r.type in ("conv", "dense") else r.connections - units
        if claimed == no_bias:
            return "bias_forgotten", _("This is the count without the bias ({alt}): the bias is an input of every "
                                       "output unit, one more connection per unit ({units} units).").format(
                alt=_n(claimed), units=_n(units))
    full = _full_table(r)
    if full is not None and claimed in (full[0] if q == "params" else full[1],) and q in ("params", "connections"):
        return "table_as_full", _("This is the value for a fully connected layer ({alt}): the connection table links "
                                  "each output map to only some of the {c} input maps.").format(
            alt=_n(claimed), c=r.input[0])
    if q == "params" and claimed == r.connections and claimed != correct:
        return "params_as_connections", _("This is the number of connections, not of parameters: with weight sharing "
                                          "one weight serves every output position, so a convolution has far fewer "
                                          "parameters than connections.")
    if q == "connections" and claimed == r.params and claimed != correct:
        return "connections_as_params", _("This is the number of parameters, not of connections: each shared weight is "
                                          "used at every output position, so multiply by H_out·W_out.")
    if q == "macs" and claimed == r.connections and claimed != correct:
        return "macs_with_bias", _("This counts the bias as a multiplication: MACs count the multiplications only, "
                                   "without the bias.")
    return None


def _shape_matches(claim: Claim, dims: tuple[int, ...]) -> bool:
    if claim.value == tuple(dims):
        return True
    # "28x28x6": the textbook writes H×W×C; accept that order too.
    return claim.dims_textbook and len(dims) == 3 and claim.value == (dims[1], dims[2], dims[0])


# Kinds whose output is not a sliding window's: the window slips below would be wrong hints there.
_NOT_WINDOWS = ("convtranspose", "upsample")


def _output_hint(r: LayerRecord, claim: Claim) -> tuple[str, str] | None:
    if len(r.axes) == 2 and len(r.output) == 3 and r.type not in _NOT_WINDOWS:
        c = r.output[0]
        ins = r.input[1:]
        no_stride = tuple(n + a.pad_lo + a.pad_hi - a.k_eff + 1 for n, a in zip(ins, r.axes))
        if any(a.stride > 1 for a in r.axes) and _shape_matches(claim, (c, *no_stride)):
            return "stride_ignored", _("This is the size with the stride ignored ({alt}): divide (in + padding − k) by "
                                       "the stride {s} before adding 1.").format(alt=dims_text(no_stride),
                                                                                 s=r.axes[0].stride)
        if any(a.pad_lo or a.pad_hi for a in r.axes):
            once = tuple((n + max(a.pad_lo, a.pad_hi) - a.k_eff) // a.stride + 1 for n, a in zip(ins, r.axes))
            if _shape_matches(claim, (c, *once)):
                return "padding_once", _("This counts the padding once ({alt}): padding is added on both sides, "
                                         "top and bottom, left and right (2·p).").format(alt=dims_text(once))
    if not claim.dims_textbook and sorted(claim.value) == sorted(r.output) and claim.value != tuple(r.output):
        return "order", _("The numbers are right but the order is not: a list is (C, H, W); write '28x28x6' for "
                          "the textbook's H×W×C.")
    return None


def _rf_hint(r: LayerRecord, claimed: tuple[int, int]) -> tuple[str, str] | None:
    wrong = rf_wrong_end(r)
    if wrong is not None and claimed == wrong and wrong != r.rf.size:
        return "rf_wrong_end", _("This is the recursion walked from the wrong end ({alt}): start at this layer with "
                                 "RF = k, then go back towards the input with RF = (RF − 1)·s + k, using each earlier "
                                 "layer's own stride and kernel.").format(alt=dims_text(wrong))
    ignored = rf_stride_ignored(r)
    if ignored is not None and claimed == ignored and ignored != r.rf.size:
        return "rf_stride_ignored", _("This ignores the strides ({alt}): after a layer with stride s, each step of a "
                                      "later kernel moves s input pixels.").format(alt=dims_text(ignored))
    return None


def _total_hint(a: Analysis, q: str, claimed: int) -> tuple[str, str] | None:
    t = a.totals
    if q == "params" and t.non_trainable and claimed == t.params + t.non_trainable:
        return "total_with_non_trainable", _("This includes the {n} non-trainable values (fixed, not learned); the "
                                             "trainable parameters exclude them.").format(n=_n(t.non_trainable))
    if q == "params" and claimed == t.connections:
        return "params_as_connections", _("This is the number of connections, not of parameters: with weight sharing "
                                          "one weight serves every output position, so a convolution has far fewer "
                                          "parameters than connections.")
    if q == "connections" and claimed == t.params:
        return "connections_as_params", _("This is the number of parameters, not of connections: each shared weight is "
                                          "used at every output position, so multiply by H_out·W_out.")
    return None


# -- checking -------------------------------------------------------------------------------

def _verdict(a: Analysis, claim: Claim) -> Verdict:
    where = str(claim.where) if claim.where else ""
    claimed_json = list(claim.value) if isinstance(claim.value, tuple) else claim.value
    answered = claim.value is not None
    if claim.layer == TOTALS_KEY:
        correct = getattr(a.totals, claim.quantity)
        text = total_formula(a, claim.quantity)
        ok = claim.value == correct
        hint = None if ok or not answered else _total_hint(a, claim.quantity, claim.value)
        return Verdict(TOTALS_KEY, claim.quantity, claimed_json, correct, ok, text, f"{text} = {correct:,}",
                       hint[1] if hint else None, hint[0] if hint else None, where)
    r = a.layer(claim.layer)
    q = claim.quantity
    if q == "output":
        correct_v: object = list(r.output)
        ok = answered and _shape_matches(claim, tuple(r.output))
        hint = None if ok or not answered else _output_hint(r, claim)
    elif q == "rf":
        correct_v = list(r.rf.size)
        ok = claim.value == tuple(r.rf.size)
        hint = None if ok or not answered else _rf_hint(r, claim.value)
    else:
        correct_v = getattr(r, q)
        ok = claim.value == correct_v
        hint = None if ok or not answered else _count_hint(r, q, claim.value)
    return Verdict(r.name, q, claimed_json, correct_v, ok, formula(r, q), worked(r, q),
                   hint[1] if hint else None, hint[0] if hint else None, where)


def check(analysis: Analysis, claims: list[Claim]) -> Report:
    """One verdict per claim, in the answers file's order; a question left blank is wrong."""
    refuse_totals_layer(analysis)
    return Report(analysis.name, tuple(_verdict(analysis, c) for c in claims))


def refuse_totals_layer(analysis: Analysis) -> None:
    """An answers file's `totals` is the network's totals, so a layer of that name could not be
    answered unambiguously: such a network is refused, naming the layer, rather than graded wrong."""
    for r in analysis.layers:
        if r.name == TOTALS_KEY:
            file, line, col = (r.where.rsplit(":", 2) + ["", ""])[:3] if r.where else (analysis.name, "", "")
            where = Where(file, int(line), int(col)) if line.isdigit() and col.isdigit() else Where(file)
            raise CnnError(_("a layer is named '{name}', which answers files keep for the network's totals; "
                             "rename the layer to grade answers about it").format(name=TOTALS_KEY), where)


TEMPLATE_QUANTITIES = ("output", "params", "connections", "macs", "rf")
TEMPLATE_TOTALS = ("params", "connections", "macs")


def template(analysis: Analysis, network: str, input_shape: str | None = None) -> str:
    """A blank answers file: every layer, every quantity; a blank left in it counts as not answered.

    `network` is the FILE argument as given (a path, a built-in name or `-`) and `input_shape`
    the --input, if any: the header's command must work as printed."""
    refuse_totals_layer(analysis)
    command = shlex.quote(network) if network.isprintable() else "NETWORK_FILE"
    if input_shape and input_shape.isprintable():
        command += " --input " + shlex.quote(input_shape)
    lines = [
        "# " + _("Answers for {name} (input {shape}).").format(name=analysis.name, shape=dims_text(analysis.input)),
        "# " + _("Fill in every value: a blank one counts as not answered (delete the questions you do not ask)."),
        "# " + _("Numbers may be written 122,304 or (5*5+1)*6;"),
        "# " + _("output as 6x28x28 (C×H×W), 28x28x6 (H×W×C) or [6, 28, 28]; rf as one size or [h, w]."),
        "# " + _("Check with: cnncalc check {name} THIS_FILE").format(name=command),
    ]
    for r in analysis.layers:
        lines.append(f"{yaml_key(r.name)}:")
        lines += [f"  {q}:" for q in TEMPLATE_QUANTITIES]
    lines.append(f"{TOTALS_KEY}:")
    lines += [f"  {q}:" for q in TEMPLATE_TOTALS]
    return "\n".join(lines) + "\n"


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_STR_TAG = "tag:yaml.org,2002:str"
_RESOLVER = Resolver()  # the implicit types the answers reader resolves plain scalars to


def yaml_key(name: str) -> str:
    """`name` as a YAML mapping key that reads back as exactly `name`: plain when YAML would read it
    as that string (not `Yes`, `NULL`, `Off`, `1e3`), else double-quoted with every `"`, `\\` and
    non-printable character escaped."""
    if _PLAIN_KEY.fullmatch(name) and _RESOLVER.resolve(ScalarNode, name, (True, False)) == _STR_TAG:
        return name
    return '"' + "".join(_escaped(c) for c in name) + '"'


def _escaped(c: str) -> str:
    if c in '"\\':
        return "\\" + c
    if c.isprintable() and c not in "\x85\u2028\u2029\ufeff":  # YAML line breaks and BOM, printable to Python
        return c
    code = ord(c)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


assert set(TEMPLATE_QUANTITIES) <= set(QUANTITIES) and set(TEMPLATE_TOTALS) <= set(TOTAL_QUANTITIES)
