"""Zip archives from strangers: checked entry by entry before GDAL opens them.

What an archiver adds beside the files (macOS Finder's ``__MACOSX/`` folder and AppleDouble ``._name``
resource forks) is checked like any entry but never extracted: ``._p.shp`` is no second shapefile.
Two entries of one name (which ``zipfile`` writes with no more than a warning) are refused: which of
them a reader opens is an accident of the tool."""

from __future__ import annotations

import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from geo.errors import FormatError, TooLargeError

MAX_ENTRIES = 200
MAX_TOTAL_BYTES = 500 * 1024 * 1024  # uncompressed
MAX_PART_BYTES = 255  # a file or folder name, as Linux file systems allow
MAX_PATH_BYTES = 1024  # a whole entry name, well within PATH_MAX with the folder it is extracted to
MAX_RATIO = 200  # uncompressed / compressed, per entry: beyond this it is a bomb, not a shapefile


def check_zip(
    path: Path,
    *,
    max_total: int = MAX_TOTAL_BYTES,
    max_ratio: int = MAX_RATIO,
    max_entries: int = MAX_ENTRIES,
    shown: str | None = None,
) -> list[str]:
    """Refuse traversal, absolute paths, symlinks, nested archives, bombs and two entries of one name;
    return the names of the files to extract (an archiver's ``__MACOSX/`` and ``._*`` entries left out).

    Messages call the archive ``shown``, else by its own name: a server's copy of an upload goes by the
    name its sender gave it."""
    called = shown or path.name
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise FormatError(f"{called}: not a readable zip archive", f"{called}：不是有效的 zip 压缩包") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > max_entries:
            raise TooLargeError(
                f"{called}: {len(infos)} entries (limit {max_entries})",
                f"{called}：压缩包内文件数 {len(infos)} 超过上限 {max_entries}",
            )
        _no_duplicates([i.filename for i in infos if not i.is_dir()], called)
        total = 0
        for info in infos:
            name = entry_path(info.filename)
            if name.is_absolute() or ".." in name.parts or (name.parts and ":" in name.parts[0]):
                raise FormatError(
                    f"{called}: entry {info.filename!r} points outside the archive",
                    f"{called}：压缩包条目 {info.filename!r} 含有越界路径",
                )
            if len(info.filename.encode()) > MAX_PATH_BYTES or any(
                len(p.encode()) > MAX_PART_BYTES for p in name.parts
            ):
                raise FormatError(  # the file system refuses it (ENAMETOOLONG) once the entry is extracted
                    f"{called}: entry name of {len(info.filename.encode()):,} bytes is too long",
                    f"{called}：压缩包条目名称过长（{len(info.filename.encode()):,} 字节）",
                )
            if stat.S_ISLNK(info.external_attr >> 16):
                raise FormatError(
                    f"{called}: entry {info.filename!r} is a symbolic link",
                    f"{called}：压缩包条目 {info.filename!r} 是符号链接",
                )
            if name.suffix.lower() in (".zip", ".kmz", ".gz", ".7z", ".rar"):
                raise FormatError(f"{called}: nested archive {info.filename!r}", f"{called}：不支持嵌套压缩包")
            total += info.file_size
            if info.file_size > max_ratio * max(info.compress_size, 1) and info.file_size > 1024 * 1024:
                raise TooLargeError(
                    f"{called}: entry {info.filename!r} expands {info.file_size} bytes "
                    f"from {info.compress_size} (a zip bomb?)",
                    f"{called}：条目 {info.filename!r} 压缩比异常（疑似压缩炸弹）",
                )
            if total > max_total:
                raise TooLargeError(
                    f"{called}: more than {max_total} bytes uncompressed",
                    f"{called}：解压后超过 {max_total} 字节",
                )
        return [i.filename for i in infos if not i.is_dir() and not archiver_extra(i.filename)]


def entry_path(name: str) -> PurePosixPath:
    """An entry's name as the path it is extracted to: either separator, and no empty or ``.`` part
    (``./p.dbf``, ``d//p.dbf`` and ``d/./p.dbf`` are ``p.dbf`` and ``d/p.dbf``)."""
    return PurePosixPath(name.replace("\\", "/"))


def archiver_extra(name: str) -> bool:
    """Whether the entry ``name`` is what an archiver adds beside the files: anything under macOS Finder's
    ``__MACOSX/`` folder, or an AppleDouble resource fork ``._p.shp`` (a Finder copy on a FAT or network
    drive puts them beside each file)."""
    parts = entry_path(name).parts
    return bool(parts) and (parts[0] == "__MACOSX" or parts[-1].startswith("._"))


def _no_duplicates(names: list[str], called: str) -> None:
    """Refuse two entries of one name, compared without regard to case (as Windows and macOS extract them,
    and as a shapefile's sidecars are matched): a reader would take one of them, which one unsaid."""
    seen: dict[str, str] = {}
    for name in names:
        if archiver_extra(name):
            continue
        key = "/".join(entry_path(name).parts).casefold()  # as extracted: ./p.dbf, d//p.dbf and d/./p.dbf are p.dbf
        if key not in seen:
            seen[key] = name
            continue
        both = repr(name) if seen[key] == name else f"{seen[key]!r} / {name!r}"
        raise FormatError(
            f"{called}: the archive holds two entries named {both} (names are compared without regard to case); "
            "which one a reader takes is an accident: keep one",
            f"{called}：压缩包内有两个同名条目 {both}（不区分大小写），读取哪一个无法确定：请只保留一个",
        )


CHUNK = 1024 * 1024


def extract_zip(
    path: Path, dest: Path, *, max_total: int = MAX_TOTAL_BYTES, shown: str | None = None, **checks: int
) -> list[Path]:
    """Extract a checked archive into ``dest``, counting what is really written.

    Each entry's declared size is checked first (the sum must fit ``max_total``); while
    extracting, the bytes actually inflated are counted and extraction stops as soon
    as an entry exceeds its declared size or the total exceeds ``max_total``, so a
    lying header cannot make the server write (or GDAL read) more than the budget.
    Messages call the archive ``shown``, as :func:`check_zip` does.
    """
    names = check_zip(path, max_total=max_total, shown=shown, **checks)
    called = shown or path.name
    written: list[Path] = []
    total = 0
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.is_dir() or archiver_extra(info.filename):
                continue
            target = dest.joinpath(*entry_path(info.filename).parts)
            size = 0
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                out_file = target.open("wb")
            except (IsADirectoryError, FileExistsError, NotADirectoryError) as exc:  # 'a' and 'a/b', or '.'
                raise FormatError(
                    f"{called}: entry {info.filename!r} collides with another entry's folder or file",
                    f"{called}：条目 {info.filename!r} 与其他条目的文件夹或文件同名",
                ) from exc
            try:
                with out_file as out, archive.open(info) as source:
                    while chunk := source.read(CHUNK):
                        size += len(chunk)
                        total += len(chunk)
                        if size > info.file_size:
                            raise TooLargeError(
                                f"{called}: entry {info.filename!r} inflates beyond its declared "
                                f"{info.file_size} bytes",
                                f"{called}：条目 {info.filename!r} 解压后超过其声明的大小",
                            )
                        if total > max_total:
                            raise TooLargeError(
                                f"{called}: more than {max_total} bytes uncompressed",
                                f"{called}：解压后超过 {max_total} 字节",
                            )
                        out.write(chunk)
            except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError) as exc:
                raise FormatError(
                    f"{called}: entry {info.filename!r} cannot be extracted",
                    f"{called}：条目 {info.filename!r} 无法解压",
                ) from exc
            written.append(target)
    assert len(written) == len(names)
    return written
