"""Output files written whole or not at all (``geo.io.files``): renamed together (signals held back
meanwhile, a failed rename undone, two commits in turn), and the part files of a killed writer
removed by the next one."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from geo.errors import InputError
from geo.io import files
from geo.io.files import STALE_AFTER_S, remove_dead_parts, whole_files


def test_files_are_renamed_together_with_a_stop_held_back_until_they_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "result.json", tmp_path / "pieces.gpkg"
    second.write_text("earlier pieces", encoding="utf-8")
    second.chmod(0o640)
    stopped_at: list[list[str]] = []
    before = signal.signal(signal.SIGTERM, lambda *_: stopped_at.append(sorted(p.name for p in tmp_path.iterdir())))
    real_replace = os.replace

    def replace(src: Path, dst: Path) -> None:
        real_replace(src, dst)
        if dst == first:
            os.kill(os.getpid(), signal.SIGTERM)  # a scheduler stopping the job between the two renames

    monkeypatch.setattr(files.os, "replace", replace)
    try:
        with whole_files() as out:
            for target in (first, second):
                with out.writing(target) as part:
                    part.write_text(f"new {target.name}", encoding="utf-8")
    finally:
        signal.signal(signal.SIGTERM, before)
    assert stopped_at == [["pieces.gpkg", "result.json"]]  # delivered once both were in place, no part left
    assert second.read_text(encoding="utf-8") == "new pieces.gpkg" and (second.stat().st_mode & 0o777) == 0o640


def test_a_failure_leaves_every_earlier_file_and_names_the_one_not_written(tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.csv"
    first.write_text("earlier", encoding="utf-8")
    with pytest.raises(InputError, match=r"b\.csv"), whole_files() as out:
        with out.writing(first) as part:
            part.write_text("new", encoding="utf-8")
        with out.writing(second):
            raise OSError(28, "No space left on device")
    assert first.read_text(encoding="utf-8") == "earlier" and sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_the_parts_a_killed_writer_left_are_removed_by_the_next_writer(tmp_path: Path) -> None:
    target = tmp_path / "result [1].json"  # a name glob would read as a pattern
    code = (
        "import sys, time; from pathlib import Path; from geo.io.files import whole_files\n"
        "with whole_files() as out, out.writing(Path(sys.argv[1])) as part:\n"
        "    part.write_text('half a result', encoding='utf-8'); print(part, flush=True); time.sleep(60)\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None
    left = Path(writer.stdout.readline().strip())
    assert remove_dead_parts(target, now=time.time() + 2 * STALE_AFTER_S) == []  # its writer is alive
    writer.kill()  # SIGKILL: nothing of the writer runs again
    writer.wait(timeout=10)
    assert left.exists()
    assert remove_dead_parts(target) == []  # just killed: left for a while, as a live writer's would be
    old = time.time() - 2 * STALE_AFTER_S
    mine = tmp_path / files.part_name(target, ".part")  # this process's: alive
    elsewhere = tmp_path / left.name.replace(f"-{files._TAG}-", "-0badcafe-")  # another host's: cannot be told
    other = tmp_path / ".result [1].json.notes"
    for path in (mine, elsewhere, other):
        path.write_text("kept", encoding="utf-8")
    for path in (left, mine, elsewhere, other):
        os.utime(path, (old, old))
    with whole_files() as out, out.writing(target) as part:
        assert not left.exists()  # removed as the next writer starts
        part.write_text("a whole result", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "a whole result"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, mine.name, elsewhere.name, other.name])


def test_a_stop_whose_default_ends_the_process_waits_for_the_last_rename(tmp_path: Path) -> None:
    # SIGHUP's default action kills the process outright; numpy's threads leave a signal mask useless
    code = (
        "import os, signal, sys; from pathlib import Path; from geo.io import files; import numpy\n"
        "signal.signal(signal.SIGHUP, signal.SIG_DFL)\n"  # its default, though the tests run under nohup
        "first, second = Path(sys.argv[1]), Path(sys.argv[2]); real = os.replace\n"
        "def replace(src, dst):\n"
        "    real(src, dst)\n"
        "    if dst == first: os.kill(os.getpid(), signal.SIGHUP)\n"
        "files.os.replace = replace\n"
        "with files.whole_files() as out:\n"
        "    for target in (first, second):\n"
        "        with out.writing(target) as part: part.write_text('new', encoding='utf-8')\n"
        "print('not reached')\n"
    )
    first, second = tmp_path / "result.json", tmp_path / "pieces.gpkg"
    for path in (first, second):
        path.write_text("old", encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", code, first, second], capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGHUP and "not reached" not in done.stdout  # stopped, once committed
    assert {p.name: p.read_text(encoding="utf-8") for p in tmp_path.iterdir()} == {
        "result.json": "new",
        "pieces.gpkg": "new",
    }


def test_a_rename_that_fails_puts_back_the_files_renamed_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary, new, result = tmp_path / "summary.csv", tmp_path / "pieces.gpkg", tmp_path / "result.json"
    summary.write_text("earlier summary", encoding="utf-8")
    result.write_text("earlier result", encoding="utf-8")
    real_replace = os.replace

    def replace(src: Path, dst: Path) -> None:
        if dst == result:  # another user's file in a shared (sticky) folder
            raise PermissionError(1, "Operation not permitted", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(files.os, "replace", replace)
    with pytest.raises(InputError, match=r"result\.json"), whole_files() as out:
        for target in (summary, new, result):
            with out.writing(target) as part:
                part.write_text("new", encoding="utf-8")
    assert {p.name: p.read_text(encoding="utf-8") for p in tmp_path.iterdir()} == {
        "summary.csv": "earlier summary",  # put back
        "result.json": "earlier result",
    }  # and the pieces file, new in this run, gone again


def test_two_commits_of_the_same_files_take_turns(tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    target.write_text("earlier", encoding="utf-8")
    other = os.open(tmp_path, os.O_RDONLY)  # another command, committing into the same folder
    fcntl.flock(other, fcntl.LOCK_EX)

    def write() -> None:
        with whole_files() as out, out.writing(target) as part:
            part.write_text("new", encoding="utf-8")

    writer = threading.Thread(target=write)
    try:
        writer.start()
        writer.join(timeout=0.5)
        assert writer.is_alive() and target.read_text(encoding="utf-8") == "earlier"  # waits its turn
    finally:
        fcntl.flock(other, fcntl.LOCK_UN)
        os.close(other)
    writer.join(timeout=10)
    assert not writer.is_alive() and target.read_text(encoding="utf-8") == "new"


def test_a_long_name_of_four_byte_characters_is_written(tmp_path: Path) -> None:
    target = tmp_path / ("\U00020000" * 60 + ".json")  # 245 bytes: a rare CJK character in a place name
    with whole_files() as out, out.writing(target, suffix=".part.gpkg") as part:
        assert len(part.name.encode()) <= 255
        part.write_text("whole", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "whole" and [p.name for p in tmp_path.iterdir()] == [target.name]


def test_a_file_where_a_folder_should_be_is_named(tmp_path: Path) -> None:
    (tmp_path / "results").write_text("a file, not a folder", encoding="utf-8")
    with (
        pytest.raises(InputError, match="a file stands where a folder") as refused,
        whole_files() as out,
        out.writing(tmp_path / "results" / "r.json"),
    ):
        pass
    assert str(tmp_path / "results") in str(refused.value)


def test_undo_leaves_a_file_another_command_made_meanwhile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary, result = tmp_path / "summary.csv", tmp_path / "result.json"
    result.write_text("earlier result", encoding="utf-8")
    real_replace = os.replace

    def replace(src: Path, dst: Path) -> None:
        if dst == result:
            raise PermissionError(1, "Operation not permitted", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(files.os, "replace", replace)
    with pytest.raises(InputError), whole_files() as out:
        for target in (summary, result):
            with out.writing(target) as part:
                part.write_text("mine", encoding="utf-8")
        summary.write_text("another command's", encoding="utf-8")  # none when this one began writing
    assert summary.read_text(encoding="utf-8") == "another command's"


def test_an_earlier_file_that_cannot_be_linked_is_renamed_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary, result = tmp_path / "summary.csv", tmp_path / "result.json"
    for path in (summary, result):
        path.write_text("earlier", encoding="utf-8")
    real_link, real_replace = os.link, os.replace

    def link(src: Path, dst: Path, **kw: object) -> None:
        if Path(src) == summary:  # a colleague's file where links are protected, or FAT
            raise PermissionError(1, "Operation not permitted")
        real_link(src, dst, **kw)  # type: ignore[arg-type]

    def replace(src: Path, dst: Path) -> None:
        if dst == result:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(files.os, "link", link)
    monkeypatch.setattr(files.os, "replace", replace)
    with pytest.raises(InputError, match=r"result\.json"), whole_files() as out:
        for target in (summary, result):
            with out.writing(target) as part:
                part.write_text("new", encoding="utf-8")
    assert {p.name: p.read_text(encoding="utf-8") for p in tmp_path.iterdir()} == {
        "summary.csv": "earlier",
        "result.json": "earlier",
    }


def test_a_name_that_is_not_utf8_and_a_folder_reached_twice(tmp_path: Path) -> None:
    (tmp_path / "alias").symlink_to(tmp_path)
    named = tmp_path / os.fsdecode(b"r\xe9sultat.json")  # a Latin-1 name, as it comes from argv
    done = []

    def write() -> None:
        with whole_files() as out:
            for target in (named, tmp_path / "alias" / "summary.csv"):  # one folder by two paths
                with out.writing(target) as part:
                    part.write_text("whole", encoding="utf-8")
        done.append(True)

    writer = threading.Thread(target=write)
    writer.start()
    writer.join(timeout=20)
    assert done and named.read_text(encoding="utf-8") == "whole"
    assert (tmp_path / "summary.csv").read_text(encoding="utf-8") == "whole"
