"""Start-up cost of the CLI (issue 14: `cnncalc params resnet50 --format json` in ≤ 0.2 s, most of
it imports): a command imports only the command modules up to its own. Checked by module names,
never by timing."""
from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from cnncalc.cli import main
try:
    main(["params", "lenet5", "--format", "json"])
except SystemExit:
    pass
print(sorted(m for m in sys.modules if m.startswith("cnncalc.cli.") or m in ("numpy", "torch", "rich")))
"""


def test_params_imports_neither_forward_bench_check_nor_numpy():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    loaded = out.strip().splitlines()[-1]
    assert "cnncalc.cli.analysis_commands" in loaded
    for module in ("cnncalc.cli.forward_command", "cnncalc.cli.bench_command", "numpy", "torch"):
        assert f"'{module}'" not in loaded, loaded


def test_json_imports_no_rich_and_a_table_still_draws():
    """rich draws tables; `--format json` prints text and is spared its import (~40 ms here)."""
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    assert "'rich'" not in out.strip().splitlines()[-1], out
    table = subprocess.run([sys.executable, "-c", PROBE.replace('"--format", "json"', '"--format", "table"')],
                           capture_output=True, text=True, check=True).stdout
    assert "'rich'" in table.strip().splitlines()[-1] and "C1" in table and "Params (trainable)" in table, table


def test_help_still_lists_every_command():
    out = subprocess.run([sys.executable, "-m", "cnncalc", "--help"], capture_output=True, text=True).stdout
    for command in ("params", "rf", "summary", "list", "forward", "bench", "check", "template"):
        assert f"  {command} " in out, out
