"""Matplotlib figures as PNG data URIs, for pages that stay static (the ROI page's chart).

The report, the viewer and the compare page draw their charts in the browser instead
(:mod:`licbench.reports.interactive`, ``static/charts.js``).
"""

from __future__ import annotations

import base64
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def figure_uri(figure: Any) -> str:
    """A matplotlib figure as a PNG data URI (and the figure closed)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return png_uri(buffer.getvalue())


def png_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


__all__ = ["figure_uri", "plt", "png_uri"]
