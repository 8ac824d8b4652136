"""Names vulture (tests/test_lint.py) reports as unused that are used outside cnncalc/: public API
that library users and the tests read. Each entry says who reads it. Vulture only needs the
attribute access to appear here; this file is never imported."""
from cnncalc.conventions import Convention
from cnncalc.homework.verdicts import Verdict
from cnncalc.network import Network

Verdict.hint_key  # stable name of the mistake, documented in docs/homework.md for scripts


Convention.figure  # one figure by key, for library users (tests/test_conventions.py)
Network._repr_svg_  # called by Jupyter/IPython to show a network (docs/draw.md)
Network._repr_html_  # likewise, the summary table with the picture
