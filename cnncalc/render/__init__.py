"""Renderers: records in, text out. They format; they never compute a count."""
from __future__ import annotations

from .analysis_view import render_analysis, render_top_down, render_zoo

FORMATS = ("table", "json", "csv", "markdown")

__all__ = ["FORMATS", "render_analysis", "render_top_down", "render_zoo"]
