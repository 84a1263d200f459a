"""Every YAML loader (profile, opinion template, manifest, preset, department table) reads through
geo.resources.read_yaml_mapping and still raises its own error class with its own wording."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from geo.blueprint import read_manifest
from geo.build.presets import load_presets
from geo.consult import load_routing
from geo.errors import BlueprintError, InputError, LantuError, ProfileError
from geo.opinion import load_template
from geo.resources import read_yaml_mapping
from geo.review.profile import load_profile

BAD = {"not_yaml": "a: [1, 2\n", "a_list": "- a\n- b\n", "empty": "", "gbk": "name: 十项审查\n".encode("gbk")}
EXPECTED = {"not_yaml": ("YAML 格式错误", "not valid YAML"), "gbk": ("不是 UTF-8 编码的文本", "not UTF-8 text")}


def _write(folder: Path, relative: str, text: str | bytes) -> Path:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


LOADERS: dict[str, tuple[type[LantuError], str, Callable[[Path, str | bytes], object]]] = {
    "profile": (ProfileError, "审查方案", lambda d, t: load_profile(_write(d, "p.yaml", t))),
    "template": (
        ProfileError,
        "审查意见模板",
        lambda d, t: (_write(d, "opinions/mine.yaml", t), load_template("mine", d)),
    ),
    "manifest": (BlueprintError, "blueprint.yaml", lambda d, t: (_write(d, "blueprint.yaml", t), read_manifest(d))),
    "preset": (InputError, "预设", lambda d, t: load_presets([str(_write(d, "mine.yaml", t))])),
    "departments": (ProfileError, "部门路由表", lambda d, t: load_routing(_write(d, "departments.yaml", t))),
}


@pytest.mark.parametrize("case", sorted(BAD))
@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_each_loader_keeps_its_error(tmp_path: Path, loader: str, case: str) -> None:
    cls, zh_prefix, load = LOADERS[loader]
    load_template.cache_clear()
    with pytest.raises(cls) as info:
        load(tmp_path, BAD[case])
    assert zh_prefix in info.value.message_zh
    expected = EXPECTED.get(case, ("顶层应为映射", "mapping at top level"))  # a GBK file was a UnicodeDecodeError
    assert expected[0] in info.value.message_zh and expected[1] in info.value.message_en


def test_a_mapping_is_returned_as_read(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.yaml", "name: 十项\nitems: [1, 2]\n")
    assert read_yaml_mapping(path, lambda en, zh: ProfileError(en, zh)) == {"name": "十项", "items": [1, 2]}
