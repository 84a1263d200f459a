"""What a probe of the service's endpoints and the command line with odd inputs found: each is now refused in
words (a 4xx, exit 2) or read right, in English and Chinese, where it was a 500, a traceback or a wrong booking."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support import assert_problem, auth
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app
from api.settings import Settings
from geo.errors import FormatError
from geo.io import read_parcels

runner = CliRunner()

RING = " ".join(
    f"{x},{y},0" for x, y in [(116.6185, 35.3868), (116.6185, 35.3882), (116.6167, 35.3882), (116.6185, 35.3868)]
)


@pytest.fixture
def client(settings: Settings, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def _kml(encoding: str, name: str = "地块甲") -> bytes:
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"<Placemark><name>{name}</name><Polygon><outerBoundaryIs><LinearRing><coordinates>{RING}</coordinates>"
        "</LinearRing></outerBoundaryIs></Polygon></Placemark></Document></kml>"
    )
    return text.encode(encoding if encoding.lower() not in ("bogus",) else "utf-8")


@pytest.mark.parametrize(
    ("encoding", "name"), [("GBK", "地块甲"), ("GB2312", "地块甲"), ("bogus", "A"), ("windows-1252", "A")]
)
def test_a_kml_declaring_an_encoding_gdal_cannot_read_is_refused_naming_it(
    encoding: str, name: str, tmp_path: Path, client: TestClient, keys: dict[str, str], blueprint_dir: Path
) -> None:
    """A KML saved as GBK (encoding="GBK", as Chinese tools may write it) or naming a made-up encoding: expat
    raised a ValueError ("multi-byte encodings are not supported") or a LookupError, a 500 from the service and
    a traceback from `lantu review`; windows-1252 was "not a readable kml file", saying nothing of why."""
    path = tmp_path / "gbk.kml"
    path.write_bytes(_kml(encoding, name))
    with pytest.raises(FormatError, match=rf"gbk\.kml: the file declares the encoding '{encoding}'") as caught:
        read_parcels(path)
    assert "UTF-8" in caught.value.message_en and f"文件声明的编码为 '{encoding}'" in caught.value.message_zh
    sent = client.post("/api/v1/reviews", files={"file": ("地块.kml", path.read_bytes())}, headers=auth(keys))
    assert f"地块.kml: the file declares the encoding '{encoding}'" in assert_problem(sent, 422)["message_en"]
    result = runner.invoke(app, ["review", str(path), "-b", str(blueprint_dir)])
    assert result.exit_code == 2 and "declares the encoding" in result.output and "Traceback" not in result.output


def test_a_kml_in_utf8_or_latin1_is_still_read(tmp_path: Path) -> None:
    for encoding, name in (("UTF-8", "地块甲"), ("ISO-8859-1", "Café")):
        path = tmp_path / f"{encoding}.kml"
        path.write_bytes(_kml(encoding, name))
        assert read_parcels(path)["name"].tolist() == [name]
