"""Rate–distortion plots as PNG data URIs, so the HTML report is one self-contained file."""

from __future__ import annotations

import base64
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def rd_plot(
    curves: dict[str, dict[str, Any]], metric: str, label: str, anchor: str | None = None
) -> str:
    """One RD plot of ``metric`` against bpp for every curve that has it; a data URI."""
    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=110)
    for name, entry in curves.items():
        results = entry["results"]
        if not results.get("bpp") or not results.get(metric):
            continue
        style = {"linewidth": 2.4} if name == anchor else {"linewidth": 1.4}
        axes.plot(results["bpp"], results[metric], marker="o", markersize=3.5, label=name, **style)
    axes.set_xlabel("bits per pixel")
    axes.set_ylabel(label)
    axes.grid(True, alpha=0.3)
    if axes.lines:
        axes.legend(fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
