"""Low helpers every room may use; nothing here imports anything of licbench.

Why a room of its own: the same few helpers were written again in several rooms (a file's
sha256 four times, write-then-rename four times), and borrowing one from a sibling room made
``metrics`` import ``codecs`` and ``codecs`` import ``bench``. Here they exist once, at the
bottom of the import order (core → registry → codecs, datasets, metrics → bench → ...).

* :mod:`~licbench.core.files`: ``file_sha256``, ``atomic_writer`` / ``atomic_write``
* :mod:`~licbench.core.availability`: ``Availability`` (can a codec or metric run here?)
* :mod:`~licbench.core.machine`: ``cpu_model`` (the processor's name, for records)
* :mod:`~licbench.core.colour`: RGB ↔ YCbCr as the anchors do it (imports numpy at the top,
  so only code that handles pixels imports it; nothing else here needs numpy)

Import from the submodules; this package itself re-exports nothing, so that there is one name
for each helper.
"""
