"""lantu's data files: shipped inside the package (``geo.layers``, the repository's ``layers/``)
and read through :mod:`importlib.resources`, so a wheel works without a checkout.

A user's own profiles and tables come first when a data directory is given
(``--data-dir`` / ``LANTU_DATA_DIR``): the same layout as ``layers/``
(``profiles/*.yaml``, ``standards/*.csv``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from geo.errors import LantuError

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


def not_a_file(path: Path) -> tuple[str, str] | None:
    """Why ``path``, which exists, cannot be read as a data file (a directory, ``/dev/zero``, a pipe), in
    English and Chinese; None for a regular file (or a link to one) and for a path that does not exist. Such
    a path was called "unknown" or "not found" though it is there (probe), and reading ``/dev/zero`` or a
    pipe never ends."""
    try:
        if path.is_file() or not path.exists():
            return None
    except OSError:  # a name too long, a folder not readable: the caller says not found
        return None
    kind_en, kind_zh = ("a directory", "目录") if path.is_dir() else ("not a regular file", "非普通文件")
    return (
        f"{path} exists but is {kind_en}, not a YAML file",
        f"{path} 存在，但是{kind_zh}，不是 YAML 文件",
    )


def names(folder: str, suffix: str, search: Iterable[Path] = ()) -> list[str]:
    """File stems with ``suffix`` in ``folder`` across the search path and the shipped files."""
    found = {
        p.stem for root in search if (Path(root) / folder).is_dir() for p in (Path(root) / folder).glob(f"*{suffix}")
    }
    found |= {Path(t.name).stem for t in packaged(folder).iterdir() if t.name.endswith(suffix)}
    return sorted(found)


def read_yaml_mapping(source: Traversable | Path, error: Callable[[str, str], LantuError]) -> dict[str, Any]:
    """The YAML file ``source`` as a mapping (profiles, opinion templates, manifests, presets, the
    department table all are one). A file that is not YAML, or whose top level is not a mapping, raises
    ``error(problem_en, problem_zh)``: each loader wraps the problem in its own class and wording."""
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:  # a GBK file, or no text at all: a traceback at start-up otherwise
        raise error(
            f"not UTF-8 text (byte {exc.start}: {exc.reason})", f"不是 UTF-8 编码的文本（第 {exc.start} 字节）"
        ) from exc
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise error(f"not valid YAML: {first}", "YAML 格式错误") from exc
    if not isinstance(raw, dict):
        raise error("expected a mapping at top level", "顶层应为映射（键: 值）")
    return raw
