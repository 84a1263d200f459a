"""Output files written whole or not at all: each is first written beside its name, and a command's
files are renamed to their names together once every one of them is written.

A command that fails halfway (exit 2) or is stopped (``SIGTERM``) removes its part files and leaves
every earlier file as it was, never a new result beside an old pieces file. A writer killed outright
(``SIGKILL``, the OOM killer) cannot remove its part files: the next command writing the same name
removes those of dead writers on this host.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import signal
import socket
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from geo.errors import InputError, LantuError

# A dead writer's part file is removed only once it has not changed for this long: a part file is
# written as the review goes, so a live writer's is younger (and its process is alive).
STALE_AFTER_S = 60.0
# The signals that end a command by an exception: held back while its files are renamed.
_DEFERRED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_HOST = hashlib.blake2s(socket.gethostname().encode(), digest_size=4).hexdigest()  # this host, in 8 hex digits
_NAME_KEPT = 64  # of the target's name in its part file's: a name of 255 bytes still has room beside it


def part_name(target: Path, suffix: str) -> str:
    """The part file's name: hidden, the target's name, this writer (process and host) and a token."""
    return f".{target.name[:_NAME_KEPT]}.{os.getpid()}-{_HOST}-{secrets.token_hex(8)}{suffix}"


def _writer(part: Path, target: Path) -> int | None:
    """The process that wrote ``part`` for ``target``, if it is one of this host's part files."""
    found = re.fullmatch(rf"\.{re.escape(target.name[:_NAME_KEPT])}\.(\d+)-{_HOST}-[0-9a-f]{{16}}\..*", part.name)
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
    """Remove the part files a killed writer left beside ``target`` (its process gone, the file
    unchanged for ``STALE_AFTER_S``); a live writer's, another host's and other files are left."""
    now = time.time() if now is None else now
    removed = []
    with suppress(OSError):  # a folder not there yet or not readable: nothing of ours in it
        for part in target.parent.glob(f".{glob_escape(target.name[:_NAME_KEPT])}.*"):
            pid = _writer(part, target)
            if pid is None or pid == os.getpid() or _alive(pid):
                continue
            with suppress(OSError):
                if now - part.lstat().st_mtime > STALE_AFTER_S:
                    part.unlink()
                    removed.append(part)
    return removed


def glob_escape(text: str) -> str:
    """``text`` matched literally by ``Path.glob`` (a name may hold ``*``, ``?`` or ``[``)."""
    return re.sub(r"([*?\[])", r"[\1]", text)


@dataclass
class _Part:
    target: Path
    part: Path
    earlier: os.stat_result | None

    @property
    def in_place(self) -> bool:
        return self.part == self.target


@dataclass
class WholeFiles:
    """The files one command writes (``whole_files``)."""

    parts: list[_Part] = field(default_factory=list)

    @contextmanager
    def writing(self, target: Path, *, suffix: str = ".part") -> Iterator[Path]:
        """Where to write ``target``: a new file beside it, renamed with the others. A target that is
        not a regular file (a device, a pipe, a symlink: ``-o /dev/stdout``) is written in place. A
        file that cannot be written (a full disk, a read-only folder) is an input error naming it."""
        try:
            yield self._part(target, suffix)
        except OSError as exc:
            if isinstance(exc, LantuError):
                raise
            raise _not_written(target, exc) from exc

    def _part(self, target: Path, suffix: str) -> Path:
        try:
            earlier: os.stat_result | None = os.lstat(target)
        except OSError:  # none yet (or none to see: writing it says why)
            earlier = None
        if earlier is not None and stat.S_ISDIR(earlier.st_mode):
            raise a_folder(str(target))
        if earlier is not None and not stat.S_ISREG(earlier.st_mode):
            self.parts.append(_Part(target, target, earlier))
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_dead_parts(target)
        self.parts.append(_Part(target, target.with_name(part_name(target, suffix)), earlier))
        return self.parts[-1].part

    def commit(self) -> None:
        """Every part file renamed to its target (an earlier file's permissions kept), with the
        signals that stop a command held back meanwhile: the files change together."""
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
        try:
            for p in self.parts:
                if not p.in_place:
                    try:
                        if p.earlier is not None:
                            os.chmod(p.part, stat.S_IMODE(p.earlier.st_mode))
                        os.replace(p.part, p.target)
                    except OSError as exc:
                        raise _not_written(p.target, exc) from exc
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def discard(self) -> None:
        for p in self.parts:
            if not p.in_place:
                with suppress(OSError):  # none made
                    p.part.unlink()


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


def _not_written(target: Path, exc: OSError) -> InputError:
    return InputError(f"writing {target} failed: {exc}", f"写入 {target} 失败：{exc}")


def a_folder(named: str) -> InputError:
    return InputError(f"{named} is a folder: name a file", f"{named} 是文件夹，请指定文件")
