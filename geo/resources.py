"""lantu's data files: shipped inside the package (``geo.layers``, the repository's ``layers/``)
and read through :mod:`importlib.resources`, so a wheel works without a checkout.

A user's own profiles and tables come first when a data directory is given
(``--data-dir`` / ``LANTU_DATA_DIR``): the same layout as ``layers/``
(``profiles/*.yaml``, ``standards/*.csv``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

PACKAGE = "geo.layers"


def packaged(relative: str) -> Traversable:
    """A shipped data file, e.g. ``packaged("profiles/ten-point.yaml")``."""
    return files(PACKAGE).joinpath(*relative.split("/"))


def find(relative: str, search: Sequence[Path] = ()) -> Traversable | None:
    """``relative`` in the first of ``search`` that has it, else among the shipped files, else None."""
    for root in search:
        candidate = Path(root) / relative
        if candidate.is_file():
            return candidate
    shipped = packaged(relative)
    return shipped if shipped.is_file() else None


def names(folder: str, suffix: str, search: Iterable[Path] = ()) -> list[str]:
    """File stems with ``suffix`` in ``folder`` across the search path and the shipped files."""
    found = {
        p.stem for root in search if (Path(root) / folder).is_dir() for p in (Path(root) / folder).glob(f"*{suffix}")
    }
    found |= {Path(t.name).stem for t in packaged(folder).iterdir() if t.name.endswith(suffix)}
    return sorted(found)
