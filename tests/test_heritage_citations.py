"""Item 8 cites 《文物保护法》（2024年修订） by subject, not by article: each finding cites the rule its words rest
on. Both entries named the law alone, so every heritage finding cited both: a 保护范围 refusal the 埋藏区's 考古调查
(先考古、后出让), a 埋藏区 warning the 保护范围's ban and the 建设控制地带's consent (officer's read of demo D12,
D13 and D21)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import rect, rect_blueprint, review_item

from geo.blueprint import Blueprint, load_blueprint

LAYERS = {
    "county": [((0, 0, 4, 1), {"code": "370811", "name": "任城区"})],
    "land_use": [((0, 0, 4, 1), {"class_code": "0601"})],
    "heritage": [((0, 0, 1, 1), {"zone": "保护范围"}), ((1, 0, 2, 1), {"zone": "建设控制地带"})],
    "buried_heritage": [((2, 0, 4, 1), {})],
}


@pytest.fixture(scope="module")
def heritage(tmp_path_factory: pytest.TempPathFactory) -> Blueprint:
    return load_blueprint(rect_blueprint(tmp_path_factory.mktemp("heritage") / "bp", LAYERS, slope=None))


def _cited(blueprint: Blueprint, x: float) -> str:
    item = review_item(blueprint, rect(x, 0.2, x + 0.2, 0.4), "cultural_heritage", project_type="industrial")
    assert item.status != "pass", item
    return "；".join(item.basis)


def test_a_heritage_finding_cites_the_rule_its_words_rest_on(heritage: Blueprint, tmp_path: Path) -> None:
    protection = _cited(heritage, 0.2)
    assert "保护范围内建设工程的规定" in protection and "埋藏区" not in protection, protection
    assert "建设控制地带内建设工程" not in protection, protection
    control = _cited(heritage, 1.2)
    assert "建设控制地带内建设工程的规定" in control and "埋藏区" not in control, control
    assert "保护范围内建设工程" not in control, control
    buried = _cited(heritage, 2.2)
    assert "地下文物埋藏区考古调查、勘探的规定" in buried, buried
    assert "保护范围" not in buried and "建设控制地带" not in buried, buried
    # a parcel in a range and in a burial zone cites both rules; the city's 完善落地审查 every time
    both = _cited(heritage, 1.9)
    assert "建设控制地带内建设工程的规定" in both and "考古调查、勘探的规定" in both, both
    assert all("济政办字〔2020〕52号" in text for text in (protection, control, buried, both))
