"""Output files written whole or not at all (``geo.io.files``): renamed together, signals held back
while they are, and the part files of a killed writer removed by the next one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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
    elsewhere = tmp_path / left.name.replace(f"-{files._HOST}-", "-0badcafe-")  # another host's: cannot be told
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
