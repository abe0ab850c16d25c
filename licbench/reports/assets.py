"""What an interactive page inlines: the charting library, licbench's chart code, and data.

The pages (report, viewer, compare) must open offline and load nothing from the network, so
every script and style is copied into the page. The library is uPlot (MIT; ``vendor/``, see its
README there for the version and where it came from): 51 kB minified, the smallest maintained
library that draws interactive x/y plots on a canvas (Vega-Lite with Vega is about 800 kB,
plotly's smallest partial bundle about 1 MB).

Data goes in as JSON in a ``<script type="application/json">`` element, which the browser never
runs; ``<``, ``>`` and ``&`` are written as ``\\u003c`` etc., so no text from a user (an image
named ``</script><script>...``) can end that element early.
"""

from __future__ import annotations

import json
import math
from functools import cache
from importlib import resources
from typing import Any

from markupsafe import Markup

#: the uPlot release in ``vendor/`` (fetched with ``npm pack uplot@1.6.32``)
UPLOT_VERSION = "1.6.32"


@cache
def _text(folder: str, name: str) -> str:
    return resources.files("licbench.reports").joinpath(folder, name).read_text(encoding="utf-8")


def _closed(text: str) -> str:
    # an inlined file must not end its <script>/<style> element early, nor put the HTML parser
    # into its "escaped script" states
    lowered = text.lower()
    if any(tag in lowered for tag in ("</script", "</style", "<script", "<!--")):
        raise ValueError("an inlined asset contains a script or style tag or a comment opener")
    return text


def scripts(*names: str) -> Markup:
    """uPlot and licbench's chart code, then ``names`` from ``static/``, as one inline script
    body (for ``<script>{{ scripts }}</script>``)."""
    parts = [_text("vendor", "uPlot.iife.min.js"), _text("static", "charts.js")]
    parts += [_text("static", name) for name in names]
    return Markup(_closed("\n".join(parts)))


def styles() -> Markup:
    """uPlot's stylesheet and licbench's chart styles, for ``<style>{{ styles }}</style>``."""
    return Markup(_closed(_text("vendor", "uPlot.min.css") + "\n" + _text("static", "charts.css")))


def _finite(value: Any) -> Any:
    """NaN and infinity as null (JSON has neither); numpy scalars as Python numbers."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    item = getattr(value, "item", None)
    if callable(item):
        return _finite(item())
    return value


def script_json(data: Any) -> Markup:
    """``data`` as the body of a ``<script type="application/json">`` element: compact, NaN as
    null, and nothing that could close the element or start markup."""
    text = json.dumps(_finite(data), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escape)
    return Markup(text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def rounded(value: float | None, digits: int) -> float | None:
    """``value`` to ``digits`` decimals (None for a missing or non-finite one): what a page
    shows needs no more, and 17 digits per number would triple the data."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


__all__ = ["UPLOT_VERSION", "rounded", "script_json", "scripts", "styles"]
