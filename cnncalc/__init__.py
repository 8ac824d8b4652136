"""cnncalc: sizes, parameters, connections, MACs, memory and receptive fields of CNNs written in YAML.

    >>> import cnncalc
    >>> analysis = cnncalc.load("lenet5-1998").analyse()
    >>> analysis.totals.params
    60000
"""
from __future__ import annotations

__version__ = "0.1.0"

from .errors import CnnError
from .network import Network, load, loads
from .records import Analysis, LayerRecord, Totals

__all__ = ["__version__", "CnnError", "Network", "load", "loads", "Analysis", "LayerRecord", "Totals"]
