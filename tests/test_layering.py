"""geo stands alone: it never imports the web layer, reads no environment, and reviews without FastAPI."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import geo

GEO = Path(geo.__file__).parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return names | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}


def test_geo_never_imports_the_web_layer() -> None:
    web = ("api", "fastapi", "starlette", "uvicorn", "pydantic_settings")
    offenders = {
        str(path.relative_to(GEO)): sorted(n for n in _imports(path) if n.split(".")[0] in web)
        for path in GEO.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def _reads_environment(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
            return True
        if isinstance(node, ast.Name) and node.id in ("environ", "getenv"):
            return True
        if isinstance(node, ast.keyword) and node.arg == "envvar":  # click/typer options bound to variables
            return True
    return False


def test_geo_reads_no_environment() -> None:
    assert [str(p.relative_to(GEO)) for p in GEO.rglob("*.py") if _reads_environment(p)] == []


def test_review_runs_without_fastapi(blueprint_dir: Path, tmp_path: Path) -> None:
    script = f"""
import json, sys
import geopandas as gpd, shapely
import geo
bp = geo.load_blueprint({str(blueprint_dir)!r})
parcel = shapely.box(465200, 3919200, 465600, 3919600)
frame = gpd.GeoDataFrame({{"id": ["A"], "project_type": ["residential"]}}, geometry=[parcel], crs=4548)
result = geo.review(frame, bp)
web = sorted(m for m in sys.modules if m.split(".")[0] in ("fastapi", "starlette", "uvicorn", "api"))
print(json.dumps({{"verdict": result.parcels[0].verdict, "web": web}}))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANTU_")}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120, check=True
    )
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out == {"verdict": "pass", "web": []}
