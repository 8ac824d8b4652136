"""Renderers: records in, text out. They format; they never compute a count."""
from __future__ import annotations

from .analysis_view import render_analysis, render_top_down, render_zoo

FORMATS = ("table", "json", "csv", "markdown")
# Where a table is printed (params, rf, summary, list), also a self-contained HTML page.
TABLE_FORMATS = (*FORMATS, "html")

__all__ = ["FORMATS", "TABLE_FORMATS", "render_analysis", "render_top_down", "render_zoo"]
