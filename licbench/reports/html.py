"""The self-contained HTML report, rendered with jinja2 (autoescaping on: image and codec names
come from users' files and must show as text, never run as markup)."""

from __future__ import annotations

import math
from typing import Any

import jinja2

from licbench.metrics.derived import bd_series
from licbench.results.series import span


def _number(value: Any, digits: int = 3) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if math.isinf(value):
            return "∞"
        return f"{value:.{digits}f}"
    return str(value)


def _quality(value: Any) -> str:
    """A codec quality as people write it: ``50``, ``0.35``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{float(value):.6g}"


def _count(value: Any) -> str:
    """A count as people read a large one: ``10,000``."""
    return f"{int(value):,}"


def _sort_key(value: Any) -> str:
    """The raw value a sortable table cell sorts by (``data-v``); empty for missing or NaN."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


#: what a library's warning says for its caller, and what a reader of a page needs instead
_FOR_READERS = (
    ("; returning NaN", ": no BD-rate can be given (n/a)"),
    (" (NaN)", ""),
)


def for_readers(text: str) -> str:
    """A warning worded for a reader of the page: the BD-rate library's "returning NaN" (a
    return value) becomes what the page shows, n/a."""
    for said, meant in _FOR_READERS:
        text = text.replace(said, meant)
    return text


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("licbench.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["num"] = _number
    environment.filters["sortkey"] = _sort_key
    environment.filters["q"] = _quality
    environment.filters["count"] = _count
    environment.filters["words"] = for_readers
    environment.filters["span"] = _span
    return environment


def _span(pair: tuple[float, float], metric: str) -> str:
    """The quality range a BD value covers, in its BD series' unit and decimals."""
    return span(pair[0], pair[1], bd_series(metric))


def render(template: str, context: dict[str, Any]) -> str:
    """A page from one of this package's templates."""
    return _environment().get_template(template).render(**context)


def render_report(context: dict[str, Any]) -> str:
    return render("report.html.j2", context)
