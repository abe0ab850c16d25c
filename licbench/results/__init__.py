"""The results layer: typed curves and run summaries, and every comparison of two curves.

Between the store (what jobs produced) and the reports (what people read). Everything that
reads or writes ``summary.json`` goes through :class:`RunSummary`; every BD-rate is a
:class:`BDComparison` from :func:`compare`; derived series are declared once in
:mod:`licbench.metrics.derived` and shown through :mod:`licbench.results.series`.

* :mod:`.curve` — :class:`Curve`, CompressAI's results format
* :mod:`.summary` — :class:`RunSummary` and its parts, ``to_json``/``from_json``/``load``
* :mod:`.compare` — :func:`compare`: BD value, warnings, error, overlap
* :mod:`.references` — published curves against a run's codecs
* :mod:`.build` — stored records → :class:`RunSummary` (pandas; imported when building)
* :mod:`.series` — label, decimals and direction of a metric or derived series
* :mod:`.jsonsafe` — strict JSON (NaN → null) for files other tools read

Import from the submodules: this package imports nothing itself, so that reading a summary
(on the path of every re-run) does not pay for scipy, which BD-rates need.
"""
