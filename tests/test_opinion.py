"""The drafted 审查意见: paragraphs per verdict and item status, the city templates, Markdown, Word, CLI, API."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import docx
import pytest
import shapely
from fastapi.testclient import TestClient
from markdown_it import MarkdownIt
from support import auth, full_layers, parcel_frame, rect, rect_blueprint

from api.app import create_app
from api.settings import Settings
from geo.blueprint import Blueprint, load_blueprint
from geo.consult.drafting import consolidated_opinion
from geo.errors import ProfileError
from geo.opinion import Opinion, available_templates, md, opinion, opinion_docx, opinion_markdown, zh_number
from geo.papers import Issuer
from geo.report_model import (
    KEPT_SITE_LEAD,
    NOT_SET,
    STOCK_LAND,
    SYNTHETIC_MARK,
    UNVERIFIED_MARK,
    report_model,
    unverified_note,
)
from geo.review import ReviewResult, review
from geo.review.profile import load_profile
from geo.review.result import ItemFacts

# 1.2–1.6 km: inside the town, on 0701 住宅用地 → pass; 2.2–2.4: on 0101 水田 outside the urban boundary,
# an infrastructure project → conditional (规划 and 耕地 warn); 6.2–6.4 × 1.2–1.4: on the coal field → 压覆 warn;
# 2.9–3.1: on basic farmland → reject; 9.8–10.3: half outside the county layer, failing nothing → out_of_coverage.
PARCELS = {
    "PASS": (rect(1.2, 1.2, 1.6, 1.6), "residential", "住宅小区"),
    "COND": (rect(2.2, 0.2, 2.4, 0.4), "infrastructure", "变电站"),
    "MINE": (rect(6.2, 1.2, 6.4, 1.4), "infrastructure", "输变电工程"),
    "FAIL": (rect(2.9, 0.1, 3.1, 0.3), "industrial", "农机厂"),
    "OUT": (rect(9.8, 4.0, 10.3, 4.4), "infrastructure", "边界变电站"),
}


def reviewed(blueprint: Blueprint, ids: list[str] | None = None) -> ReviewResult:
    chosen = ids or list(PARCELS)
    frames = [
        parcel_frame(PARCELS[i][0], id=i, project_type=PARCELS[i][1], name=PARCELS[i][2], investment_wan=5000.0)
        for i in chosen
    ]
    import pandas as pd

    return review(pd.concat(frames, ignore_index=True), blueprint)


@pytest.fixture(scope="module")
def result(blueprint: Blueprint) -> ReviewResult:
    out = reviewed(blueprint)
    assert [p.verdict for p in out.parcels] == ["pass", "conditional", "conditional", "reject", "out_of_coverage"]
    return out


@pytest.fixture(scope="module")
def drafted(result: ReviewResult) -> Opinion:
    return opinion(result, issuer=Issuer(unit="济宁市自然资源和规划局", code="济自然资审"))


def test_zh_numbers() -> None:
    assert [zh_number(n) for n in (1, 9, 10, 12, 20, 23, 99, 100)] == [
        "一", "九", "十", "十二", "二十", "二十三", "九十九", "100"
    ]  # fmt: skip


def test_project_block_per_parcel(drafted: Opinion, result: ReviewResult) -> None:
    cond = {f.label: f.value for f in drafted.parcels[1].project}
    assert cond["项目名称"] == "变电站" and cond["项目类型"] == "基础设施项目"
    assert cond["用地位置"].startswith("任城区（行政区划代码 370811），中心点位于东经116.")
    centre = shapely.geometry.shape(result.parcels[1].geometry).centroid
    assert f"东经{centre.x:.5f}°、北纬{centre.y:.5f}°" in cond["用地位置"]
    assert cond["用地面积"] == "4.0000公顷（60.00亩，40,000.00平方米）"
    assert "第39带" in cond["坐标系统"] and "EPSG:4548" in cond["坐标系统"]
    assert drafted.parcels[1].heading == "二、变电站（地块编号：COND）"
    assert drafted.number.startswith("济自然资审〔") and drafted.draft


def test_one_paragraph_per_item_with_finding_areas_and_basis(drafted: Opinion, result: ReviewResult) -> None:
    for parcel, written in zip(result.parcels, drafted.parcels, strict=True):
        assert [f.code for f in written.findings] == [i.code for i in parcel.items]
        for item, finding in zip(parcel.items, written.findings, strict=True):
            assert finding.status == item.status
            cited = item.basis and item.status != "pass"
            assert finding.basis == ("审查依据：" + "；".join(item.basis) + "。" if cited else "")
            if item.status in ("warn", "fail") and item.overlap_m2 > 0:
                assert f"{item.overlap_m2:,.2f}平方米" in finding.text
                assert f"{item.overlap_m2 / 10_000:,.4f}公顷" in finding.text
                assert f"{item.overlap_ratio * 100:.2f}%" in finding.text
            assert "m²" not in finding.text and "（涉及 " not in finding.text  # the areas once, in its own words
    words = {f.status: f.word for p in drafted.parcels for f in p.findings}
    assert words == {"pass": "符合要求", "warn": "有条件符合", "fail": "不符合要求", "missing_layer": "未能审查"}


def test_conditions_carry_the_procedures(drafted: Opinion) -> None:
    passing, cond, mine, fail, out = drafted.parcels
    assert passing.conditions == ()
    assert any("耕地占补平衡" in c for c in cond.conditions) and any("占水田补水田" in c for c in cond.conditions)
    assert any("用地预审" in c for c in cond.conditions)
    assert any("压覆矿产资源调查评估" in c for c in mine.conditions)
    assert any("压覆重要矿产资源" in c for c in mine.conditions)
    # an industrial project may not occupy basic farmland at all: it moves away, no 补划 (that is a 重大项目's)
    assert any("避让永久基本农田" in c for c in fail.conditions)
    assert not any("补划" in c for c in fail.conditions)
    assert fail.conditions[0].startswith("【") and "不得" in fail.conditions[0]  # why it fails comes first
    assert any(c.startswith("补充“") for c in out.conditions)  # what lies outside was never checked


def test_quota_paragraph_in_three_units(drafted: Opinion, result: ReviewResult) -> None:
    """平方米 with 公顷 and 亩 beside it, as every area a person reads (the paragraph gave 公顷 and 亩 alone)."""
    quota = drafted.parcels[1].quota  # 4 ha of 0101 水田: all of it 农用地, 耕地, 水田, new quota, compensation
    four = "40,000.00平方米（4.0000公顷，60.00亩）"
    assert f"用地总面积{four}，其中农用地{four}，建设用地0.00平方米（0.0000公顷，0.00亩）" in quota
    assert f"农用地中耕地{four}，其中水田{four}。" in quota
    assert f"新增建设用地计划指标{four}" in quota
    assert f"须落实耕地占补平衡{four}，其中水田{four}须占水田补水田" in quota
    assert "不涉及耕地占补平衡" in drafted.parcels[0].quota
    fail = result.parcels[3].land_quota
    assert fail.basic_farmland_m2
    assert f"占用永久基本农田{fail.basic_farmland_m2:,.2f}平方米（{fail.basic_farmland_m2 / 10_000:,.4f}公顷" in (
        drafted.parcels[3].quota
    )
    assert "\n" not in quota and "  " not in quota


def test_basic_farmland_replaced_only_where_it_may_be_occupied(blueprint: Blueprint) -> None:
    # the same site on basic farmland: an industrial project is refused and moves away (《土地管理法》第三十五条);
    # a 重大建设项目 (自然资规〔2018〕3号) may occupy it and then 补划 — in the opinion and in the report's table
    box = PARCELS["FAIL"][0]
    for props, verdict, words, label in (
        ({"project_type": "industrial"}, "reject", "须调整选址予以避让", "（须避让）"),
        ({"project_type": "transport", "major_project": True}, "conditional", "质量不降低", "（需补划）"),
    ):
        result = review(parcel_frame(box, **props), blueprint)
        parcel = result.parcels[0]
        assert parcel.item("basic_farmland").status == ("fail" if verdict == "reject" else "warn")
        quota = opinion(result).parcels[0].quota
        assert "占用永久基本农田" in quota and words in quota
        assert ("补划" in quota) == (verdict == "conditional")
        assert "占用永久基本农田" + label in [r.name for r in report_model(result).parcels[0].quota]


def test_default_profile_cites_no_citys_own_document_for_the_review_items(result: ReviewResult) -> None:
    # a 济宁 parcel's 规划符合性 rests on national rules (自然资发〔2023〕193号, 编制指南) or 济宁 52号, not on a
    # 聊城 document; 聊城's 一、1 (城镇开发边界局部优化) belongs to the liaocheng template
    for item in load_profile("ten-point").items:
        cited = [*item.basis, *(b for c in item.checks for o in c.conditions.values() for b in o.basis)]
        assert not [b for b in cited if "聊城" in b], item.code
    written = opinion(result).parcels[3]
    assert not [t for f in written.findings for t in (f.text, f.basis) if "聊城" in t]
    assert not [c for c in written.conditions if "聊城" in c]
    liaocheng = opinion(result, issuer=Issuer(template="liaocheng")).notes
    assert any("城镇开发边界局部优化" in n and "一、1" in n for n in liaocheng)


def test_a_rejected_parcel_says_what_else_stands_where_its_site_is_kept(drafted: Opinion, result: ReviewResult) -> None:
    """A rejected parcel's papers listed its failing items' conditions alone, and a failing item's remedy may keep
    the site (城镇开发边界局部优化, 核减用地面积): its 占补平衡 was lost (officer's read of D02; 济政办字〔2020〕52号
    三（一）3 全面考量). The failing ones come first, then behind a line saying they stand where the site is kept,
    the warnings'; in the opinion and in the report alike. A parcel that is not rejected has no such line."""
    lead = KEPT_SITE_LEAD
    rejected = drafted.parcels[3]
    assert any("避让永久基本农田" in c for c in rejected.conditions)
    assert not any("落实耕地占补平衡" in c for c in rejected.conditions)
    assert rejected.kept_site_lead == lead and any("落实耕地占补平衡" in c for c in rejected.kept_site)
    # the lead is a line of its own, no condition: the numbers run on past it (it was numbered between two)
    text = opinion_markdown(drafted)
    n = len(rejected.conditions)
    assert f"{n}. " in text and f"\n\n{lead}\n\n{n + 1}. " in text and f". {lead}" not in text
    notes = report_model(result).parcels[3].notes
    assert notes.index(lead) > max(i for i, n in enumerate(notes) if "避让永久基本农田" in n)
    assert notes.index(lead) < next(i for i, n in enumerate(notes) if "落实耕地占补平衡" in n)
    assert all(not p.kept_site and not p.kept_site_lead for p in drafted.parcels if p.verdict != "reject")
    assert all(lead not in p.notes for p in report_model(result).parcels if p.verdict != "不通过")


def test_conclusion_per_verdict(drafted: Opinion, result: ReviewResult) -> None:
    passing, cond, _, fail, out = drafted.parcels
    assert "同意通过落地可行性审查" in passing.conclusion
    assert f"上述{len(cond.conditions)}项手续" in cond.conclusion
    assert "“占用永久基本农田”" in fail.conclusion and "不予通过" in fail.conclusion
    assert "覆盖范围之外" in out.conclusion and "%" in out.conclusion
    assert [p.verdict_zh for p in drafted.parcels] == ["通过", "有条件通过", "有条件通过", "不通过", "超出蓝图覆盖范围"]
    # a bureau writes 不通过 / 不予通过, one term on every paper
    assert "否决" not in opinion_markdown(drafted) and "否决" not in " ".join(report_model(result).texts())


def test_a_parcel_beyond_the_coverage_is_set_no_quota_and_told_what_fails(
    drafted: Opinion, result: ReviewResult, blueprint: Blueprint
) -> None:
    """Half of OUT lies beyond the coverage: the opinion asked for its new quota and 占补平衡 (which the report and
    the ledger refuse) and told it to supply each item's "layer" (every layer is there: the area's data is not).
    The same parcel as a factory fails 规划符合性 on its covered half: that stands whatever the rest holds, so it is
    不通过, saying the share not reviewed (it read 超出蓝图覆盖范围 and 暂不出具审查结论: officer's read)."""
    out = drafted.parcels[4]
    assert "在覆盖范围外部分审查前，不核定新增建设用地计划指标和耕地占补平衡" in out.quota
    assert "需使用新增建设用地计划指标" not in out.quota and "不涉及耕地占补平衡" not in out.quota
    assert "补充“一张蓝图”覆盖范围外区域的数据或调整用地范围后，对覆盖范围外部分另行审查。" in out.conditions
    assert not any("所需图层数据" in c for c in out.conditions)
    # the report's quota rows say the same (they gave the figures beside a note that none could be allotted)
    rows = {r.name: r.m2 for r in report_model(result).parcels[4].quota}
    assert rows["新增建设用地指标"] == rows["占补平衡指标"] == NOT_SET and rows[STOCK_LAND] != NOT_SET
    factory = review(parcel_frame(PARCELS["OUT"][0], id="OUT", project_type="industrial"), blueprint)
    (parcel,) = factory.parcels
    assert parcel.verdict == "reject" and parcel.covered_ratio == pytest.approx(0.4)
    (written,) = opinion(factory).parcels
    assert written.verdict_zh == "不通过"
    assert (
        "存在“规划符合性”" in written.conclusion
        and "不予通过（另有60.00%位于“一张蓝图”覆盖范围之外，未经审查）" in (written.conclusion)
    )
    assert "在按上述意见调整选址或用地方案前，不核定新增建设用地计划指标和耕地占补平衡" in written.quota
    jining = opinion(factory, issuer=Issuer(template="jining")).parcels[0].conclusion
    assert "不予通过（另有60.00%位于全市“一张蓝图”覆盖范围之外，未经审查）" in jining
    (paper,) = report_model(factory).parcels
    assert paper.verdict == "不通过" and any("覆盖范围外的部分未经审查" in n for n in paper.notes)


def test_a_parcel_beyond_the_coverage_still_asks_for_a_layer_the_blueprint_lacks(result: ReviewResult) -> None:
    """Beyond the coverage, an item that passed on the covered part waits for the area's data; one that went
    unreviewed for a layer the blueprint lacks still asks for that layer (a read-through: the one line for the
    area had replaced every item's), and an item that only warns sets no step before the review is whole."""
    out = result.parcels[4]
    lacking = "缺少图层“地质灾害易发区”，无法审查"
    assert all(i.facts.beyond_coverage for i in out.items if i.status == "missing_layer")  # the review marks them
    items = [
        i.model_copy(update={"status": "missing_layer", "message_zh": lacking, "facts": ItemFacts()})
        if i.code == "geohazard"
        else i
        for i in out.items
    ]
    conditions = (
        opinion(result.model_copy(update={"parcels": [out.model_copy(update={"items": items})]})).parcels[0].conditions
    )
    assert any("补充“地质灾害”所需图层数据" in c for c in conditions)
    assert any("覆盖范围外区域的数据" in c for c in conditions)
    assert not any("补充“生态保护红线”所需图层数据" in c for c in conditions)  # passed on the covered part


def test_a_stored_result_unmarked_beyond_the_coverage_asks_for_no_layer(result: ReviewResult) -> None:
    """A result stored before ``facts.beyond_coverage`` is marked when read back, from its message's words, so
    that its opinion asks for the area's data and no layer for an item that passed on the covered part."""
    stored = result.model_dump(mode="json")
    for item in stored["parcels"][4]["items"]:
        item["facts"].pop("beyond_coverage", None)
    read = ReviewResult.model_validate(stored)
    marked = [i for i in read.parcels[4].items if i.facts.beyond_coverage]
    assert marked and [i.code for i in marked] == [i.code for i in result.parcels[4].items if i.facts.beyond_coverage]
    conditions = opinion(read).parcels[4].conditions
    assert any("覆盖范围外区域的数据" in c for c in conditions)
    assert not any("所需图层数据" in c for c in conditions)


def test_papers_speak_chinese(drafted: Opinion, result: ReviewResult) -> None:
    # the standard table named in the notes and beside each figure it set (an officer read 符合要求 on a sample
    # table's figures, named only at the end); the CRS in words with its EPSG code once; no max(…)
    text = opinion_markdown(drafted)
    report = " ".join(report_model(result).texts())
    for paper in (text, report):
        assert "sample" not in paper and "°E" not in paper and "max(" not in paper
    assert any("样例标准表" in n for n in drafted.notes)
    measured = [f for p in drafted.parcels for f in p.findings if f.code == "land_use_standard" and "公顷" in f.text]
    assert measured and all("样例标准表" in f.text and "）（" not in f.text for f in measured), measured
    crs = {f.label: f.value for f in drafted.parcels[1].project}["坐标系统"]
    assert "3度带" in crs and "中央经线东经117°" in crs and crs.count("EPSG:4548") == 1


def test_a_missing_layer_is_not_reviewed(tmp_path: Path) -> None:
    layers = {k: v for k, v in full_layers().items() if k != "mineral"}
    bp = load_blueprint(rect_blueprint(tmp_path / "bp", layers))
    written = opinion(review(parcel_frame(PARCELS["PASS"][0], project_type="residential"), bp)).parcels[0]
    finding = next(f for f in written.findings if f.code == "mineral_overlay")
    assert finding.word == "未能审查" and "另行审查" in finding.text
    assert "补充“压覆矿产”所需图层数据后，对该项另行审查。" in written.conditions


@pytest.mark.parametrize("template", available_templates())
def test_every_city_template_writes_every_verdict(result: ReviewResult, template: str) -> None:
    drafted = opinion(result, issuer=Issuer(template=template))
    assert all(p.conclusion and "{{" not in p.conclusion for p in drafted.parcels)
    assert "{{" not in opinion_markdown(drafted) and "{%" not in opinion_markdown(drafted)


def test_city_templates_differ_where_the_city_does(result: ReviewResult) -> None:
    assert set(available_templates()) >= {"default", "jining", "liaocheng"}
    jining = opinion(result, issuer=Issuer(template="jining"))
    assert jining.title == "建设项目落地审查意见" and "济政办字〔2020〕52号" in jining.preamble
    # 52号 三（一）1: 计划指标 go directly to 纳入重点保障范围 projects at 批准用地, not to whatever passes a review
    assert "项目纳入重点保障范围的，在批准用地时按“计划指标跟着项目走”直接配置计划指标" in jining.parcels[0].conclusion
    assert "可按“要素跟着项目走”机制配置用地指标" not in jining.parcels[0].conclusion
    liaocheng = opinion(result, issuer=Issuer(template="liaocheng"))
    assert any("10%" in n for n in liaocheng.notes)
    # its 办法 is a draft for comment, named so; no 业务协同 claimed that the review did not run
    assert "（征求意见稿）" in liaocheng.preamble and "同步推送" not in liaocheng.preamble
    assert jining.parcels[1].quota == opinion(result).parcels[1].quota  # inherited from the default


def test_a_data_directory_template_comes_first(result: ReviewResult, tmp_path: Path) -> None:
    (tmp_path / "opinions").mkdir()
    (tmp_path / "opinions" / "mine.yaml").write_text(
        "extends: jining\nname: mine\ntitle: 某县审查意见\nclosing: 此复。\n", encoding="utf-8"
    )
    mine = opinion(result, issuer=Issuer(template="mine"), data_dir=tmp_path)
    assert (mine.title, mine.closing) == ("某县审查意见", "此复。") and "济政办字" in mine.preamble
    with pytest.raises(ProfileError, match="unknown opinion template"):
        opinion(result, issuer=Issuer(template="nowhere"))
    (tmp_path / "opinions" / "broken.yaml").write_text("extends: default\ntitle: '{{ missing }}'\n", encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        opinion(result, issuer=Issuer(template="broken"), data_dir=tmp_path)
    assert caught.value.message_zh.startswith("审查意见模板")


def test_a_template_cannot_reach_python(result: ReviewResult, tmp_path: Path) -> None:
    (tmp_path / "opinions").mkdir()
    (tmp_path / "opinions" / "evil.yaml").write_text(
        "extends: default\ntitle: \"{{ ''.__class__.__mro__[1].__subclasses__() }}\"\n", encoding="utf-8"
    )
    with pytest.raises(ProfileError):
        opinion(result, issuer=Issuer(template="evil"), data_dir=tmp_path)


def _unmd(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def test_markdown_shows_every_text_and_escapes_the_users(blueprint: Blueprint) -> None:
    frame = parcel_frame(rect(1.2, 1.2, 1.6, 1.6), id="a|b", name="*粗体* <b>x</b> [链接](javascript:1)")
    drafted = opinion(review(frame, blueprint))
    page = opinion_markdown(drafted)
    shown = _unmd(page)
    assert [t for t in drafted.texts() if t not in shown] == []
    assert "*粗体*" not in page and "<b>" not in page and "a|b" not in page
    assert r"\*粗体\*" in page and r"\<b\>" in page and r"\[链接\](javascript" in page  # a link no more
    assert md("*粗体* <b>") == r"\*粗体\* \<b\>"
    assert md("1. 不是列表") == r"1\. 不是列表" and md("- 不是列表") == r"\- 不是列表" and md("2.5公顷") == "2.5公顷"


def test_docx_reads_back(drafted: Opinion) -> None:
    document = docx.Document(io.BytesIO(opinion_docx(drafted)))
    body = "\n".join(p.text for p in document.paragraphs)
    cells = "\n".join(c.text for t in document.tables for row in t.rows for c in row.cells)
    missing = [t for t in drafted.texts() if t not in body and t not in cells]
    assert missing == []
    assert len(document.tables) == len(drafted.parcels)
    assert document.core_properties.author == "济宁市自然资源和规划局"
    assert document.core_properties.title.startswith("建设项目用地落地可行性审查意见 济自然资审〔")
    title = document.paragraphs[0]
    assert title.text == drafted.title and title.runs[0].font.size.pt == 22


def test_an_opinion_on_the_demo_blueprint_says_so_on_every_page(result: ReviewResult) -> None:
    """The Word header (every page) and the Markdown's first line carry the mark; a real blueprint's carry none."""
    demo = opinion(result, synthetic=True)
    header = docx.Document(io.BytesIO(opinion_docx(demo))).sections[0].header.paragraphs[0].text
    assert header == SYNTHETIC_MARK == demo.mark
    assert opinion_markdown(demo).startswith(f"> {SYNTHETIC_MARK}\n\n# ")
    real = opinion(result)
    assert real.mark == "" and docx.Document(io.BytesIO(opinion_docx(real))).sections[0].header.paragraphs[0].text == ""
    assert opinion_markdown(real).startswith("# ")


def test_docx_is_laid_out_as_an_official_document(drafted: Opinion) -> None:
    """GB/T 9704: A4, 版心 from 37 mm top / 28 mm left, 3号 body, page numbers; headings navigable."""
    document = docx.Document(io.BytesIO(opinion_docx(drafted)))
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert (round(section.top_margin.mm), round(section.left_margin.mm)) == (37, 28)
    assert round(section.page_width.mm - section.left_margin.mm - section.right_margin.mm) == 156
    footer = section.footer.paragraphs[0]._p.xml
    assert 'w:instr="PAGE"' in footer and "— " in section.footer.paragraphs[0].text
    body = [p for p in document.paragraphs if p.style.name == "Normal" and p.runs]
    assert {p.runs[0].font.size.pt for p in body if p.text == drafted.preamble} == {16}
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings == [p.heading for p in drafted.parcels]
    assert document.core_properties.comments == "" and document.core_properties.created.year >= 2026
    assert document.styles.element.xpath("w:docDefaults//w:lang/@w:eastAsia") == ["zh-CN"]
    # 基本情况: the labels' column as wide as they are, the values in the rest (equal halves wrapped the values)
    facts = document.tables[0]
    widths = [round(c.width.mm) for c in facts.columns]
    cells = [round(c.width.mm) for row in facts.rows for c in row.cells]
    assert widths == [30, 126] and set(cells) == {30, 126}


def _lantu(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "geo.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=300, check=False
    )


def test_cli_writes_markdown_and_docx(blueprint_dir: Path, tmp_path: Path) -> None:
    parcels = tmp_path / "p.geojson"
    parcel_frame(PARCELS["FAIL"][0], id="F1", name="农机厂", project_type="industrial").to_crs(4490).to_file(parcels)
    root = Path(__file__).resolve().parents[1]
    done = _lantu("review", str(parcels), "-b", str(blueprint_dir), "--format", "opinion", cwd=root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# 建设项目用地落地可行性审查意见") and "草稿" in done.stdout
    assert "不符合要求" in done.stdout and "避让永久基本农田" in done.stdout
    out = tmp_path / "意见.docx"
    with out.open("wb") as redirected:  # `lantu review … -f docx > 意见.docx`: stdout is a file
        piped = subprocess.run(
            [sys.executable, "-m", "geo.cli", "review", str(parcels), "-b", str(blueprint_dir), "-f", "docx"],
            stdout=redirected,
            cwd=root,
            timeout=300,
            check=False,
        )
    assert piped.returncode == 0
    assert "农机厂" in "\n".join(p.text for p in docx.Document(str(out)).paragraphs)
    done = _lantu("review", str(parcels), "-b", str(blueprint_dir), "-f", "docx", "-o", str(out), cwd=root)
    assert done.returncode == 0, done.stderr
    assert "农机厂" in "\n".join(p.text for p in docx.Document(str(out)).paragraphs)


@pytest.fixture
def client(settings: Settings, keys: dict[str, str]) -> TestClient:
    issued = settings.model_copy(update={"issuer_unit": "济宁市自然资源和规划局", "issuer_code": "济自然资审"})
    with TestClient(create_app(issued)) as c:
        yield c


def test_api_opinion_in_three_formats_with_the_document_number(client: TestClient, keys: dict[str, str]) -> None:
    body = json.loads(parcel_frame(PARCELS["FAIL"][0], id="F1", name="农机厂").to_crs(4490).to_json(drop_id=True))
    rid = client.post("/api/v1/reviews", json=body, headers=auth(keys)).json()["review_id"]
    markdown = client.get(f"/api/v1/reviews/{rid}/opinion", headers=auth(keys))
    assert markdown.status_code == 200 and markdown.headers["content-type"].startswith("text/markdown")
    year = re.search(r"〔(\d{4})〕", markdown.text)
    assert year and f"济自然资审〔{year[1]}〕第1号" in markdown.text and "草稿" not in markdown.text
    data = client.get(f"/api/v1/reviews/{rid}/opinion?format=json", headers=auth(keys)).json()
    assert data["number"] == f"济自然资审〔{year[1]}〕第1号" and data["draft"] is False
    assert data["parcels"][0]["verdict"] == "reject" and data["issuer"] == "济宁市自然资源和规划局"
    accept = {**auth(keys), "Accept": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
    word = client.get(f"/api/v1/reviews/{rid}/opinion", headers=accept)
    assert word.status_code == 200 and word.content.startswith(b"PK")
    assert "attachment" in word.headers["content-disposition"]
    assert "农机厂" in "\n".join(p.text for p in docx.Document(io.BytesIO(word.content)).paragraphs)
    report = client.get(f"/api/v1/reviews/{rid}/report", headers=auth(keys))
    assert f"济自然资审〔{year[1]}〕第1号" in report.text  # the same number on every paper of the review
    second = client.post("/api/v1/reviews", json=body, headers=auth(keys)).json()["review_id"]
    assert f"〔{year[1]}〕第2号" in client.get(f"/api/v1/reviews/{second}/report", headers=auth(keys)).text
    bad = client.get(f"/api/v1/reviews/{rid}/opinion?format=pdf", headers=auth(keys))
    assert bad.status_code == 422
    assert client.get("/api/v1/reviews/nope/opinion", headers=auth(keys)).status_code == 404


def test_opinion_header_carries_the_review_number_in_every_format(client: TestClient, keys: dict[str, str]) -> None:
    """Issue 13: the 审查意见 had no 审查编号 where the report had one (the service's hex id). Both papers
    now print 审查编号：{文号} under the title — Markdown, Word and JSON alike — and the report names
    the service's id 系统记录号."""
    body = json.loads(parcel_frame(PARCELS["PASS"][0], id="P1", name="物流中心").to_crs(4490).to_json(drop_id=True))
    rid = client.post("/api/v1/reviews", json=body, headers=auth(keys)).json()["review_id"]
    data = client.get(f"/api/v1/reviews/{rid}/opinion?format=json", headers=auth(keys)).json()
    number = data["number"]
    assert re.fullmatch(r"济自然资审〔\d{4}〕第\d+号", number)
    assert data["number_line"] == f"审查编号：{number}" and data["review_id"] == rid
    markdown = client.get(f"/api/v1/reviews/{rid}/opinion", headers=auth(keys)).text
    assert markdown.splitlines()[2] == f"审查编号：{number}"  # under the title
    word = client.get(f"/api/v1/reviews/{rid}/opinion?format=docx", headers=auth(keys))
    paragraphs = [p.text for p in docx.Document(io.BytesIO(word.content)).paragraphs]
    assert paragraphs[1] == f"审查编号：{number}"
    report = client.get(f"/api/v1/reviews/{rid}/report", headers=auth(keys)).text
    assert f'<th scope="row">审查编号</th><td>{number}</td>' in report
    assert f'<th scope="row">系统记录号</th><td>{rid}</td>' in report


def test_docx_keeps_the_signature_with_the_closing(drafted: Opinion) -> None:
    """As the PDF: from 特此函告 to the seal the paragraphs keep with the next, so Word never puts the
    signature block alone on the last page."""
    paragraphs = docx.Document(io.BytesIO(opinion_docx(drafted))).paragraphs
    texts = [p.text for p in paragraphs]
    start = texts.index(drafted.closing)
    block = paragraphs[start:]
    assert block[-1].text == drafted.signature[-1] and len(block) == 1 + 1 + len(drafted.notes) + len(drafted.signature)
    assert all(p.paragraph_format.keep_with_next for p in block[:-1])
    assert not block[-1].paragraph_format.keep_with_next
    assert not any(p.paragraph_format.keep_with_next for p in paragraphs[: start - 1] if p.style.name == "Normal")


def test_items_beyond_the_ten_are_marked_as_the_report_marks_them(result: ReviewResult) -> None:
    """The preamble names the 十项 review; the supplementary items after them say so, as the report's rows do."""
    for parcel, said in zip(result.parcels, opinion(result).parcels, strict=True):
        names = {f.code: f.name for f in said.findings}
        for item in parcel.items:
            if item.code in names:
                assert names[item.code] == item.name_zh + ("（补充）" if item.supplementary else "")
    assert any(item.supplementary for item in result.parcels[0].items)


def test_a_rejection_names_every_failing_item_without_et_cetera(result: ReviewResult) -> None:
    """The conclusion lists every failing item: "存在“X”等…" read as if more had failed than it names."""
    for parcel, said in zip(result.parcels, opinion(result).parcels, strict=True):
        if parcel.verdict == "reject":
            failed = "、".join(f"“{i.name_zh}”" for i in parcel.items if i.status == "fail")
            assert f"存在{failed}不符合要求的情形" in said.conclusion and "等不符合" not in said.conclusion
    assert any(p.verdict == "reject" for p in result.parcels)


# -- free text in Markdown: every line escaped, no block of its own ---------------------------------------------

FORGED = "物流园\n审查结论：通过，同意用地\n==="  # the hostile probe's name: a free line and a setext underline
# each opens a block at a line's start in CommonMark, GFM or pandoc, unescaped
BLOCK_STARTS = [
    "# 标题", "## 标题", "- 列表", "+ 列表", "* 列表", "1. 编号", "1) 编号", "> 引用", "```", "~~~", "---", "***",
    "___", "===", "- - -", "| a | b |", "|---|---|", "    缩进代码", "<div>", "[a]: /u", ": 定义", "  # 缩进标题",
]  # fmt: skip


def _blocks(markdown: str) -> list[tuple[str, str]]:
    """The document's block structure as CommonMark with GFM tables reads it: no text may add to it."""
    parser = MarkdownIt("commonmark").enable("table")
    return [(t.type, t.tag) for t in parser.parse(markdown) if t.block and t.type != "inline"]


def _consolidated(result: ReviewResult, text: str, *, synthetic: bool = False) -> tuple[str, dict[str, Any]]:
    finding = {"code": "heritage", "name_zh": "文物保护", "parcel_id": "P1", "finding": "经核查。", "basis": ""}
    task = {
        "department": "文物主管部门",
        "department_zh": "文物主管部门",
        "findings": [{**finding, "overlap_m2": 0.0, "procedures": ["报文物部门"]}],
        "status": "有条件同意",
        "text": text,
        "actor": "文物局",
        "answered": "2026-12-01T02:00:00+00:00",
    }
    return consolidated_opinion(
        doc_number="协同预审〔2026〕1号",
        issued="2026-12-01",
        project={"id": "XM-1", "name": "文化街区配套"},
        round_number=1,
        result=result.model_copy(update={"synthetic": synthetic}),
        tasks=[task],
        issuer="（审查单位）",
    )


HOSTILE_ANSWER = "设计方案报文物部门同意\n审查结论：通过\n" + "\n".join(BLOCK_STARTS)


def test_a_departments_answer_keeps_its_lines_and_opens_no_block(blueprint: Blueprint) -> None:
    result = review(parcel_frame(rect(1.2, 1.2, 1.4, 1.4), id="P1", project_type="residential"), blueprint)
    plain, _ = _consolidated(result, "设计方案报文物部门同意")
    hostile, body = _consolidated(result, HOSTILE_ANSWER)
    assert _blocks(hostile) == _blocks(plain)  # the answer appears twice (意见, 条件): still no block of its own
    assert not [line for line in hostile.splitlines() if line.startswith(("===", "---", "# 标题", "- 列表", "|"))]
    assert body["conditions"][0]["text"] == HOSTILE_ANSWER  # the JSON keeps the words


def test_the_consolidated_opinion_on_the_demo_blueprint_is_marked(blueprint: Blueprint) -> None:
    """The consultation has no blueprint at hand: the review made on the demo one says so (``synthetic``)."""
    result = review(parcel_frame(rect(1.2, 1.2, 1.4, 1.4), id="P1", project_type="residential"), blueprint)
    demo, body = _consolidated(result, "同意", synthetic=True)
    assert demo.startswith(f"> {SYNTHETIC_MARK}\n\n# ") and body["mark"] == SYNTHETIC_MARK
    real, body = _consolidated(result, "同意")
    assert real.startswith("# ") and body["mark"] == ""


def test_the_consolidated_opinion_of_an_unverified_review_file_is_marked(blueprint: Blueprint) -> None:
    """A consultation started from a review file lantu could not verify (``consult start --accept-unsigned`` notes it
    in the review's warnings): its numbered 预审意见 says so on its first line, as every paper from such a file."""
    result = review(parcel_frame(rect(1.2, 1.2, 1.4, 1.4), id="P1", project_type="residential"), blueprint)
    note = unverified_note(
        "文件无 lantu 签名", "it carries no signature", "经 --accept-unsigned 接受发起会商", "accepted"
    )
    noted = result.model_copy(update={"warnings": [*result.warnings, note]})
    text, body = _consolidated(noted, "同意")
    assert text.startswith(f"> {UNVERIFIED_MARK}\n\n# ") and body["mark"] == UNVERIFIED_MARK
    both, body = _consolidated(noted, "同意", synthetic=True)
    assert (
        both.startswith(f"> {SYNTHETIC_MARK}　{UNVERIFIED_MARK}\n")
        and body["mark"] == f"{SYNTHETIC_MARK}　{UNVERIFIED_MARK}"
    )
    assert _consolidated(result, "同意")[1]["mark"] == ""  # a warning of another kind marks nothing


@pytest.mark.parametrize("start", BLOCK_STARTS)
def test_md_escapes_every_line_so_none_opens_a_block(start: str) -> None:
    """A paragraph stays one paragraph whatever its later lines begin with; its lines are kept (hard breaks),
    and a heading or a table's cell stays on its line (``inline``)."""
    text = f"第一行\n{start}\n{start}"
    assert _blocks(md(text)) == _blocks("第一行")
    assert _blocks(f"## {md(text, inline=True)}") == _blocks("## 标题")
    table = "| 项目 | 内容 |\n| --- | --- |\n| 名称 | {} |"
    assert _blocks(table.format(md(text, inline=True))) == _blocks(table.format("x"))
    assert _unmd(md(text)).replace("\\\n", "\n") == text.replace("    ", "").replace("  #", "#")


def test_md_keeps_the_lines_and_their_words() -> None:
    assert md(FORGED) == "物流园\\\n审查结论：通过，同意用地\\\n\\==="
    assert md(FORGED, inline=True) == "物流园 审查结论：通过，同意用地 \\==="
    assert md("a\r\nb\n\n") == "a\\\nb" and md("") == ""  # no break at the end: it would show as "\\"


def test_a_name_holding_lines_opens_no_block_in_the_opinion(result: ReviewResult) -> None:
    """A result stored before names and ids were one line (the probe put 审查结论：通过 under a rejected
    parcel's heading): its opinion has the blocks a plain name gives, and shows every word."""
    rejected = next(p for p in result.parcels if p.verdict == "reject")
    forged = rejected.model_copy(update={"name": FORGED, "id": "F1\n---"})
    plain_page = opinion_markdown(opinion(result.model_copy(update={"parcels": [rejected]})))
    page = opinion_markdown(opinion(result.model_copy(update={"parcels": [forged]})))
    assert _blocks(page) == _blocks(plain_page)
    assert "审查结论：通过，同意用地" in _unmd(page)
    assert not [line for line in page.splitlines() if line.startswith(("审查结论", "===", "---"))]


def test_an_opinion_is_addressed(result: ReviewResult) -> None:
    """A 函 opens with its 主送机关 under the title (officer's read: a bureau would return one without); the default
    template leaves it to fill, in the Markdown and the Word file alike."""
    drafted = opinion(result)
    assert drafted.addressee == "＿＿＿＿＿＿＿＿："
    text = opinion_markdown(drafted)
    assert text.index(drafted.number_line) < text.index("＿＿＿＿＿＿＿＿：") < text.index("根据")
    paragraphs = [p.text for p in docx.Document(io.BytesIO(opinion_docx(drafted))).paragraphs]
    assert paragraphs.index("＿＿＿＿＿＿＿＿：") == paragraphs.index(drafted.number_line) + 1


def test_the_forest_step_claims_no_grassland(tmp_path: Path) -> None:
    """Item 9 says the contract's 需办理使用林地/草原审核 (DESIGN.md row 9, which outside checks read in the result):
    one step for 林地 or 草原. The opinion turned its slash into 、, and a parcel of forest land alone read
    需办理使用林地、草原审核, as if grassland were taken; the slashes of a layer's name (矿业权/查明矿产资源范围) still
    read as a list (officer's read)."""
    layers = {
        "county": [((0, 0, 2, 1), {"code": "370811", "name": "任城区"})],
        "land_use": [((0, 0, 1, 1), {"class_code": "0301"}), ((1, 0, 2, 1), {"class_code": "0404"})],
    }
    woods = load_blueprint(rect_blueprint(tmp_path / "bp", layers, slope=None))
    frame = parcel_frame(rect(0.2, 0.2, 0.4, 0.4), rect(1.2, 0.2, 1.4, 0.4), project_type="infrastructure")
    result = review(frame, woods)
    forest, grass = (next(f for f in p.findings if f.code == "forest_grass_wetland") for p in opinion(result).parcels)
    for found in (forest, grass):
        assert "需办理使用林地/草原审核" in found.text and "林地、草原" not in found.text, found.text
    assert "占用林地" in forest.text and "草地" not in forest.text
    assert "占用草地" in grass.text and "林地（" not in grass.text
    for p in result.parcels:  # the result keeps the contract's words as they are
        assert "需办理使用林地/草原审核" in p.item("forest_grass_wetland").message_zh
    mineral = next(f for f in opinion(result).parcels[0].findings if f.code == "mineral_overlay")
    assert "矿业权、查明矿产资源范围" in mineral.text
