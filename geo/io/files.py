"""Output files written whole or not at all: each is first written beside its name, and a command's
files are renamed to their names together once every one of them is written.

A command that fails halfway (exit 2) or is stopped (``SIGTERM``, ``SIGINT``, ``SIGHUP``) removes
its part files and leaves every earlier file as it was, never a new result beside an old pieces
file: a stop that comes while the files are renamed waits for the last rename, a rename that fails
puts back the files renamed before it (where the file system has hard links), and two commands
committing the same files take turns (where it has ``flock``). A writer killed outright (``SIGKILL``,
the OOM killer) cannot remove its part files: the next command writing the same name removes those
whose writer is gone.

Every file a command writes is checked first by :func:`output_file`, the one door for output paths: a
folder, a folder of its path that does not exist (never made), a file in a folder's place or a folder
that cannot be written in is an input error (exit 2) naming it. A command's input files are checked by
:func:`input_file`: a regular file, not a folder, a device or a pipe.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import secrets
import signal
import socket
import stat
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from geo.errors import InputError, LantuError

if sys.platform != "win32":
    import fcntl

# A second guard besides the writer's process being gone: a part file younger than this is left,
# whoever wrote it (a writer just killed leaves its part files until the next command after that).
STALE_AFTER_S = 60.0
# The signals that end a command by an exception or by default: held back while its files are renamed
# (the platform's own: Windows has no SIGHUP).
_STOPS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
# of the target's name in its part file's, in bytes: a name of 255 bytes leaves room for the rest
_NAME_KEPT = 64


def _writer_tag() -> str:
    """This host and process-id space, in 8 hex digits: a process id means the same process only
    where both are the same (containers of one pod share a host name, not their process ids)."""
    try:
        space = os.readlink("/proc/self/ns/pid")
    except OSError:  # no /proc: the host alone
        space = ""
    return hashlib.blake2s(f"{socket.gethostname()}|{space}".encode(), digest_size=4).hexdigest()


_TAG = _writer_tag()


def _kept(target: Path) -> str:
    """The start of ``target``'s name kept in its part files': at most ``_NAME_KEPT`` bytes of UTF-8,
    whole characters."""
    return os.fsencode(target.name)[:_NAME_KEPT].decode(errors="ignore")


def part_name(target: Path, suffix: str) -> str:
    """The part file's name: hidden, the start of the target's name, this writer (process and tag) and
    a token."""
    return f".{_kept(target)}.{os.getpid()}-{_TAG}-{secrets.token_hex(8)}{suffix}"


def _writer(part: Path, target: Path) -> int | None:
    """The process that wrote ``part`` for a target named like ``target``, if it is one of this host's
    and process-id space's part files."""
    found = re.fullmatch(rf"\.{re.escape(_kept(target))}\.(\d+)-{_TAG}-[0-9a-f]{{16}}\..*", part.name)
    return int(found.group(1)) if found else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


def remove_dead_parts(target: Path, *, now: float | None = None) -> list[Path]:
    """Remove the part files a killed writer left beside ``target`` (or a target whose name starts
    with the same 64 bytes): its process gone, the file unchanged for ``STALE_AFTER_S``. A live
    writer's, another host's or container's, and other files are left."""
    if sys.platform == "win32":  # no signal 0 to ask whether a process lives (it is CTRL_C_EVENT there)
        return []
    now = time.time() if now is None else now
    removed = []
    with suppress(OSError):  # a folder not there yet or not readable: nothing of ours in it
        for part in target.parent.glob(f".{glob.escape(_kept(target))}.*"):
            pid = _writer(part, target)
            if pid is None or pid == os.getpid() or _alive(pid):
                continue
            with suppress(OSError):
                if now - part.lstat().st_mtime > STALE_AFTER_S:
                    part.unlink()
                    removed.append(part)
    return removed


@dataclass(frozen=True)
class _Part:
    target: Path
    part: Path


@dataclass
class WholeFiles:
    """The files one command writes (``whole_files``) as part files beside them; a file written in place
    is not among them."""

    parts: list[_Part] = field(default_factory=list)

    @contextmanager
    def writing(self, target: Path, *, suffix: str = ".part", option: str = "") -> Iterator[Path]:
        """Where to write ``target``: a new file beside it, renamed with the others. The target is first
        checked by :func:`output_file` (``option`` names it in the message). A target that is not a
        regular file (a device, a pipe, a symlink: ``-o /dev/stdout``) is written in place. A file that
        cannot be written (a full disk, a read-only folder) is an input error naming it."""
        with write_failed(target):
            yield self._part(output_file(target, option), suffix)

    def _part(self, target: Path, suffix: str) -> Path:
        try:
            earlier: os.stat_result | None = os.lstat(target)
        except OSError:  # none yet (or none to see: writing it says why)
            earlier = None
        if earlier is not None and not stat.S_ISREG(earlier.st_mode):
            return target
        remove_dead_parts(target)
        self.parts.append(_Part(target, target.with_name(part_name(target, suffix))))
        return self.parts[-1].part

    def commit(self) -> None:
        """Every part file renamed to its target (an earlier file's permissions kept), the targets'
        folders locked against another command's commit and then the stop signals held back. Each
        earlier file is first kept as a second link, to be put back if a later rename fails; one that
        cannot be linked (a file system without hard links) is renamed last, as the rest can be undone."""
        with _folders_locked([p.target.parent for p in self.parts]), _stops_held():
            plan = [(p, *_second_link(p.target)) for p in self.parts]  # under the lock: what is there now
            plan.sort(key=lambda step: step[1] is None and step[2])  # stable: unlinked earlier files last
            done: list[tuple[_Part, Path | None, bool]] = []
            try:
                for p, kept, existed in plan:
                    try:
                        if existed:
                            os.chmod(p.part, stat.S_IMODE(os.stat(p.target).st_mode))
                        os.replace(p.part, p.target)
                    except OSError as exc:
                        _undo(done)
                        raise _not_written(p.target, exc) from exc
                    done.append((p, kept, existed))
            finally:
                for _, kept, _ in plan:
                    if kept is not None:
                        with suppress(OSError):
                            kept.unlink()

    def discard(self) -> None:
        for p in self.parts:
            with suppress(OSError):  # none made
                p.part.unlink()


def _second_link(target: Path) -> tuple[Path | None, bool]:
    """A second name for ``target``'s file (a hard link, named as a part file: a killed commit's are
    removed with them) and whether there is a file: (None, False) for none, (None, True) where it
    cannot be linked."""
    kept = target.with_name(part_name(target, ".earlier"))
    try:
        os.link(target, kept, follow_symlinks=False)
    except FileNotFoundError:
        return None, False
    except OSError:
        return None, True
    return kept, True


def _undo(done: list[tuple[_Part, Path | None, bool]]) -> None:
    """The renames ``done`` undone, last first: each target back to its earlier file, or to none."""
    for p, kept, existed in reversed(done):
        with suppress(OSError):
            if kept is not None:
                os.replace(kept, p.target)
            elif not existed:
                p.target.unlink()


@contextmanager
def _stops_held() -> Iterator[None]:
    """The stop signals recorded instead of acted on, and raised again once the block ends. Handlers
    rather than a signal mask: the kernel hands a process's signal to any thread that does not block
    it (numpy's, a progress bar's). Only the main thread may set handlers; elsewhere nothing is held
    (a command runs there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    came: list[int] = []

    def record(signum: int, _frame: FrameType | None) -> None:
        came.append(signum)

    before = {sig: signal.signal(sig, record) for sig in _STOPS}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(came):
            signal.raise_signal(sig)


@contextmanager
def _folders_locked(folders: list[Path]) -> Iterator[None]:
    """An exclusive lock on each folder (``flock``, one lock a folder however it is reached, taken in
    one order): two commands writing the same files commit one after the other, so the files are all
    one command's. Where there is no ``flock`` (Windows, some network file systems) there is no turn."""
    with ExitStack() as stack:
        opened: dict[tuple[int, int], int] = {}
        for folder in folders if sys.platform != "win32" else []:
            try:
                fd = os.open(folder, os.O_RDONLY)
            except OSError:
                continue
            stack.callback(os.close, fd)
            found = os.fstat(fd)
            opened.setdefault((found.st_dev, found.st_ino), fd)  # a bind mount or alias: the same folder
        for _, fd in sorted(opened.items()):
            with suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_EX)
                stack.callback(fcntl.flock, fd, fcntl.LOCK_UN)
        yield


@contextmanager
def whole_files() -> Iterator[WholeFiles]:
    """A command's output files (``WholeFiles.writing``), renamed together when the block ends
    without error and removed otherwise."""
    files = WholeFiles()
    try:
        yield files
        files.commit()
    except BaseException:
        files.discard()
        raise


@contextmanager
def write_failed(target: Path) -> Iterator[None]:
    """A write of ``target`` that fails (a full disk, a file it may not replace) as an input error naming it:
    an ``OSError``, or GDAL's refusal to create the file (``pyogrio``'s ``DataSourceError``)."""
    try:
        yield
    except LantuError:
        raise
    except Exception as exc:
        gdal = sys.modules.get("pyogrio.errors")  # only raised once pyogrio is imported: never imported here
        if isinstance(exc, OSError) or (gdal is not None and isinstance(exc, gdal.DataSourceError)):
            raise _not_written(target, exc) from exc
        raise


def _not_written(target: Path, exc: Exception) -> InputError:
    return InputError(f"writing {target} failed: {exc}", f"写入 {target} 失败：{exc}")


def write_whole(target: Path, data: str | bytes, *, option: str = "--output", encoding: str = "utf-8") -> None:
    """``data`` (text in ``encoding``) written to ``target`` whole or not at all: one command's one file, checked
    by :func:`output_file` (``option`` names it)."""
    with whole_files() as files, files.writing(target, option=option) as part:
        part.write_bytes(data.encode(encoding) if isinstance(data, str) else data)


def output_file(target: Path, option: str = "") -> Path:
    """``target`` if a command may write it as a file, else the input error (exit 2) that says why not: a
    folder; a folder of its path that does not exist (never made: a mistyped ``-o`` would make folders
    wherever it points, ``/nonexistent`` at the root for root; ``cp`` and GDAL refuse it too); a file
    standing where a folder of its path should be; a folder that cannot be written in. A device or a pipe
    (``-o /dev/stdout``) is written as it is. ``option`` (``--output``) names the path in the messages.

    Every command writing a file checks it here: through :meth:`WholeFiles.writing`, and before a long
    run (a review, a site search) so that a batch is not computed for nothing."""
    named = f"{option} {target}" if option else str(target)
    if target.is_dir():  # a link to a folder too
        raise a_folder(named)
    try:
        if not stat.S_ISREG(os.lstat(target).st_mode):  # a device, a pipe, a link: written where it leads
            return target
    except OSError:  # none yet (or a folder of its path missing: said below)
        pass
    folder = target.parent  # "." for a bare name
    if not folder.is_dir():
        standing = next((p for p in (folder, *folder.parents) if os.path.lexists(p)), None)
        if standing is not None and not standing.is_dir():
            raise InputError(
                f"{named} cannot be written: a file stands where a folder of its path should be ({standing})",
                f"{named} 无法写入：路径中的文件夹位置是一个文件（{standing}）",
            )
        raise InputError(
            f"{named} cannot be written: the folder {folder} does not exist (make it first: mkdir -p {folder})",
            f"{named} 无法写入：文件夹 {folder} 不存在（请先创建：mkdir -p {folder}）",
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(
            f"{named} cannot be written: no permission to write in the folder {folder} (or a read-only disk)",
            f"{named} 无法写入：没有在文件夹 {folder} 中写入的权限（或磁盘只读）",
        )
    return target


def input_file(source: Path, option: str = "") -> Path:
    """``source`` if it is a regular file to read, else the input error (exit 2) that says what it is: none,
    a folder, or a device, a pipe or a socket (``/dev/zero`` would be read for ever, a pipe read once)."""
    named = f"{option} {source}" if option else str(source)
    try:
        found = os.stat(source)
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise InputError(f"cannot read {named}: file not found", f"无法读取 {named}：文件不存在") from exc
    except OSError as exc:  # a folder of its path that may not be searched
        raise InputError(f"cannot read {named}: {exc.strerror}", f"无法读取 {named}：{exc.strerror}") from exc
    if stat.S_ISDIR(found.st_mode):
        raise a_folder(named)
    if not stat.S_ISREG(found.st_mode):
        raise InputError(
            f"{named} is not a regular file (a device, a pipe or a socket): name a file",
            f"{named} 不是普通文件（设备、管道或套接字），请指定文件",
        )
    return source


def a_folder(named: str) -> InputError:
    return InputError(f"{named} is a folder: name a file", f"{named} 是文件夹，请指定文件")
