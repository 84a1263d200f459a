"""The signature of a review result file (``geo.signing``): what ``lantu review`` writes here verifies; a file
changed after it was signed is refused; an unsigned one, or one signed elsewhere, is unverified: ``lantu quota
reserve`` refuses it unless ``--accept-unsigned`` (then journaled), the papers carry the mark. The service's
download of a review (``GET /api/v1/reviews/{id}/result.json``) is signed the same way, with the same key.

Every key here lives in the test's own folders (``lantu_state``, ``tmp_path``), never in a home directory."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import os
import re
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
import pypdf
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from support import assert_problem, auth, parcel_frame, rect, write_review
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app
from api.settings import Settings
from geo.cli import app as geo_app
from geo.cli_context import CliContext
from geo.errors import FormatError, InputError
from geo.io.quota import read_signed_review
from geo.report_model import UNVERIFIED_MARK
from geo.review import ReviewResult, review
from geo.signing import KEY_FILE, SigningKey, load_key_file

runner = CliRunner()
PADDY = (2.2, 0.2, 2.4, 0.4)  # conditional (0101 paddy), needs land quota
FARM = (3.2, 0.2, 3.4, 0.4)  # rejected: basic farmland
ANOTHER = SigningKey(b"\x07" * 32, "another installation")


@pytest.fixture
def run(lantu_state: Path) -> Any:
    """``lantu …`` (the service's command) on the test's own database and key (``lantu_state``)."""

    def invoke(*args: object, code: int = 0) -> Any:
        result = runner.invoke(app, [str(a) for a in args])
        assert result.exit_code == code, result.output
        return result

    return invoke


@pytest.fixture
def live(blueprint: Any) -> ReviewResult:
    frame = parcel_frame(rect(1.2, 1.2, 1.6, 1.6), project_type="industrial")
    frame["id"] = ["A"]
    return review(frame, blueprint)


def reviewed(run: Any, tmp_path: Path, blueprint_dir: Path, name: str, box: tuple[float, ...]) -> Path:
    """The file `lantu review -o` writes for one parcel ``name``."""
    parcels = tmp_path / f"{name}.geojson"
    parcel_frame(rect(*box), id=name).to_crs(4490).to_file(parcels, driver="GeoJSON")
    out = tmp_path / f"{name}.json"
    run("review", parcels, "-b", blueprint_dir, "-o", out)
    return out


def ledger_with(run: Any, tmp_path: Path, blueprint_dir: Path, *projects: str) -> None:
    """A ledger issued land quota for 2026, ``projects`` in the library at 储备 (先入库后保障)."""
    run("quota", "init", "--blueprint", blueprint_dir)
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "county_code,factor,amount\n370811,land_new,100000\n370811,land_compensation,60000\n"
        "370811,land_compensation_paddy,50000\n370811,land_compensation_grain,100000\n",
        encoding="utf-8",
    )
    run("quota", "issue", "--year", "2026", "--csv", plan)
    for project in projects:
        run(
            *("projects", "add", project, "--name", f"项目{project}", "--type", "industrial"),
            *("--level", "市重点", "--county", "370811", "--stage", "储备"),
        )


def unsigned(path: Path) -> Path:
    """``path`` with its signature member taken off, byte for byte as an older lantu wrote it."""
    text = path.read_text(encoding="utf-8")
    head, found, _ = text.rpartition(',\n  "signature": {')
    assert found
    path.write_text(head + "\n}", encoding="utf-8")
    return path


def flipped(raw: bytes, at: int) -> bytes:
    """``raw`` with the hex digit at ``at`` changed."""
    return raw[:at] + (b"1" if raw[at : at + 1] == b"0" else b"0") + raw[at + 1 :]


def journal(run: Any) -> list[dict[str, Any]]:
    return list(json.loads(run("quota", "journal", "--format", "json").stdout))


def one_line(text: str) -> str:
    return " ".join(text.split())


# --- writing and the key ------------------------------------------------------------------------------------------


def test_a_review_file_verifies_with_the_key_made_once_0600(
    run: Any, tmp_path: Path, blueprint_dir: Path, lantu_state: Path
) -> None:
    first = reviewed(run, tmp_path, blueprint_dir, "PADDY", PADDY)
    path = lantu_state / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.stat().st_size == 32
    made = path.read_bytes()
    second = reviewed(run, tmp_path, blueprint_dir, "FARM", FARM)
    assert path.read_bytes() == made  # reused, not made again
    assert [p.name for p in lantu_state.iterdir() if "signing" in p.name] == [KEY_FILE]  # no part file left
    key = load_key_file(path, create=False)
    assert key is not None and key.key_id == hashlib.sha256(made).hexdigest()[:16]
    for file in (first, second):
        raw = file.read_bytes()
        body = json.loads(raw)
        assert list(body)[-1] == "signature"  # the last member
        assert body["signature"] == {
            "algorithm": "HMAC-SHA256",
            "key_id": key.key_id,
            "value": body["signature"]["value"],
        }
        signed = read_signed_review(file, key=key)
        assert signed.verified and signed.result == ReviewResult.model_validate_json(raw)
        # the HMAC of the bytes before the member, as a receiver holding the key recomputes it
        before = raw[: raw.rindex(b',\n  "signature"')]
        assert body["signature"]["value"] == hmac.new(made, before, "sha256").hexdigest()


def test_the_key_file_is_the_users_whatever_the_database(
    run: Any, tmp_path: Path, blueprint_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the user's data directory (XDG), so that a review written in one folder verifies in a reserve run from
    another, with another database; ``LANTU_SIGNING_KEY_FILE`` moves it."""
    monkeypatch.delenv("LANTU_SIGNING_KEY_FILE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert Settings().signing_key_file == tmp_path / "xdg" / "lantu" / KEY_FILE
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert Settings().signing_key_file == tmp_path / "home" / ".local" / "share" / "lantu" / KEY_FILE
    written = reviewed(run, tmp_path, blueprint_dir, "PADDY", PADDY)
    key = tmp_path / "home" / ".local" / "share" / "lantu" / KEY_FILE
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700 and stat.S_IMODE(key.stat().st_mode) == 0o600
    monkeypatch.setenv("LANTU_DATABASE_URL", f"sqlite:///{tmp_path / 'elsewhere' / 'ledger.db'}")
    assert read_signed_review(written, key=load_key_file(key, create=False)).verified


def test_a_key_file_others_can_read_or_of_the_wrong_size_is_refused(tmp_path: Path) -> None:
    loose = tmp_path / "loose" / KEY_FILE
    loose.parent.mkdir()
    loose.write_bytes(os.urandom(32))
    loose.chmod(0o644)
    with pytest.raises(InputError, match="chmod 600"):
        load_key_file(loose, create=True)
    short = tmp_path / "short" / KEY_FILE
    short.parent.mkdir()
    short.write_bytes(b"abc")
    short.chmod(0o600)
    with pytest.raises(InputError, match="is not a lantu signing key"):
        load_key_file(short, create=True)
    assert load_key_file(tmp_path / "none" / KEY_FILE, create=False) is None  # reading makes no key


def test_a_review_without_a_usable_key_is_written_unsigned_with_a_warning(
    tmp_path: Path, blueprint_dir: Path, lantu_state: Path
) -> None:
    (lantu_state / KEY_FILE).write_bytes(b"not a key")
    (lantu_state / KEY_FILE).chmod(0o600)
    parcels = tmp_path / "p.geojson"
    parcel_frame(rect(*PADDY), id="P").to_crs(4490).to_file(parcels, driver="GeoJSON")
    done = runner.invoke(app, ["review", str(parcels), "-b", str(blueprint_dir), "-o", str(tmp_path / "p.json")])
    assert done.exit_code == 0, done.output
    assert "written unsigned" in one_line(done.stderr) and "不签名" in done.stderr
    assert "signature" not in json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))


def test_a_secret_the_host_gives_signs_and_no_key_file_is_made(tmp_path: Path, blueprint_dir: Path) -> None:
    """``CliContext.signing_secret`` (``LANTU_SIGNING_KEY`` once the host passes it): every installation given the
    same secret verifies the others' files; one below 16 characters is refused."""
    context = CliContext(database_url=f"sqlite:///{tmp_path / 'l.db'}", signing_secret="s" * 32)
    parcels = tmp_path / "p.geojson"
    parcel_frame(rect(*PADDY), id="P").to_crs(4490).to_file(parcels, driver="GeoJSON")
    out = tmp_path / "p.json"
    done = runner.invoke(geo_app, ["review", str(parcels), "-b", str(blueprint_dir), "-o", str(out)], obj=context)
    assert done.exit_code == 0, done.output
    assert not (tmp_path / KEY_FILE).exists()
    shared = SigningKey.from_secret("s" * 32)
    assert (
        json.loads(out.read_text(encoding="utf-8"))["signature"]["key_id"] == hashlib.sha256(b"s" * 32).hexdigest()[:16]
    )
    assert read_signed_review(out, key=shared).verified
    with pytest.raises(InputError, match="fewer than 16"):
        SigningKey.from_secret("short")


def test_a_result_on_stdout_verifies_with_the_line_break_after_it(
    run: Any, tmp_path: Path, blueprint_dir: Path, signing_key: SigningKey
) -> None:
    """``lantu review … > r.json``: the bytes on stdout, the line break print adds included, verify."""
    parcels = tmp_path / "p.geojson"
    parcel_frame(rect(*PADDY), id="P").to_crs(4490).to_file(parcels, driver="GeoJSON")
    printed = run("review", parcels, "-b", blueprint_dir).stdout_bytes
    assert printed.endswith(b"}\n")
    (tmp_path / "r.json").write_bytes(printed)
    assert read_signed_review(tmp_path / "r.json", key=signing_key).verified
    (tmp_path / "r2.json").write_bytes(printed + b"\n")  # anything more after the member is a change
    with pytest.raises(FormatError, match="changed after lantu wrote it"):
        read_signed_review(tmp_path / "r2.json", key=signing_key)


# --- reading: changed, unsigned, signed elsewhere ---------------------------------------------------------------


def test_a_rejected_parcel_forged_to_pass_is_refused_as_changed(
    run: Any, tmp_path: Path, blueprint_dir: Path, signing_key: SigningKey
) -> None:
    """The forgery check_verdicts cannot see: verdict and items edited together, the layout kept byte for byte."""
    ledger_with(run, tmp_path, blueprint_dir, "FARM")
    farm = reviewed(run, tmp_path, blueprint_dir, "FARM", FARM)
    text = farm.read_text(encoding="utf-8")
    assert '"verdict": "reject"' in text
    forged = text.replace('"status": "fail"', '"status": "warn"').replace(
        '"verdict": "reject"', '"verdict": "conditional"'
    )
    farm.write_text(forged, encoding="utf-8")
    with pytest.raises(FormatError) as refused:
        read_signed_review(farm, key=signing_key)
    assert refused.value.message_en == (
        "FARM.json: the file was changed after lantu wrote it (its signature does not match its content); review the "
        "parcels again (lantu review)"
    )
    assert (
        refused.value.message_zh == "FARM.json：文件在 lantu 写出后被改动（签名与内容不符）；请重新审查（lantu review）"
    )
    said = run("quota", "reserve", farm, "--year", "2026", "--accept-unsigned", code=2).stderr
    assert "changed after lantu wrote it" in one_line(said) and "被改动" in said  # no flag lets it through
    # without its signature the same forgery agrees with itself: only the signature's absence stops it
    assert not read_signed_review(unsigned(farm), key=signing_key).verified
    said = run("quota", "reserve", farm, "--year", "2026", code=2).stderr
    assert "could not be verified as written by lantu" in one_line(said) and "--accept-unsigned" in said
    assert {j["kind"] for j in journal(run)} == {"issue"}


@pytest.mark.parametrize(
    "change",
    [
        lambda raw: raw.replace(b'"area_m2": ', b'"area_m2": 1', 1),  # one byte more in a parcel
        lambda raw: flipped(raw, raw.rindex(b'"value": "') + len(b'"value": "')),  # the value itself
        lambda raw: raw.replace(b'"signature"', b'"signature": null, "x"', 1),  # another member in its place
        lambda raw: raw.replace(b'{\n  "review_id"', b'{\n  "signature": 1,\n  "review_id"', 1),  # a second one
        lambda raw: raw.replace(b"\n  ", b"\n   "),  # re-indented: the bytes signed are the bytes written
    ],
    ids=["parcel", "value", "member", "duplicate", "layout"],
)
def test_any_change_to_a_signed_file_is_refused(
    run: Any, tmp_path: Path, blueprint_dir: Path, signing_key: SigningKey, change: Any
) -> None:
    path = reviewed(run, tmp_path, blueprint_dir, "PADDY", PADDY)
    raw = path.read_bytes()
    path.write_bytes(change(raw))
    with pytest.raises(FormatError, match="changed after lantu wrote it"):
        read_signed_review(path, key=signing_key)


def test_a_file_signed_by_another_key_is_read_unverified(
    live: ReviewResult, tmp_path: Path, signing_key: SigningKey
) -> None:
    other = write_review(live, tmp_path / "other.json", ANOTHER)
    signed = read_signed_review(other, key=signing_key)
    assert not signed.verified and signed.result == live
    assert signed.check.why_en == (
        f"it is signed by another installation's key ({ANOTHER.key_id}; this one's is {signing_key.key_id})"
    )
    assert "其他安装的密钥" in signed.check.why_zh
    no_key = read_signed_review(other, key=None)
    assert not no_key.verified and "this installation has no signing key" in no_key.check.why_en
    plain = read_signed_review(write_review(live, tmp_path / "plain.json", None), key=signing_key)
    assert not plain.verified and "no signature" in plain.check.why_en


# --- what an unverified file may still do ----------------------------------------------------------------------


def test_reserve_from_an_unsigned_file_needs_accept_unsigned_and_is_journaled(
    run: Any, tmp_path: Path, blueprint_dir: Path
) -> None:
    ledger_with(run, tmp_path, blueprint_dir, "PADDY")
    paddy = unsigned(reviewed(run, tmp_path, blueprint_dir, "PADDY", PADDY))
    refused = one_line(run("quota", "reserve", paddy, "--year", "2026", code=2).stderr)
    assert "PADDY.json could not be verified as written by lantu: it carries no signature" in refused
    assert "--accept-unsigned" in refused and "未经 lantu 签名核验" in refused and "重新审查" in refused
    assert {j["kind"] for j in journal(run)} == {"issue"}
    accepted = run("quota", "reserve", paddy, "--year", "2026", "--accept-unsigned")
    assert "accepted with --accept-unsigned" in one_line(accepted.stderr)
    (reserve,) = {j["transaction"]: j for j in journal(run) if j["kind"] == "reserve"}.values()
    assert reserve["reason"].startswith(
        "项目用地指标配置（经 --accept-unsigned 接受未经签名核验的审查结果文件：文件无 lantu 签名"
    )


def test_reserve_from_a_file_signed_here_needs_no_flag(run: Any, tmp_path: Path, blueprint_dir: Path) -> None:
    ledger_with(run, tmp_path, blueprint_dir, "PADDY")
    paddy = reviewed(run, tmp_path, blueprint_dir, "PADDY", PADDY)
    done = run("quota", "reserve", paddy, "--year", "2026")
    assert "warning" not in done.stderr
    assert {j["reason"] for j in journal(run) if j["kind"] == "reserve"} == {"项目用地指标配置"}  # a row per posting


def test_allocate_from_an_unverified_review_needs_accept_unsigned(
    run: Any, tmp_path: Path, blueprint_dir: Path, live: ReviewResult
) -> None:
    ledger_with(run, tmp_path, blueprint_dir, "PADDY")
    paddy = reviewed(run, tmp_path, blueprint_dir, "PADDY", PADDY)
    write_review(ReviewResult.model_validate_json(paddy.read_bytes()), tmp_path / "elsewhere.json", ANOTHER)
    demands = tmp_path / "demands.yaml"
    demands.write_text("- project_id: PADDY\n  review: elsewhere.json\n", encoding="utf-8")
    refused = one_line(run("quota", "allocate", demands, "--year", "2026", code=2).stderr)
    assert "demands.yaml line 1 (review elsewhere.json) could not be verified" in refused and "another" in refused
    rows = json.loads(run("quota", "allocate", demands, "--year", "2026", "-f", "json", "--accept-unsigned").stdout)
    assert [r["covered"] for r in rows] == [True]
    demands.write_text("- project_id: PADDY\n  review: PADDY.json\n", encoding="utf-8")  # signed here: no flag
    run("quota", "allocate", demands, "--year", "2026", "-f", "json")


def pdf_text(data: bytes) -> str:
    return one_line(" ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages))


def test_papers_of_an_unverified_file_carry_the_mark_on_every_paper(
    tmp_path: Path, live: ReviewResult, signing_key: SigningKey
) -> None:
    signed = write_review(live, tmp_path / "signed.json", signing_key)
    for source in (write_review(live, tmp_path / "plain.json", None), write_review(live, tmp_path / "o.json", ANOTHER)):
        opinion = runner.invoke(app, ["papers", str(source), "-f", "opinion"])
        assert opinion.exit_code == 0, opinion.output
        assert opinion.stdout.startswith(f"> {UNVERIFIED_MARK}\n\n# 建设项目用地落地可行性审查意见")
        assert f"{source.name} 未经 lantu 签名核验" in opinion.stderr and "every page" in one_line(opinion.stderr)
        html = runner.invoke(app, ["papers", str(source), "-f", "html"]).stdout
        assert f'<p class="mark">{UNVERIFIED_MARK}</p>' in html
        for fmt in ("pdf", "docx"):
            out = tmp_path / f"{source.stem}.{fmt}"
            assert runner.invoke(app, ["papers", str(source), "-f", fmt, "-o", str(out)]).exit_code == 0
        pages = pypdf.PdfReader(io.BytesIO((tmp_path / f"{source.stem}.pdf").read_bytes())).pages
        assert all("未经 lantu 签名核验" in one_line(p.extract_text()) for p in pages)  # the running head
        assert "could not be verified as written by lantu" in pdf_text((tmp_path / f"{source.stem}.pdf").read_bytes())
        word = docx.Document(str(tmp_path / f"{source.stem}.docx"))
        assert word.sections[0].header.paragraphs[0].text == UNVERIFIED_MARK
    clean = runner.invoke(app, ["papers", str(signed), "-f", "opinion"])
    assert clean.exit_code == 0 and UNVERIFIED_MARK not in clean.stdout and "warning" not in clean.stderr
    assert "未经" not in runner.invoke(app, ["papers", str(signed), "-f", "html"]).stdout


def test_a_consultation_from_an_unverified_file_needs_accept_unsigned_and_notes_it(
    run: Any, tmp_path: Path, blueprint_dir: Path, lantu_state: Path
) -> None:
    """As ``quota reserve``: an unverified file is refused unless ``--accept-unsigned``; accepted, the round's
    stored review carries the fact in its warnings."""
    run("quota", "init", "--blueprint", blueprint_dir)
    run(
        *("projects", "add", "XM-1", "--name", "项目", "--type", "industrial"),
        *("--level", "市重点", "--county", "370811", "--stage", "谋划"),
    )
    paddy = unsigned(reviewed(run, tmp_path, blueprint_dir, "PADDY", PADDY))
    refused = one_line(run("consult", "start", "XM-1", paddy, code=2).stderr)
    assert "PADDY.json could not be verified as written by lantu: it carries no signature" in refused
    assert "start the consultation with --accept-unsigned" in refused and "加 --accept-unsigned 发起会商" in refused
    started = run("consult", "start", "XM-1", paddy, "--accept-unsigned")
    assert "PADDY.json 未经 lantu 签名核验" in started.stderr and "accepted with --accept-unsigned" in one_line(
        started.stderr
    )
    assert re.search(r"\d+ task\(s\)", started.stderr)
    with sqlite3.connect(lantu_state / "lantu.db") as db:
        (stored,) = db.execute("select review_json from consult_rounds").fetchall()
    (line,) = [w for w in json.loads(stored[0])["warnings"] if "--accept-unsigned" in w]
    assert line.startswith("本审查结果文件未经 lantu 签名核验（文件无 lantu 签名")
    assert "This review file could not be verified as written by lantu (it carries no signature" in line


def test_lantu_signing_key_signs_under_the_command(
    run: Any, tmp_path: Path, blueprint_dir: Path, lantu_state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``LANTU_SIGNING_KEY`` reaches ``lantu review`` (the host's secret wins over the key file, which is not made);
    one too short is said, and the result written unsigned (as with any key that cannot be used)."""
    monkeypatch.setenv("LANTU_SIGNING_KEY", "k" * 40)
    written = reviewed(run, tmp_path, blueprint_dir, "PADDY", PADDY)
    assert json.loads(written.read_bytes())["signature"]["key_id"] == hashlib.sha256(b"k" * 40).hexdigest()[:16]
    assert read_signed_review(written, key=SigningKey.from_secret("k" * 40)).verified
    assert not (lantu_state / KEY_FILE).exists()
    monkeypatch.setenv("LANTU_SIGNING_KEY", "short")
    parcels = tmp_path / "PADDY.geojson"
    done = runner.invoke(app, ["review", str(parcels), "-b", str(blueprint_dir), "-o", str(tmp_path / "s.json")])
    assert done.exit_code == 0 and "fewer than 16" in one_line(done.output)
    assert "signature" not in json.loads((tmp_path / "s.json").read_bytes())


# --- the service's download ------------------------------------------------------------------------------------


@pytest.fixture
def client(settings: Settings, keys: dict[str, str]) -> Iterator[TestClient]:
    """The service over the rectangle blueprint, its key file the ``lantu`` command's (``lantu_state``)."""
    with TestClient(create_app(settings)) as c:
        yield c


def served(client: TestClient, keys: dict[str, str], name: str, box: tuple[float, ...]) -> str:
    """The id of the review a planner asks the service for, of one parcel ``name``."""
    parcels = json.loads(parcel_frame(rect(*box), id=name).to_crs(4490).to_json(drop_id=True))
    made = client.post("/api/v1/reviews", json=parcels, headers=auth(keys))
    assert made.status_code == 201, made.text
    return str(made.json()["review_id"])


def last_digit_changed(raw: bytes) -> bytes:
    """``raw`` with one byte changed, the JSON still valid: the last digit of the first parcel's area."""
    return flipped(raw, raw.index(b",", raw.index(b'"area_m2": ')) - 1)


def test_the_services_download_is_the_signed_file_and_reserves_without_a_flag(
    client: TestClient, keys: dict[str, str], run: Any, tmp_path: Path, blueprint_dir: Path, signing_key: SigningKey
) -> None:
    """A planner downloads the review from the service and reserves with the CLI: the file is signed under the same
    key, byte for byte what ``lantu review -o`` writes of that result, and needs no ``--accept-unsigned``; a byte
    changed in it is refused, flag or not. The API's JSON stays unsigned (DESIGN.md)."""
    ledger_with(run, tmp_path, blueprint_dir, "PADDY")
    review_id = served(client, keys, "PADDY", PADDY)
    plain = client.get(f"/api/v1/reviews/{review_id}", headers=auth(keys))
    assert "signature" not in plain.json()
    got = client.get(f"/api/v1/reviews/{review_id}/result.json", headers=auth(keys))
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/json"
    assert got.headers["content-disposition"] == f'attachment; filename="review-{review_id}.json"'
    body = json.loads(got.content)
    assert list(body)[-1] == "signature" and body["signature"]["key_id"] == signing_key.key_id
    assert {k: v for k, v in body.items() if k != "signature"} == plain.json()
    result = ReviewResult.model_validate(plain.json())
    assert got.content == write_review(result, tmp_path / "cli.json", signing_key).read_bytes()
    downloaded = tmp_path / f"review-{review_id}.json"
    downloaded.write_bytes(got.content)
    signed = read_signed_review(downloaded, key=signing_key)
    assert signed.verified and signed.result == result
    run("quota", "reserve", downloaded, "--year", "2026")
    assert {j["reason"] for j in journal(run) if j["kind"] == "reserve"} == {"项目用地指标配置"}
    saved = tmp_path / "saved.json"  # the API's JSON saved as a file: unverified, as before
    saved.write_bytes(plain.content)
    assert not read_signed_review(saved, key=signing_key).verified
    changed = tmp_path / "changed.json"
    changed.write_bytes(last_digit_changed(got.content))
    assert json.loads(changed.read_bytes())["parcels"] != body["parcels"]
    with pytest.raises(FormatError, match="changed after lantu wrote it"):
        read_signed_review(changed, key=signing_key)
    said = run("quota", "reserve", changed, "--year", "2026", "--accept-unsigned", code=2).stderr
    assert "changed after lantu wrote it" in one_line(said) and "被改动" in said
    schema = client.get("/openapi.json").json()["paths"]["/api/v1/reviews/{review_id}/result.json"]["get"]
    assert schema["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ReviewResult"
    }
    other = client.get(f"/api/v1/reviews/{review_id}/result.json", headers=auth(keys, "project-system"))
    assert_problem(other, 403)  # the planner's own review, as its API JSON


def test_the_service_signs_with_the_hosts_secret_and_makes_no_key_file(
    settings: Settings, keys: dict[str, str], tmp_path: Path, lantu_state: Path
) -> None:
    """``LANTU_SIGNING_KEY`` signs the service's downloads as it signs ``lantu review``'s files: every installation
    given it verifies them."""
    given = settings.model_copy(update={"signing_key": SecretStr("s" * 32)})
    with TestClient(create_app(given)) as client:
        review_id = served(client, keys, "PADDY", PADDY)
        got = client.get(f"/api/v1/reviews/{review_id}/result.json", headers=auth(keys))
    shared = SigningKey.from_secret("s" * 32)
    assert json.loads(got.content)["signature"]["key_id"] == shared.key_id
    (tmp_path / "r.json").write_bytes(got.content)
    assert read_signed_review(tmp_path / "r.json", key=shared).verified
    assert not (lantu_state / KEY_FILE).exists()
    (tmp_path / "c.json").write_bytes(last_digit_changed(got.content))
    with pytest.raises(FormatError, match="changed after lantu wrote it"):
        read_signed_review(tmp_path / "c.json", key=shared)


def test_without_a_usable_key_the_download_is_unsigned_and_logged(
    client: TestClient, keys: dict[str, str], lantu_state: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """As ``lantu review`` writes its result unsigned with a warning when its key cannot be used."""
    (lantu_state / KEY_FILE).write_bytes(b"not a key")
    (lantu_state / KEY_FILE).chmod(0o600)
    review_id = served(client, keys, "PADDY", PADDY)
    with caplog.at_level(logging.WARNING, logger="api.routes.reviews"):
        got = client.get(f"/api/v1/reviews/{review_id}/result.json", headers=auth(keys))
    assert got.status_code == 200, got.text
    assert json.loads(got.content) == client.get(f"/api/v1/reviews/{review_id}", headers=auth(keys)).json()
    (said,) = [r.getMessage() for r in caplog.records if "served unsigned" in r.getMessage()]
    assert f"the signing key file {lantu_state / KEY_FILE} is not a lantu signing key (32 bytes)" in said
