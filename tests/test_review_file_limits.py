"""A review result file a hostile user made (``geo.io.quota.read_signed_review``) and signing keys that cannot be
used (``geo.signing``): refused with a reason that names the problem, never a crash or gigabytes of memory.

Every key here lives in the test's own folders (``lantu_state``, ``tmp_path``)."""

from __future__ import annotations

import codecs
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from support import parcel_frame, rect, write_review
from typer.testing import CliRunner

from api.cli import app
from geo.errors import FormatError, InputError
from geo.io.quota import read_signed_review
from geo.review import ReviewResult, review
from geo.review.result import ItemResult
from geo.signing import KEY_FILE, SigningKey, load_key_file

runner = CliRunner()
PADDY = (2.2, 0.2, 2.4, 0.4)


@pytest.fixture
def live(blueprint: Any) -> ReviewResult:
    frame = parcel_frame(rect(1.2, 1.2, 1.6, 1.6), project_type="industrial")
    frame["id"] = ["A"]
    return review(frame, blueprint)


def one_line(text: str) -> str:
    return " ".join(text.split())


# --- the file -----------------------------------------------------------------------------------------------------


def test_facts_kept_among_the_details_by_an_older_result_are_lifted_out() -> None:
    item = {
        "code": "basic_farmland",
        "name_zh": "永久基本农田",
        "name_en": "permanent basic farmland",
        "status": "pass",
        "overlap_m2": 0.0,
        "overlap_ratio": 0.0,
        "message_zh": "未涉及",
        "message_en": "none",
    }
    piece = {"layer": "basic_farmland", "layer_name_zh": "永久基本农田", "status": "pass", "area_m2": 1, "area_mu": 0}
    older = ItemResult.model_validate({**item, "details": [piece, {"facts": {"outside_m2": 5.0}}]})
    assert older.facts.outside_m2 == 5.0 and [d.layer for d in older.details] == ["basic_farmland"]
    # details that are no list: the schema's error (a 4xx where a file is read), not a crash in the reader
    with pytest.raises(ValidationError, match="details"):
        ItemResult.model_validate({**item, "details": {"facts": {"outside_m2": 5.0}}})


def _refused_in_a_child(path: Path) -> tuple[str, int]:
    """The reader's refusal of ``path`` in a child process, and its peak resident memory over what the import took
    (MiB)."""
    child = (
        "import resource, sys\n"
        "from geo.io.quota import read_signed_review\n"
        "from geo.errors import FormatError\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n"
        "    read_signed_review(sys.argv[1], key=None)\n"
        "except FormatError as exc:\n"
        "    print(exc)\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n"  # KiB on Linux → MiB
    )
    done = subprocess.run([sys.executable, "-c", child, str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    message, grown = done.stdout.splitlines()
    return message, int(grown)


def test_400000_empty_parcels_are_refused_at_the_first_without_gigabytes(tmp_path: Path) -> None:
    """1.2 MB of ``{}`` parcels took 2.4 GB (pydantic collected every error of every parcel); the reader now stops
    at the first invalid parcel. Measured in a child process: its peak resident memory over what the import took."""
    bomb = tmp_path / "bomb.json"
    bomb.write_text('{"parcels":[' + ",".join(["{}"] * 400_000) + "]}", encoding="utf-8")
    message, grown = _refused_in_a_child(bomb)
    assert message.startswith("bomb.json is not a lantu review result (JSON): review_id: Field required")
    assert grown < 150, f"{grown} MiB"


def test_400000_bad_items_in_one_parcel_are_refused_without_gigabytes(tmp_path: Path, live: ReviewResult) -> None:
    """One parcel carrying 400,000 ``{}`` items (and as many warnings) took 3 GB: every list of the result stops
    at its first bad entry (``FailFast``)."""
    body = json.loads(write_review(live, tmp_path / "r.json", None).read_bytes())
    body["parcels"][0]["items"] = [{}] * 400_000
    body["warnings"] = [0] * 400_000
    bomb = tmp_path / "items.json"
    bomb.write_text(json.dumps(body), encoding="utf-8")
    message, grown = _refused_in_a_child(bomb)
    assert message.startswith("items.json is not a lantu review result (JSON): ")
    assert grown < 150, f"{grown} MiB"


def _facts(body: dict[str, Any]) -> dict[str, Any]:
    facts: dict[str, Any] = body["parcels"][0]["items"][0]["facts"]
    return facts


@pytest.mark.parametrize(
    ("bomb", "said"),
    [
        (lambda b: _facts(b).update(conditions=[{}] * 400_000), "facts.conditions.0.code: Field required"),
        (lambda b: _facts(b).update(allowed_zones=[[]] * 400_000), "facts.allowed_zones.0: Input should be"),
        (lambda b: b["tolerance"].update(strict=[0] * 400_000), "tolerance.strict.0: Input should be"),
        (lambda b: _facts(b).update(by_class_m2={f"k{n}": [] for n in range(400_000)}), "400,000 entries, at most"),
        (
            lambda b: b["parcels"][0]["items"][0]["details"].append(
                {"layer": "x", "attributes": {f"k{n}": [1] for n in range(200_000)}}
            ),
            "details.0.attributes: 200,000 entries, at most 1,000",
        ),
    ],
    ids=["conditions", "allowed_zones", "strict", "by_class_m2", "attributes"],
)
def test_a_list_or_map_of_bad_entries_inside_an_item_is_refused_without_gigabytes(
    tmp_path: Path, live: ReviewResult, bomb: Any, said: str
) -> None:
    """Each list of the result model stops at its first bad entry, and a map (a piece's attributes, an item's area
    per class) longer than any layer has columns or 三调 classes is refused before pydantic reads it: a 4 MB file of
    1,000,000 empty conditions took 2.4 GB, 200,000 attributes of [1] 1.45 GB."""
    body = json.loads(write_review(live, tmp_path / "r.json", None).read_bytes())
    body["parcels"][0]["items"][0]["details"] = []
    bomb(body)
    path = tmp_path / "bomb.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    message, grown = _refused_in_a_child(path)
    assert message.startswith("bomb.json is not a lantu review result (JSON): ") and said in message
    assert grown < 150, f"{grown} MiB"


def test_the_first_invalid_parcel_is_named_by_its_position(tmp_path: Path, live: ReviewResult) -> None:
    body = json.loads(write_review(live, tmp_path / "r.json", None).read_bytes())
    good = body["parcels"][0]
    body["parcels"] = [good, good | {"verdict": "fine"}, *[{}] * 1000]
    (tmp_path / "bad.json").write_text(json.dumps(body), encoding="utf-8")
    with pytest.raises(FormatError) as raised:
        read_signed_review(tmp_path / "bad.json", key=None)
    assert raised.value.message_en.startswith("bad.json is not a lantu review result (JSON): parcel 2: verdict: ")
    assert raised.value.message_zh.startswith("bad.json 不是审查结果 JSON：第 2 个地块：verdict: ")
    body["parcels"] = "none"
    (tmp_path / "bad.json").write_text(json.dumps(body), encoding="utf-8")
    with pytest.raises(FormatError, match=r"JSON\): parcels: Input should be a valid list"):
        read_signed_review(tmp_path / "bad.json", key=None)


def test_a_field_name_of_the_file_is_quoted_on_one_line_and_short(tmp_path: Path, live: ReviewResult) -> None:
    body = json.loads(write_review(live, tmp_path / "r.json", None).read_bytes())
    body["parcels"][0]["items"][0]["facts"] = {"x\n" * 500: 1}  # ItemFacts forbids fields it does not know
    (tmp_path / "bad.json").write_text(json.dumps(body), encoding="utf-8")
    with pytest.raises(FormatError) as raised:
        read_signed_review(tmp_path / "bad.json", key=None)
    assert "\n" not in raised.value.message_en and len(raised.value.message_en) < 300


def test_facts_of_100000_made_up_keys_are_refused_in_one_error(tmp_path: Path, live: ReviewResult) -> None:
    """``extra="forbid"`` made one error per unknown key: 100,000 keys, 100,000 errors, each quoted in the message."""
    body = json.loads(write_review(live, tmp_path / "r.json", None).read_bytes())
    body["parcels"][0]["items"][0]["facts"] = {"paddy_m2": 1.0} | {f"k{n}": n for n in range(100_000)}
    (tmp_path / "bad.json").write_text(json.dumps(body), encoding="utf-8")
    with pytest.raises(FormatError) as raised:
        read_signed_review(tmp_path / "bad.json", key=None)
    assert "100000 unknown field(s): 'k0', 'k1', 'k2', 'k3', 'k4', …" in raised.value.message_en
    assert "100000 个未知字段" in raised.value.message_zh
    assert len(raised.value.message_en) < 400


def test_a_bom_is_read_past_and_a_signed_file_given_one_is_changed(
    tmp_path: Path, live: ReviewResult, signing_key: SigningKey
) -> None:
    """Notepad saves UTF-8 with a BOM: an unsigned file so saved is read (unverified, as without it); a signed one
    so saved is no longer the bytes lantu signed: refused as changed."""
    plain = write_review(live, tmp_path / "plain.json", None)
    plain.write_bytes(codecs.BOM_UTF8 + plain.read_bytes())
    read = read_signed_review(plain, key=signing_key)
    assert not read.verified and "no signature" in read.check.why_en
    assert read.result == ReviewResult.model_validate_json(plain.read_bytes()[3:])
    signed = write_review(live, tmp_path / "signed.json", signing_key)
    assert read_signed_review(signed, key=signing_key).verified
    signed.write_bytes(codecs.BOM_UTF8 + signed.read_bytes())
    with pytest.raises(FormatError, match="changed after lantu wrote it"):
        read_signed_review(signed, key=signing_key)


# --- the key ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "said"),
    [("abcdefghijklmno\udcff\udcfe", "not text"), (" " * 16, "blank"), ("\t \u3000" * 8, "blank")],
)
def test_a_secret_not_text_or_blank_is_refused(secret: str, said: str) -> None:
    """A byte that is not UTF-8 in LANTU_SIGNING_KEY reaches Python as a lone surrogate: ``encode`` crashed."""
    with pytest.raises(InputError, match=said) as raised:
        SigningKey.from_secret(secret)
    assert "LANTU_SIGNING_KEY" in raised.value.message_zh


def test_review_with_a_secret_not_text_writes_unsigned_and_papers_reads(
    tmp_path: Path, blueprint_dir: Path, lantu_state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANTU_SIGNING_KEY", "abcdefghijklmno\udcff\udcfe")
    parcels = tmp_path / "p.geojson"
    parcel_frame(rect(*PADDY), id="P").to_crs(4490).to_file(parcels, driver="GeoJSON")
    out = tmp_path / "p.json"
    done = runner.invoke(app, ["review", str(parcels), "-b", str(blueprint_dir), "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert "not text" in one_line(done.stderr) and "written unsigned" in one_line(done.stderr)
    assert "signature" not in json.loads(out.read_bytes())
    papers = runner.invoke(app, ["papers", str(out), "-f", "opinion"])
    assert papers.exit_code == 0, papers.output
    assert "not text" in one_line(papers.stderr)


def test_a_key_file_linked_to_nothing_is_said_by_its_path(
    tmp_path: Path, blueprint_dir: Path, lantu_state: Path, live: ReviewResult
) -> None:
    """A dangling link as the key file: writing said "no home folder", reading "no signing key"."""
    link = lantu_state / KEY_FILE
    link.symlink_to(tmp_path / "nowhere" / "x")
    for create in (True, False):
        with pytest.raises(InputError, match=r"is a link to .*nowhere/x, which does not exist"):
            load_key_file(link, create=create)
    assert not (tmp_path / "nowhere").exists()  # nothing made through the link
    parcels = tmp_path / "p.geojson"
    parcel_frame(rect(*PADDY), id="P").to_crs(4490).to_file(parcels, driver="GeoJSON")
    out = tmp_path / "p.json"
    done = runner.invoke(app, ["review", str(parcels), "-b", str(blueprint_dir), "-o", str(out)])
    assert done.exit_code == 0, done.output
    said = one_line(done.stderr)
    assert f"{link} is a link to" in said and "written unsigned" in said and "no home folder" not in said
    other = write_review(live, tmp_path / "other.json", SigningKey(b"\x07" * 32, "another installation"))
    papers = runner.invoke(app, ["papers", str(other), "-f", "opinion"])
    assert papers.exit_code == 0, papers.output
    assert f"{link} is a link to" in one_line(papers.stderr)
