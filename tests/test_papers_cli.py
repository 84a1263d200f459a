"""`lantu papers`: the report, PDF and 审查意见 of a saved review result, the same as the live review's."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import docx
import pypdf
import pytest
from support import parcel_frame, rect, write_review
from typer.testing import CliRunner

from api.cli import app
from geo.blueprint import Blueprint
from geo.cli import OutputFormat, render
from geo.report_model import SYNTHETIC_MARK
from geo.review import ReviewResult, review
from geo.signing import SigningKey

runner = CliRunner()


@pytest.fixture(scope="module")
def live(blueprint: Blueprint) -> ReviewResult:
    frame = parcel_frame(rect(1.2, 1.2, 1.6, 1.6), rect(2.9, 0.1, 3.1, 0.3), project_type="industrial")
    frame["id"] = ["A", "B"]
    frame["name"] = ["装配车间", "仓库"]
    return review(frame, blueprint)


@pytest.fixture
def saved(live: ReviewResult, tmp_path: Path, signing_key: SigningKey) -> Path:
    return write_review(live, tmp_path / "review.json", signing_key)  # what `lantu review -o` writes here


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def docx_text(data: bytes) -> str:
    return "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)


@pytest.mark.parametrize("fmt", ["html", "opinion", "pdf", "docx"])
def test_papers_from_a_saved_result_equal_the_live_review_papers(
    live: ReviewResult, saved: Path, blueprint: Blueprint, blueprint_dir: Path, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / f"paper.{fmt}"
    run = runner.invoke(app, ["papers", str(saved), "-f", fmt, "-b", str(blueprint_dir), "-o", str(out)])
    assert run.exit_code == 0, run.output
    assert "2 parcel(s)" in run.stderr
    rendered = render(live, OutputFormat(fmt), blueprint=blueprint)
    written = out.read_bytes()
    if fmt == "pdf":  # the file's creation time differs; the text may not
        assert isinstance(rendered, bytes) and pdf_text(written) == pdf_text(rendered)
    elif fmt == "docx":
        assert isinstance(rendered, bytes) and docx_text(written) == docx_text(rendered)
    else:
        assert written.decode("utf-8") == rendered
    assert ("装配车间" in written.decode("utf-8")) if fmt in ("html", "opinion") else True


def test_papers_text_formats_go_to_stdout_and_need_no_blueprint(saved: Path) -> None:
    run = runner.invoke(app, ["papers", str(saved), "--format", "opinion"])
    assert run.exit_code == 0, run.output
    assert run.stdout.startswith("# 建设项目用地落地可行性审查意见") and "（地块编号：A）" in run.stdout


@pytest.mark.parametrize("fmt", ["html", "opinion", "pdf", "docx"])
def test_papers_of_a_demo_review_say_so_without_its_blueprint(
    live: ReviewResult, tmp_path: Path, signing_key: SigningKey, fmt: str
) -> None:
    """A review of the demo blueprint keeps its mark on papers printed later from the file alone: the mark
    came from the blueprint given with ``-b`` (officer's read: a demo opinion reading 同意通过 with no mark)."""
    demo = write_review(live.model_copy(update={"synthetic": True}), tmp_path / "demo.json", signing_key)
    out = tmp_path / f"paper.{fmt}"
    run = runner.invoke(app, ["papers", str(demo), "-f", fmt, "-o", str(out)])
    assert run.exit_code == 0, run.output
    data = out.read_bytes()
    text = pdf_text(data) if fmt == "pdf" else docx_text(data) if fmt == "docx" else data.decode("utf-8")
    if fmt == "docx":  # the mark heads every page: the section's header
        text += "\n".join(p.text for p in docx.Document(io.BytesIO(data)).sections[0].header.paragraphs)
    assert SYNTHETIC_MARK in text
    if fmt in ("opinion", "docx"):
        assert "示例蓝图的管控图层为合成数据" in text


@pytest.mark.parametrize(
    "content", ['{"review_id": "x"}', "not json at all", '{"type": "FeatureCollection", "features": []}', ""]
)
def test_papers_of_a_file_that_is_not_a_result_exit_2(tmp_path: Path, content: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    run = runner.invoke(app, ["papers", str(bad), "-f", "html"])
    assert run.exit_code == 2
    assert "不是审查结果" in run.stderr and "is not a lantu review result" in run.stderr
    missing = runner.invoke(app, ["papers", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "无法读取" in missing.stderr and "cannot read" in missing.stderr


@pytest.mark.parametrize(
    ("name", "said"),
    [("甲" * 3000, "3,000 characters long, more than a review takes (200)"), ("A\x00B\u202eC", "one line")],
)
def test_papers_of_a_hand_made_name_review_would_refuse_exit_2(
    saved: Path, tmp_path: Path, name: str, said: str
) -> None:
    """A name of 3,000 characters ended the PDF with ReportLab's "too large on page 2", a NUL in one the Word
    paper with "All strings must be XML compatible": tracebacks. Refused as the review refuses them."""
    body = json.loads(saved.read_text(encoding="utf-8"))
    body["parcels"][0]["name"] = name
    del body["signature"]  # edited by hand: unsigned (with the signature kept it is refused as changed, below)
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    for fmt in ("pdf", "docx"):
        run = runner.invoke(app, ["papers", str(edited), "-f", fmt, "-o", str(tmp_path / f"x.{fmt}")])
        assert run.exit_code == 2 and said in " ".join(run.stderr.split()), run.output
        assert "Traceback" not in run.output


def test_papers_binary_formats_go_to_a_redirected_stdout_never_a_terminal(
    saved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runner.invoke(app, ["papers", str(saved), "-f", "pdf"]).stdout_bytes.startswith(b"%PDF-")
    monkeypatch.setattr("geo.papers_cli.stdout_is_terminal", lambda: True)
    run = runner.invoke(app, ["papers", str(saved), "-f", "pdf"])
    assert run.exit_code == 2 and "-o" in run.stderr


def test_papers_numbered_from_the_database_keep_the_review_number(
    live: ReviewResult,
    saved: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    lantu_state: Path,
    signing_key: SigningKey,
) -> None:
    """--number takes the service's sequence: the review keeps its 〔年〕第N号, the next review gets N+1."""
    monkeypatch.setenv("LANTU_DATABASE_URL", f"sqlite:///{lantu_state / 'papers.db'}")  # the key beside it is kept
    monkeypatch.setenv("LANTU_ISSUER_CODE", "济自然资审")
    first = runner.invoke(app, ["papers", str(saved), "-f", "opinion", "--number"])
    assert first.exit_code == 0, first.output
    line = first.stdout.splitlines()[2]
    assert re.fullmatch(r"审查编号：济自然资审〔\d{4}〕第1号", line) and "草稿" not in first.stdout
    report = runner.invoke(app, ["papers", str(saved), "-f", "html", "--number"])
    assert line.removeprefix("审查编号：") in report.stdout  # the same number on the report
    other = write_review(live.model_copy(update={"review_id": "another"}), tmp_path / "other.json", signing_key)
    second = runner.invoke(app, ["papers", str(other), "-f", "opinion", "--number"])
    assert "第2号" in second.stdout.splitlines()[2]
    draft = runner.invoke(app, ["papers", str(saved), "-f", "opinion"])
    assert "（草稿，未编号）" in draft.stdout.splitlines()[2]


def test_papers_refuse_an_output_they_cannot_write_and_an_input_that_is_no_file(saved: Path, tmp_path: Path) -> None:
    folder, missing = tmp_path / "folder", tmp_path / "missing"
    folder.mkdir()
    for path, en, zh in (
        (folder, f"{folder} is a folder: name a file", "是文件夹，请指定文件"),
        (missing / "审查意见.docx", f"the folder {missing} does not exist", f"文件夹 {missing} 不存在"),
        (saved / "x.pdf", "a file stands where a folder", "路径中的文件夹位置是一个文件"),
    ):
        for fmt in ("opinion", "docx"):
            run = runner.invoke(app, ["papers", str(saved), "-f", fmt, "-o", str(path)])
            assert run.exit_code == 2 and en in run.stderr and zh in run.stderr, run.output
            assert "Traceback" not in run.output
    assert not missing.exists() and not list(folder.iterdir())
    for source, needle in (("/dev/zero", "/dev/zero is not a regular file"), (str(folder), f"{folder} is a folder")):
        run = runner.invoke(app, ["papers", source])
        assert run.exit_code == 2 and needle in run.stderr, run.output
