"""The files a city hands over, opened as layers: File Geodatabases, shapefiles (loose, in a
folder or zipped), GeoPackages, GeoJSON, and a slope GeoTIFF.

Shapefiles are the hard part: departments send GBK attribute tables without a ``.cpg``.
The encoding is the ``.cpg``'s when there is one, else it is detected from the ``.dbf``
bytes: each text field must decode as UTF-8, or else as GBK; a field that decodes as
neither is an error naming it. The encoding used, and how it was found, is reported.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from geo.errors import FormatError, InputError
from geo.io.archive import archiver_extra
from geo.io.content import check_content
from geo.io.dbf import CPG_BYTES, Dbf, check_declared, cpg_codec, cpg_name, sidecar, text_values
from geo.io.encoding import UNDECLARED_CODECS, decodes, undeclared_codec

VECTOR_SUFFIXES = {".shp", ".gpkg", ".geojson", ".json", ".fgb"}
RASTER_SUFFIXES = {".tif", ".tiff"}


@dataclass(frozen=True)
class SourceLayer:
    """One layer of a source: where GDAL opens it, its name, and the dataset it belongs to."""

    dataset: Path  # the file or folder the user gave (or found in a folder): hashed, named in messages
    gdal_path: str  # what pyogrio/rasterio open (a /vsizip/ path inside a zip)
    layer: str | None  # the layer inside a multi-layer dataset (None: the file's only layer)
    name: str  # the layer's name, the one a preset recognises
    kind: str  # "vector" or "raster"
    encoding: str | None = None  # shapefiles: the codec to read the .dbf with
    encoding_how: str | None = None  # ".cpg", "detected", "format"

    @property
    def where(self) -> str:
        return f"{self.dataset}" + (f" layer {self.layer!r}" if self.layer and self.layer != self.dataset.stem else "")

    def dbf(self) -> Dbf | None:
        """A shapefile's .dbf, refused where it is cut short (``Dbf``); None for every other format."""
        if not self.gdal_path.lower().endswith(".shp"):
            return None
        inside = f"/vsizip/{self.dataset}/"
        if self.gdal_path.startswith(inside):
            return Dbf.in_zip(self.dataset, self.gdal_path[len(inside) :], self.where)
        return Dbf.beside(Path(self.gdal_path), self.where)


def _listed(gdal_path: str, shown: Path) -> Any:
    """The layers GDAL finds in a dataset, or the format error naming it: a folder named x.gdb that is no
    geodatabase ended the build with a traceback."""
    import pyogrio

    try:
        return pyogrio.list_layers(gdal_path)
    except pyogrio.errors.DataSourceError as exc:
        raise FormatError(
            f"{shown}: cannot be opened as a dataset ({exc})",
            f"{shown} 无法打开：不是可读的数据源（文件损坏或格式不符）",
        ) from exc


def source_layers(path: Path) -> list[SourceLayer]:
    """Every layer of ``path`` (a file, a .gdb folder, a folder of files, or a .zip)."""

    if not path.exists():
        raise InputError(f"source {path} does not exist", f"数据源 {path} 不存在")
    suffix = path.suffix.lower()
    if path.is_dir() and suffix == ".gdb":
        return [
            SourceLayer(path, str(path), str(name), str(name), "vector", "utf-8", "format")
            for name, _ in _listed(str(path), path)
        ]
    if path.is_dir():
        layers = _folder_layers(path)
        if not layers:
            raise InputError(
                f"folder {path} holds no .gdb, shapefile, GeoPackage, GeoJSON or GeoTIFF",
                f"目录 {path} 中没有可读的数据",
            )
        return layers
    if suffix == ".zip":
        return _zip_layers(path)
    if suffix in RASTER_SUFFIXES:
        return [SourceLayer(path, str(path), None, path.stem, "raster")]
    if suffix == ".shp":
        encoding, how = shapefile_encoding(path)
        return [SourceLayer(path, str(path), None, path.stem, "vector", encoding, how)]
    if suffix in VECTOR_SUFFIXES:  # GDAL goes by the content: a GeoParquet named .gpkg gave its driver's words
        check_content(path, suffix=suffix, shown=str(path), readable=sorted(VECTOR_SUFFIXES | RASTER_SUFFIXES))
        listed = _listed(str(path), path)
        single = len(listed) == 1 and suffix != ".gpkg"
        return [
            SourceLayer(
                path,
                str(path),
                None if single else str(n),
                path.stem if single else str(n),
                "vector",
                "utf-8",
                "format",
            )
            for n, _ in listed
        ]
    raise FormatError(
        f"{path}: not a source lantu reads (.gdb folder, .shp, .zip, .gpkg, .geojson, .fgb, .tif)",
        f"{path} 不是可读的数据源（.gdb 目录、.shp、.zip、.gpkg、.geojson、.fgb、.tif）",
    )


def _folder_layers(folder: Path) -> list[SourceLayer]:
    """Every source in a folder and its sub-folders (a department's folder of shapefiles)."""
    layers: list[SourceLayer] = []
    for p in sorted(folder.iterdir()):
        suffix = p.suffix.lower()
        if p.is_dir():
            layers += source_layers(p) if suffix == ".gdb" else _folder_layers(p)
        elif suffix in VECTOR_SUFFIXES or suffix in RASTER_SUFFIXES or suffix == ".zip":
            layers += source_layers(p)
    return layers


def _zip_layers(path: Path) -> list[SourceLayer]:
    """Shapefiles and File Geodatabases inside a zip, read in place through GDAL's /vsizip/."""

    try:
        with zipfile.ZipFile(path) as z:
            members = z.namelist()
            layers: list[SourceLayer] = []
            for member in members:
                if member.lower().endswith(".shp") and not archiver_extra(member):  # not Finder's __MACOSX/._x.shp
                    encoding, how = _zip_shapefile_encoding(z, member, path)
                    gdal = f"/vsizip/{path}/{member}"
                    layers.append(SourceLayer(path, gdal, None, PurePosixPath(member).stem, "vector", encoding, how))
            gdbs = sorted({m[: m.lower().index(".gdb/") + 4] for m in members if ".gdb/" in m.lower()})
    except zipfile.BadZipFile as exc:
        raise FormatError(f"{path}: not a readable zip archive", f"{path} 不是有效的 zip 压缩包") from exc
    for gdb in gdbs:
        gdal = f"/vsizip/{path}/{gdb}"
        layers += [
            SourceLayer(path, gdal, str(n), str(n), "vector", "utf-8", "format") for n, _ in _listed(gdal, path / gdb)
        ]
    if not layers:
        raise FormatError(f"{path}: the zip holds no shapefile or .gdb", f"{path} 压缩包中没有 shapefile 或 .gdb")
    return layers


def shapefile_encoding(shp: Path) -> tuple[str, str]:
    """(codec, how) for a shapefile on disk: from its .cpg, else detected in its .dbf."""
    names = [p.name for p in shp.parent.iterdir()]
    cpg = sidecar(names, shp.name, ".cpg")
    dbf = sidecar(names, shp.name, ".dbf")
    if dbf is None:
        raise FormatError(f"{shp}: no .dbf beside it", f"{shp} 缺少 .dbf 文件")
    with (shp.parent / dbf).open("rb") as f:
        if cpg is not None:
            with (shp.parent / cpg).open("rb") as named:
                return _declared(f, cpg_name(named.read(CPG_BYTES), str(shp)), shp), ".cpg"
        return detect_dbf_encoding(f, shp), "detected"


def _zip_shapefile_encoding(z: zipfile.ZipFile, member: str, path: Path) -> tuple[str, str]:
    names = z.namelist()
    where = path / member
    dbf = sidecar(names, member, ".dbf")
    if dbf is None:
        raise FormatError(f"{where}: no .dbf beside it", f"{where} 缺少 .dbf 文件")
    with z.open(dbf) as f:
        if (cpg := sidecar(names, member, ".cpg")) is not None:
            with z.open(cpg) as named:
                return _declared(f, cpg_name(named.read(CPG_BYTES), str(where)), where), ".cpg"
        return detect_dbf_encoding(f, where), "detected"


def _declared(dbf: IO[bytes], cpg: str, where: Path) -> str:
    """The codec a .cpg names (``cpg``), refused where the .dbf's text is not in it (``check_declared``)."""
    codec = _cpg_codec(cpg, where)
    check_declared(dbf, codec, cpg.strip(), str(where))
    return codec


def _cpg_codec(text: str, where: Path) -> str:
    codec = cpg_codec(text)
    if codec is None:
        raise InputError(
            f"{where}: the .cpg names an unknown encoding {text.strip()!r}",
            f"{where}：.cpg 声明了未知编码 {text.strip()!r}",
        )
    return codec


def detect_dbf_encoding(f: IO[bytes], where: Path) -> str:
    """The encoding of a .dbf no .cpg declares (``geo.io.encoding.undeclared_codec``: UTF-8 when every field name
    and text value decodes as UTF-8, else GB18030, GBK's superset, when all do); otherwise refuse, naming the
    first field that is neither."""
    texts = text_values(f)
    codec = undeclared_codec(values for _, values in texts)
    if codec is not None:
        return codec
    # the first field in neither; where each is in one but not the same one, the first that is no UTF-8
    field = next((raw for raw, values in texts if not any(decodes(values, c) for c in UNDECLARED_CODECS)), None)
    field = field or next(raw for raw, values in texts if not decodes(values, UNDECLARED_CODECS[0]))
    shown = field.decode("gbk", "replace")
    raise InputError(
        f"{where}: field {shown!r}: text is neither UTF-8 nor GBK; add a .cpg naming its encoding",
        f"{where}：字段 {shown!r} 的文字既不是 UTF-8 也不是 GBK 编码；请补充 .cpg 文件声明编码",
    )


def dataset_sha256(path: Path) -> str:
    """SHA-256 of a source: a file's bytes; a shapefile with its sidecars; a folder (.gdb) file by file."""
    digest = hashlib.sha256()
    for name, member in _dataset_files(path):
        digest.update(name.encode("utf-8") + b"\0")
        with member.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _dataset_files(path: Path) -> Iterator[tuple[str, Path]]:
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file() and not p.name.endswith(".lock"):
                yield p.relative_to(path).as_posix(), p
    elif path.suffix.lower() == ".shp":
        for p in sorted(path.parent.glob(path.stem + ".*")):
            yield p.name, p
    else:
        yield path.name, path
