"""Rate–distortion plots as PNG data URIs, so the HTML report is one self-contained file."""

from __future__ import annotations

import base64
import io
import math
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from licbench.metrics.ms_ssim import to_decibels  # noqa: E402


def _values(results: dict[str, Any], metric: str) -> list[float] | None:
    """The metric's values of a CompressAI results dict; MS-SSIM dB derived when absent."""
    if results.get(metric):
        return [math.nan if v is None else float(v) for v in results[metric]]
    if metric == "ms-ssim-rgb-db" and results.get("ms-ssim-rgb"):
        return [math.nan if v is None else to_decibels(float(v)) for v in results["ms-ssim-rgb"]]
    return None


def _label(text: str) -> str:
    # matplotlib reads $...$ as mathtext; names come from users
    return text.replace("$", r"\$")


def has_metric(curves: dict[str, dict[str, Any]], metric: str) -> bool:
    """Whether any curve has a finite value of ``metric``."""
    for entry in curves.values():
        values = _values(entry.get("results") or {}, metric)
        if values and any(not math.isnan(v) for v in values):
            return True
    return False


def rd_plot(
    curves: dict[str, dict[str, Any]],
    metric: str,
    label: str,
    anchor: str | None = None,
    references: dict[str, dict[str, Any]] | None = None,
    lower_is_better: bool = False,
) -> str:
    """One RD plot of ``metric`` against bpp for every curve that has it; a data URI.

    ``references`` (published CompressAI-format curves) are drawn dashed and labelled
    "(published)"; they are only drawn where they have the metric.
    """
    return figure_uri(rd_figure(curves, metric, label, anchor, references, lower_is_better))


def rd_figure(
    curves: dict[str, dict[str, Any]],
    metric: str,
    label: str,
    anchor: str | None = None,
    references: dict[str, dict[str, Any]] | None = None,
    lower_is_better: bool = False,
) -> Any:
    """The matplotlib figure behind :func:`rd_plot` (the caller closes it)."""
    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=110)
    for name, entry in curves.items():
        results = entry["results"]
        values = _values(results, metric)
        if not results.get("bpp") or not values:
            continue
        style = {"linewidth": 2.4} if name == anchor else {"linewidth": 1.4}
        axes.plot(results["bpp"], values, marker="o", markersize=3.5, label=_label(name), **style)
    for key, entry in (references or {}).items():
        results = (entry or {}).get("results") or {}
        values = _values(results, metric)
        if not results.get("bpp") or not values:
            continue
        points = sorted(
            (float(b), v) for b, v in zip(results["bpp"], values, strict=False) if b is not None
        )
        name = str(key)  # the name the run's BD-rate table uses for this reference
        axes.plot(
            [b for b, _ in points],
            [v for _, v in points],
            linestyle="--",
            linewidth=1.3,
            marker="x",
            markersize=3.5,
            label=_label(f"{name} (published)"),
        )
    axes.set_xlabel("bits per pixel")
    axes.set_ylabel(label + (" — lower is better" if lower_is_better else ""))
    axes.grid(True, alpha=0.3)
    if axes.lines:
        axes.legend(fontsize=8)
    figure.tight_layout()
    return figure


def figure_uri(figure: Any) -> str:
    """A matplotlib figure as a PNG data URI (and the figure closed)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return png_uri(buffer.getvalue())


def png_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")
