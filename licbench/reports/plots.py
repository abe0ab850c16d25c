"""Rate–distortion plots as PNG data URIs, so the HTML report is one self-contained file."""

from __future__ import annotations

import base64
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from licbench.results.curve import Curve  # noqa: E402


def _label(text: str) -> str:
    # matplotlib reads $...$ as mathtext; names come from users
    return text.replace("$", r"\$")


def rd_plot(
    curves: dict[str, Curve],
    metric: str,
    label: str,
    anchor: str | None = None,
    references: dict[str, Curve] | None = None,
    lower_is_better: bool = False,
) -> str:
    """One RD plot of ``metric`` against bpp for every curve that has it; a data URI.

    ``references`` (published CompressAI-format curves) are drawn dashed and labelled
    "(published)"; they are only drawn where they have the metric.
    """
    return figure_uri(rd_figure(curves, metric, label, anchor, references, lower_is_better))


def rd_figure(
    curves: dict[str, Curve],
    metric: str,
    label: str,
    anchor: str | None = None,
    references: dict[str, Curve] | None = None,
    lower_is_better: bool = False,
) -> Any:
    """The matplotlib figure behind :func:`rd_plot` (the caller closes it)."""
    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=110)
    for name, curve in curves.items():
        bpp, values = curve.points(metric)
        if not bpp:
            continue
        style = {"linewidth": 2.4} if name == anchor else {"linewidth": 1.4}
        axes.plot(bpp, values, marker="o", markersize=3.5, label=_label(name), **style)
    for name, curve in (references or {}).items():
        bpp, values = curve.points(metric)
        if not bpp:
            continue
        axes.plot(
            bpp,
            values,
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


#: above this many images a strip plot's row is drawn as a density (see :func:`strip_plot`)
DENSE_STRIP = 500


def strip_plot(per_codec: dict[str, Any], metric: str, anchor: str) -> str:
    """Each codec's per-image BD-rates as dots on one row, its mean and 95% interval as a bar.

    Past :data:`DENSE_STRIP` images a row of dots is one solid line, so the row becomes a
    histogram mirrored about it (80 bins over the range of every row, the height the share of
    the row's busiest bin): it reads as a density, and its PNG stays small (flat areas compress;
    thousands of translucent dots do not).
    """
    import numpy as np

    names = list(per_codec)
    dense = any(len(per_codec[n].values) > DENSE_STRIP for n in names)
    height = 0.5 + (0.8 if dense else 0.45) * max(len(names), 1)
    figure, axes = plt.subplots(figsize=(7, height), dpi=110)
    every = [v for n in names for v in per_codec[n].values.values() if np.isfinite(v)]
    edges = np.histogram_bin_edges(every, bins=80) if dense and every else None
    for row, name in enumerate(names):
        stats = per_codec[name]
        values = list(stats.values.values())
        if edges is not None and len(values) > DENSE_STRIP:
            counts, _ = np.histogram([v for v in values if np.isfinite(v)], bins=edges)
            half = 0.4 * counts / max(int(counts.max()), 1)
            axes.stairs(row + half, edges, baseline=row - half, fill=True, alpha=0.7)
        else:
            axes.scatter(values, [row] * len(values), s=14, alpha=0.6)
        if stats.mean_ci.ok:
            axes.plot([stats.mean_ci.low, stats.mean_ci.high], [row, row], color="black")
            axes.plot([stats.mean], [row], marker="|", markersize=12, color="black")
    axes.axvline(0.0, color="grey", linewidth=0.8)
    axes.set_yticks(range(len(names)), [_label(n) for n in names])
    if dense:
        axes.set_ylim(-0.5, len(names) - 0.5)
    axes.set_xlabel(f"BD-rate (%) against {_label(anchor)}, {_label(metric)}, per image")
    axes.grid(True, axis="x", alpha=0.3)
    figure.tight_layout()
    return figure_uri(figure)


def complexity_plot(points: list[tuple[str, float, float]], ylabel: str) -> str:
    """BD-rate (or any quality figure) of each learned codec against its decoder kMAC/px."""
    figure, axes = plt.subplots(figsize=(7, 4.2), dpi=110)
    for name, kmac, value in points:
        axes.scatter([kmac], [value], s=30)
        axes.annotate(_label(name), (kmac, value), textcoords="offset points", xytext=(5, 4))
    axes.set_xscale("log")
    axes.set_xlabel("decoder kMAC per pixel (log scale)")
    axes.set_ylabel(_label(ylabel))
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    return figure_uri(figure)
