"""The bad-input corpus: every file in tests/bad_inputs/ must end with exit code 2 and one message
that names the file, line and column (and the layer where there is one), says what is wrong and
what would be right, with nothing on standard output and no traceback.

Each expectation below is written by hand from the file's content: the position is where the
mistake is in the file (counted by hand), the fragments are what the message must say.

Every file is read twice: with libyaml's parser (what runs wherever PyYAML has it) and with PyYAML's
pure-Python one (the fallback); positions and messages must not depend on which."""
from pathlib import Path

import pytest

from cnncalc import yaml_source
from cnncalc.cli import main
from cnncalc.document import STRUCTURAL
from cnncalc.layers import KINDS

CORPUS = Path(__file__).parent / "bad_inputs"

# file: (line:col or None where only the file can be named, layer or None, fragments)
CASES: dict[str, tuple[str | None, str | None, list[str]]] = {
    # YAML itself
    # an unclosed bracket or quote is named where it was opened, not where the parser gave up (5:1)
    "yaml-unclosed-flow.yaml": ("3:11", None, ["not valid YAML", "`{` is never closed", "close the `{`", "at 5:1"]),
    "yaml-bad-indent.yaml": ("4:4", None, ["not valid YAML", "indentation"]),
    "yaml-tab.yaml": ("3:1", None, ["not valid YAML", "spaces, not tabs"]),
    "yaml-unclosed-quote.yaml": ("1:7", None, ["not valid YAML", "quote is never closed"]),
    "yaml-duplicate-key.yaml": ("3:35", None, ["key 'kernel' appears twice", "keep one"]),
    "yaml-python-tag.yaml": ("3:5", None, ["python/object/apply", "remove the tag"]),
    "yaml-billion-laughs.yaml": ("7:4", None, ["more than 1,000,000 values", "YAML aliases"]),
    "yaml-billion-laughs-in-layers.yaml": ("9:6", None, ["more than 1,000,000 values", "`repeat`"]),
    # an explicit tag PyYAML cannot apply raised a plain ValueError before
    "yaml-tag-unreadable.yaml": ("3:21", None, ["cannot read 'abc' as a YAML int", "remove the tag `!!int`"]),
    "yaml-recursive-alias.yaml": ("2:9", None, ["alias refers to the collection that contains it"]),
    # `layers: ` is 8 characters; the root mapping is level 1, so the 100th `[` (column 108) opens level 101
    "yaml-nested-too-deep.yaml": ("2:108", None, ["nests more than 100 levels"]),
    "yaml-unclosed-list.yaml": ("1:8", None, ["`[` is never closed", "at 2:7"]),
    # ESC (0x1b) after `  - ` on line 4; Python's int() refuses 4,300 digits, cnncalc 2^63 and up
    "yaml-control-character.yaml": ("4:5", None, ["U+001B", "control character", "delete it"]),
    "yaml-huge-integer.yaml": ("3:32", None, ["the number 9999", "…", "too large", "2^63 − 1"]),
    "empty.yaml": ("1:1", None, ["`input: [C, H, W]`", "`layers: [...]`"]),
    "only-comments.yaml": ("1:1", None, ["`input: [C, H, W]`", "`layers: [...]`"]),
    "not-utf8.yaml": ("1:8", None, ["not UTF-8", "0xe9", "save it as UTF-8"]),
    # the document's shape
    "top-level-list.yaml": ("1:1", None, ["a mapping with at least `input: [C, H, W]`"]),
    "top-level-scalar.yaml": ("1:1", None, ["a mapping with at least `input: [C, H, W]`"]),
    "layers-mapping.yaml": ("3:3", None, ["`layers` must be a non-empty list"]),
    "missing-input.yaml": ("1:1", None, ["missing `input`"]),
    "missing-layers.yaml": ("1:1", None, ["missing `layers`"]),
    "input-two-numbers.yaml": ("1:8", None, ["input must be [C, H, W]", "got [8, 8]"]),
    "input-zero.yaml": ("1:8", None, ["whole numbers ≥ 1", "got [1, 0, 8]"]),
    "unknown-top-key.yaml": ("2:1", None, ["unknown key 'layer'", "did you mean 'layers'?"]),
    "two-kinds-in-one-item.yaml": ("3:5", None, ["keys conv, relu", "indent the options"]),
    "options-list.yaml": ("3:11", "conv1", ["filters must be a whole number ≥ 1", "got [2, 3]"]),
    # layer kinds and options
    "unknown-kind.yaml": ("3:5", None, ["unknown layer kind 'convolution'", "did you mean 'conv'?"]),
    # not a kind by meaning nor by spelling: every kind and concat, residual, repeat, gate, listed
    # alphabetically, cut to one readable line
    "unknown-kind-listed.yaml": ("3:5", None, ["unknown layer kind 'transformer_block'",
                                               "expected one of: adaptiveavgpool, avgpool",
                                               f"({len(KINDS) + len(STRUCTURAL)} in all)"]),
    # Keras's Activation layer: the function is the kind
    "unknown-activation.yaml": ("3:5", None, ["unknown layer kind 'activation'",
                                              "write the activation as the layer kind itself", "`- silu`"]),
    "unknown-kind-keras-activation.yaml": ("3:5", None, ["unknown layer kind 'Activation'",
                                                         "write the activation as the layer kind itself: `- relu`"]),
    "misspelled-option.yaml": ("3:24", None, ["no option 'kernal'", "did you mean 'kernel'?"]),
    "missing-filters.yaml": ("3:5", "conv1", ["conv needs `filters`"]),
    # decoders: PyTorch's rules for transposed convolution and upsampling
    "convtranspose-output-padding.yaml": ("3:5", "up", ["output_padding 2 on H", "smaller than the stride 2 or the "
                                                        "dilation 1", "output_padding ≤ 1"]),
    # (3 − 1)·1 − 2·2 + 1·(2 − 1) + 0 + 1 = 0 rows; padding 1 leaves 2
    "convtranspose-impossible-size.yaml": ("3:5", "up", ["the output would have 0 rows", "in 3, s 1, p 2, k 2",
                                                         "use padding ≤ 1"]),
    "convtranspose-padding-same.yaml": ("3:74", "up", ["padding must be a whole number ≥ 0 or [ph, pw]", "got 'same'"]),
    "upsample-scale-and-size.yaml": ("3:5", "up", ["exactly one of `scale`", "`size`"]),
    "upsample-nearest-fraction.yaml": ("3:5", "up", ["from 7 to 13 is not by a whole factor", "a multiple of 7",
                                                     "mode: bilinear"]),
    "upsample-align-corners-nearest.yaml": ("3:5", "up", ["align_corners applies to bilinear only", "drop it"]),
    "upsample-fractional-scale.yaml": ("3:33", "up", ["scale must be a whole number ≥ 1", "got 1.5", "give `size`"]),
    "missing-kernel.yaml": ("3:5", "conv1", ["conv needs `kernel`"]),
    "kernel-zero.yaml": ("3:32", "conv1", ["kernel must be a whole number ≥ 1", "got 0"]),
    "kernel-negative.yaml": ("3:32", "conv1", ["kernel must be a whole number ≥ 1", "got -3"]),
    "kernel-float.yaml": ("3:32", "conv1", ["kernel must be a whole number ≥ 1", "got 2.5"]),
    "kernel-text.yaml": ("3:32", "conv1", ["[height, width]", "got '3x3'"]),
    "kernel-bool.yaml": ("3:32", "conv1", ["kernel must be a whole number", "got True"]),
    "kernel-three-numbers.yaml": ("3:32", "conv1", ["[height, width]", "got [3, 3, 3]"]),
    "stride-zero.yaml": ("3:43", "conv1", ["stride must be a whole number ≥ 1", "got 0"]),
    "dilation-zero.yaml": ("3:45", "conv1", ["dilation must be a whole number ≥ 1", "got 0"]),
    "padding-negative.yaml": ("3:44", "conv1", ["padding must be same, valid", "got -1"]),
    "padding-three-numbers.yaml": ("3:44", "conv1", ["[top, bottom, left, right]", "got [1, 1, 1]"]),
    "padding-unknown-word.yaml": ("3:44", "conv1", ["padding must be same, valid", "got 'full'"]),
    # a 10,000-character value is quoted by its first 40 characters
    "kernel-long-text.yaml": ("3:32", "conv1", ["[height, width]", "got '" + "x" * 40 + "…'"]),
    "filters-zero.yaml": ("3:21", "conv1", ["filters must be a whole number ≥ 1", "got 0"]),
    "dense-units-zero.yaml": ("4:12", "fc1", ["units must be a whole number ≥ 1", "got 0"]),
    "dropout-rate-above-one.yaml": ("3:14", "dropout1", ["from 0 up to (not including) 1", "got 1.5"]),
    "duplicate-layer-name.yaml": ("4:18", "a", ["'a' is used twice", "unique"]),
    "inline-weights-wrong-shape.yaml": ("3:5", "conv1", ["shape 2×3", "expected 1×1×3×3"]),
    # shapes: 4 − 5 + 1 = 0 rows; (4 + 2 − 7) + 1 = 0 rows; 8 → 4 → 2 → 1, then a 2×2 pool on 1×1
    "kernel-larger-than-input.yaml": ("3:5", "C3", ["kernel 5 is larger than the input height 4", "padding ≥ 1"]),
    "kernel-larger-than-padded.yaml": ("3:5", "conv1", ["kernel 7", "after padding 1+1", "padding ≥ 2"]),
    "output-zero-after-pooling.yaml": ("6:5", "pool4", ["kernel 2 is larger than the input height 1"]),
    "pool-padding-too-large.yaml": ("3:5", "pool1", ["more than half the kernel", "padding ≤ kernel/2"]),
    "groups-not-dividing.yaml": ("3:5", "conv1", ["3 input maps cannot be split into groups 2", "divisor of 3"]),
    "groups-not-dividing-filters.yaml": ("3:5", "conv1", ["filters 3 must be a multiple of groups 2"]),
    "table-wrong-rows.yaml": ("3:5", "conv1", ["2 rows but filters is 3", "one row per output map"]),
    "table-map-out-of-range.yaml": ("3:5", "conv1", ["reads input map 2", "only 2 (0..1)"]),
    "dense-before-flatten.yaml": ("3:5", "fc1", ["needs a vector input", "add `- flatten` before it"]),
    # branches and merges: 8 − 3 + 1 = 6 against 8 − 1 + 1 = 8; 4 maps against 1
    "concat-different-sizes.yaml": ("4:7", "concat1", ["same spatial size", "2×6×6, 2×8×8"]),
    "concat-no-branches.yaml": ("3:24", "concat1", ["at least two branches"]),
    "concat-as-list.yaml": ("4:7", None, ["concat takes a mapping of options (name, branches, transparent)"]),
    "add-different-shapes.yaml": ("4:7", "add1", ["4×8×8 and 1×8×8", "shortcut: projection"]),
    "residual-unknown-shortcut.yaml": ("5:17", "add1", ["identity, projection or a list of layers"]),
    # blocks and repeats
    "undefined-block.yaml": ("5:5", None, ["unknown layer kind 'fyre'", "did you mean 'fire'?"]),
    "block-uses-itself.yaml": ("4:20", None, ["block 'loop' uses itself (loop → loop)"]),
    "blocks-use-each-other.yaml": ("4:19", None, ["ping → pong → ping"]),
    "block-unknown-argument.yaml": ("5:30", None, ["unknown argument '$m'", "expected one of: n"]),
    "block-missing-argument.yaml": ("7:5", "b1", ["block 'b' needs the argument 'n'"]),
    "expression-bad.yaml": ("5:30", None, ["cannot compute ${n **}"]),
    "expression-nested-too-deep.yaml": ("6:25", None, ["nests brackets more than 50 deep"]),
    # b0 calls b1 … calls b299: the top-level list is level 1, b0's body level 2, so b23's call
    # (line 5 + 3·22 = 71, after `      - `) would open level 25
    "blocks-chain-too-deep.yaml": ("71:9", None, ["more than 24 levels", "24 blocks call each other",
                                                  "b0 → b1 → b2 → … → b22 → b23"]),
    "repeat-first-not-mapping.yaml": ("8:44", None, ["`first` maps the block's argument names", "got 2"]),
    "huge-repeat.yaml": ("3:21", None, ["1,000,000,000", "more than 100,000 layers"]),
    "nested-huge-repeat.yaml": (None, None, ["grows past 100,000 layers", "`times`"]),
    "repeat-zero.yaml": ("3:21", None, ["`times`: a whole number ≥ 1", "got 0"]),
    # issue 11: messages found while writing networks from the docs
    # `{` at 6:15, `$` of `${c*6}` at 6:25: YAML stops on the `{` after `$`
    "expression-unquoted-in-flow.yaml": ("6:25", None, ["`${c*6}` inside `{…}`", "must be quoted",
                                                        'write "${c*6}"']),
    # `name` inside `args: {` starts at column 12
    "block-argument-called-name.yaml": ("4:12", None, ["block 'stage'", "`name` cannot be an argument",
                                                       "names the block's scope"]),
    "block-layer-list-as-item.yaml": ("6:9", None, ["a list of 2 layers stands where one layer belongs",
                                                    "`body: $layers`"]),
    "name-empty.yaml": ("3:18", None, ["name '' is not a name: it is empty", "letters, digits"]),
    "name-with-space.yaml": ("3:18", None, ["name 'first conv' is not a name: it has a space"]),
    "name-octal-number.yaml": ("3:18", None, ["name 010 is read by YAML as the number 8", 'name: "010"']),
    # `010` at column 21 (after "  - conv: {filters: "), the list `[03, 3]` at column 32
    "option-octal-number.yaml": ("3:21", "conv1", ["filters is written 010", "the octal number 8",
                                                   "without the leading zero"]),
    "option-octal-in-list.yaml": ("3:32", "conv1", ["kernel is written 03", "without the leading zero"]),
    "name-doubled-dot.yaml": ("3:18", None, ["'features..0'", "a dot must stand between two parts"]),
    "unknown-kind-pytorch-name.yaml": ("4:5", None, ["unknown layer kind 'Linear'", "did you mean 'dense'?",
                                                     "nn.Linear is cnncalc's dense"]),
    # SELU is spelled like `elu` but computes something else: said so, not "corrected"
    "unknown-kind-other-function.yaml": ("3:5", None, ["unknown layer kind 'selu'", "no kind for SELU"]),
    "option-pytorch-name.yaml": ("3:12", None, ["conv has no option 'out_channels'", "did you mean 'filters'?"]),
}


def test_the_corpus_is_complete():
    files = sorted(p.name for p in CORPUS.glob("*.yaml"))
    assert len(files) >= 40
    assert files == sorted(CASES), "every file has an expectation and every expectation a file"


@pytest.fixture(params=["libyaml", "pure-python"])
def parser(request, monkeypatch):
    """Which YAML parser reads the file (libyaml's where PyYAML has it, else the pure one twice)."""
    if request.param == "pure-python":
        monkeypatch.setattr(yaml_source, "_Loader", yaml_source._PureLoader)
    return request.param


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input(runner, parser, name):
    where, layer, fragments = CASES[name]
    path = CORPUS / name
    result = runner.invoke(main, ["params", str(path)])
    assert result.exit_code == 2, result.output
    assert result.stdout == "", "nothing is written to standard output"
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    message = lines[0]
    assert "Traceback" not in message
    assert len(message) < 300, f"one readable line, not {len(message):,} characters"
    located = f"{path}:{where}: " if where else f"{path}"
    assert message.startswith(f"error: {located}"), message
    if layer:
        assert f": {layer}: " in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
