"""The drafted 审查意见: what a natural-resources bureau writes back after a siting review.

:func:`opinion` turns a :class:`~geo.review.result.ReviewResult` into an :class:`Opinion`:
per parcel the project and site block (名称, 类型, 位置, 面积 in 公顷/亩, 坐标系), one
paragraph per review item (finding, areas, basis from the profile), the procedures and
conditions the non-passing items carry (补划, 压覆审批, 地灾评估, 使用林地审核, 节地评价,
洪水影响评价, 文物意见 — the profile's ``conditions`` of each outcome found, else the item's
``procedures``), the land-quota paragraph and the conclusion. The wording is data:
``layers/opinions/<template>.yaml`` (a city's file ``extends`` the default one; a data directory's
file comes first), rendered by a sandboxed Jinja environment, so a bureau edits phrasing without
touching code.

Three renderings read the same model: Markdown (:func:`opinion_markdown`), Word
(:func:`opinion_docx`, python-docx, editable) and JSON (:meth:`Opinion.as_dict`).
Every text in the model is plain text that may hold a planner's words verbatim; each
renderer escapes for its own format.
"""

from __future__ import annotations

import io
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Final

import shapely
from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from geo import resources
from geo.blueprint import Blueprint
from geo.catalog import layer_catalog
from geo.crs import Area, percent
from geo.errors import ProfileError
from geo.papers import DocumentNumber, Issuer, time_zh
from geo.report_model import (
    AREA_NOTE,
    ROUNDING,
    SUPPLEMENTARY,
    UNCOVERED,
    Fact,
    crs_label,
    data_versions,
    declared_area_note,
    farmland_replaced,
    land_gap,
    layer_dates,
    paper_mark,
    profile_zh,
    project_type_zh,
    signature,
    table_notes,
    unreviewed_part,
    without_area,
)
from geo.review.result import ItemResult, LandQuota, ParcelResult, ReviewResult
from geo.vocabulary import VERDICT_ZH, Status, Verdict

_ENV = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=False)
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_DIGITS = "零一二三四五六七八九"


def zh_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 23 → 二十三 (section numbers); from 100 on, Arabic."""
    if not 0 < n < 100:
        return str(n)
    tens, ones = divmod(n, 10)
    return ("" if tens == 0 else ("十" if tens == 1 else _DIGITS[tens] + "十")) + (_DIGITS[ones] if ones else "")


@dataclass(frozen=True)
class Finding:
    """One review item's paragraph."""

    code: str
    name: str
    status: Status
    word: str  # 符合要求 / 有条件符合 / 不符合要求 / 未能审查
    text: str
    basis: str  # "审查依据：…。" for an item that is not a pass; "" for a pass or when the profile gives none


@dataclass(frozen=True)
class ParcelOpinion:
    id: str
    heading: str
    verdict: Verdict
    verdict_zh: str
    project: tuple[Fact, ...]
    findings: tuple[Finding, ...]
    conditions: tuple[str, ...]
    quota: str
    conclusion: str
    # a rejected parcel's steps that stand where its site is kept (its warnings'), after ``conditions`` (its failing
    # items' and the data to supply) and behind the template's ``kept_site_lead``, a line of its own: numbered on
    # from ``conditions``, the lead unnumbered (the opinion's JSON carries both keys)
    kept_site_lead: str = ""
    kept_site: tuple[str, ...] = ()


@dataclass(frozen=True)
class Opinion:
    mark: str  # SYNTHETIC_MARK on the demo blueprint, UNVERIFIED_MARK from an unverified file (the Word header, the
    # first line), else nothing
    title: str
    number: str  # 济自然资审〔2026〕第12号, or a draft's label
    number_line: str  # 审查编号：…, the line under the title (as on the report)
    addressee: str  # 主送机关, the line a 函 opens with: the template's, a blank to fill where it names none
    review_id: str  # the review the opinion drafts (系统记录号, GET /api/v1/reviews/{id})
    draft: bool
    template: str
    preamble: str
    headings: dict[str, str]
    parcels: tuple[ParcelOpinion, ...]
    closing: str
    notes_heading: str
    notes: tuple[str, ...]
    issuer: str
    date: str
    signature: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """The opinion as JSON-ready data (the API's ``application/json``)."""
        return asdict(self)

    def texts(self) -> list[str]:
        """Every text a rendering must show (used by the tests)."""
        out = [self.title, self.number_line, self.addressee, self.preamble, self.closing, *self.notes, *self.signature]
        for p in self.parcels:
            out += [p.heading, *(t for f in p.project for t in (f.label, f.value)), p.quota, p.conclusion]
            out += [t for f in p.findings for t in (f.name, f.text, f.basis)]
            out += [*p.conditions, p.kept_site_lead, *p.kept_site]
        return [t for t in out if t]


def available_templates(data_dir: Path | None = None) -> list[str]:
    return resources.names("opinions", ".yaml", [data_dir] if data_dir else [])


@cache
def load_template(name: str, data_dir: Path | None = None) -> dict[str, Any]:
    """The wording ``name`` (a data directory's file first), its ``extends`` chain merged in."""
    if not _NAME.match(name):
        raise ProfileError(f"bad opinion template name {name!r}", f"审查意见模板名称 {name!r} 不合法")
    path = resources.find(f"opinions/{name}.yaml", [data_dir] if data_dir else [])
    if path is None:
        available = ", ".join(available_templates(data_dir))
        raise ProfileError(
            f"unknown opinion template {name!r}; available: {available}",
            f"未知审查意见模板 {name!r}；可用：{available}",
        )
    raw = resources.read_yaml_mapping(
        path, lambda en, zh: ProfileError(f"opinion template {name}: {en}", f"审查意见模板 {name}：{zh}")
    )
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    if parent == name:
        raise ProfileError(f"opinion template {name} extends itself", f"审查意见模板 {name} 不能继承自身")
    base = load_template(str(parent), data_dir)
    return {
        k: ({**base[k], **v} if isinstance(v, dict) and isinstance(base.get(k), dict) else v)
        for k, v in {**base, **raw}.items()
    }


@lru_cache(maxsize=1024)
def _compiled(source: str) -> Template:
    """A wording compiled once: an opinion renders the same few dozen for each of its parcels, and
    compiling them anew made an opinion of 203 demo parcels take 2.46 s instead of 0.18 s."""
    return _ENV.from_string(source)


def _render(template: dict[str, Any], key: str, **values: Any) -> str:
    """One wording of the template with ``values``; a broken template is a clear error, not a 500."""
    node: Any = template
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ProfileError(f"opinion template lacks {key!r}", f"审查意见模板缺少 {key}")
        node = node[part]
    source = re.sub(r"\s*\n\s*", "", str(node))  # a Chinese text's lines join without spaces (YAML |- blocks)
    try:
        return _compiled(source).render(**values).strip()
    except TemplateError as exc:
        raise ProfileError(f"opinion template {key!r}: {exc}", f"审查意见模板 {key} 无法生成：{exc}") from exc


_CJK = r"\u3400-\u9fff（）【】“”，。；：、Ⅰ-Ⅻ"
_CJK_SPACE = re.compile(rf"(?<=[{_CJK}]) +(?=[+-]?[\d.,%°]+)|(?<=[\d%°]) +(?=[{_CJK}])")


@cache
def _listed_layers() -> tuple[tuple[str, str], ...]:
    """The catalog's layer names that list what a layer holds with a slash (矿业权/查明矿产资源范围), each with the 、
    an official text lists them with."""
    names = (info.name_zh for info in layer_catalog().values())
    return tuple((name, name.replace("/", "、")) for name in names if "/" in name)


def _words(text: str) -> str:
    """A result message as an official text writes it: 平方米 rather than m², 、 between the kinds a layer's name
    lists (未涉及矿业权、查明矿产资源范围), no spaces around numbers, no closing stop (the template adds one). Any
    other slash is the profile's wording and stays: the contract's 需办理使用林地/草原审核 names one step for 林地 or
    草原, and 使用林地、草原审核 read as both where a parcel has forest land alone (officer's read)."""
    text = text.replace(" m²", "平方米").replace("m²", "平方米").rstrip("。；; ")
    for name, listed in _listed_layers():
        text = text.replace(name, listed)
    return _CJK_SPACE.sub("", text)  # 面积占比 0.0% → 面积占比0.0%: Chinese text sets no spaces around numbers


def _finding(t: dict[str, Any], item: ItemResult) -> Finding:
    word = str(t["verdict_words"][item.status])
    key = item.status if item.status in ("pass", "missing_layer") or item.overlap_m2 > 0 else "no_area"
    message = without_area(item.message_zh, item.overlap_m2)  # the paragraph gives the item's total
    text = _render(
        t,
        f"finding.{key}",
        name=item.name_zh,
        message=_words(message),
        # the item's total, after outcomes whose own parts it adds up: said to be their sum
        area_label="合计涉及面积" if AREA_NOTE.search(message) else "涉及面积",
        word=word,
        area_m2=Area(item.overlap_m2).m2_text,
        area_ha=Area(item.overlap_m2).ha_text,
        area_mu=Area(item.overlap_m2).mu_text,
        share=f"{item.overlap_ratio * 100:.2f}%",
    )
    # the basis of what was found; a pass cites none (the preamble names the review it passed)
    basis = _render(t, "basis", basis="；".join(item.basis)) if item.basis and item.status != "pass" else ""
    # items beyond the profile's ten are marked as the report marks them: the preamble names ten
    name = item.name_zh + (SUPPLEMENTARY if item.supplementary else "")
    return Finding(item.code, name, item.status, word, text, basis)


def _conditions(t: dict[str, Any], parcel: ParcelResult) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    """The conditions of the items that warn, then of those that fail; for a rejected parcel those that fail
    first, then behind a line saying they stand where the site is kept (``kept_site_lead``) those that warn, and
    for one not wholly reviewed the failing ones alone (it is yet to be judged whole); then the data to supply:
    the area's beyond the coverage, and each layer the blueprint lacks: one per outcome found with exactly its
    procedures and basis (a profile that words its outcomes), else one per procedure of the item. An
    outcome two items share (生态保护区 and the red line: 有限人为活动认定意见) is one line naming both. Returned as
    (the conditions, the lead, those behind it): the lead is no condition to number (it read "3. 如按上述意见调整后
    仍使用该用地…：" between conditions 2 and 4)."""
    out: list[str] = []
    items: dict[tuple[str, str, str], list[str]] = {}  # an outcome's (condition, procedures, basis) → its items
    line: dict[tuple[str, str, str], int] = {}  # → its place in ``out``, written once every item is known
    rejected = parcel.verdict == "reject"
    order = ("warn", "fail") if parcel.quota_set else ("fail", "warn") if rejected else ("fail",)
    kept_at: int | None = None  # where the steps of the kept site begin in ``out``
    for status in order:
        lead = len(out) if rejected and status == "warn" else None
        if lead is not None:
            kept_at = lead
            out.append(_render(t, "kept_site_lead"))
        for item in parcel.items:
            if item.status != status:
                continue
            for c in item.facts.conditions or []:
                procedures = "；".join(p.rstrip("。；") for p in c.procedures)
                key = (c.condition_zh.rstrip("。"), procedures, "；".join(c.basis))
                if key not in line:
                    line[key] = len(out)
                    out.append("")
                items.setdefault(key, []).append(item.name_zh)
            if item.facts.conditions is None:
                out += [_render(t, "condition", item=item.name_zh, procedure=p.rstrip("。")) for p in item.procedures]
        if lead is not None and len(out) == lead + 1:  # no condition of a warning but the failing ones' own
            out.pop()
            kept_at = None
    for key, names in items.items():
        condition, procedures, basis = key
        out[line[key]] = _render(
            t,
            "outcome_condition",
            item="、".join(dict.fromkeys(names)),
            condition=condition,
            procedures=procedures,
            basis=basis,
        )
    # the data to supply, wherever the site goes: before the kept site's steps
    data = [_render(t, "uncovered_condition")] if parcel.verdict == "out_of_coverage" else []
    # an item unreviewed for a layer the blueprint lacks, not for the part beyond its coverage
    lacking = [i for i in parcel.items if i.status == "missing_layer" and not i.facts.beyond_coverage]
    data += [_render(t, "missing_condition", item=i.name_zh) for i in lacking]
    if kept_at is None:
        return tuple(dict.fromkeys(out + data)), "", ()
    return tuple(dict.fromkeys(out[:kept_at] + data)), out[kept_at], tuple(dict.fromkeys(out[kept_at + 1 :]))


def _quota(t: dict[str, Any], parcel: ParcelResult) -> str:
    q: LandQuota = parcel.land_quota
    if q.agricultural_m2 is None or q.construction_m2 is None or q.unused_m2 is None:
        return _render(t, "quota_missing")
    figures = {
        "total": parcel.area_m2,
        "agricultural": q.agricultural_m2,
        "cultivated": q.cultivated_m2,
        "paddy": q.paddy_m2,
        "paddy_compensation": q.paddy_to_replace_m2,
        "construction": q.construction_m2,
        "stock": q.stock_m2,
        "unused": q.unused_m2,
        "new_quota": q.new_construction_quota_m2,
        "compensation": q.compensation_m2,
        "basic_farmland": q.basic_farmland_m2,
    }
    gap = land_gap(parcel)  # the area no class holds, named (未被土地利用现状图层覆盖…), so the figures add up
    # a rounding difference is no land: the report's table shows it so that its rows add up, a paragraph does not
    # say 分类面积舍入差0.01平方米（0.0000公顷，0.0000亩） (officer's read)
    gap = None if gap is not None and gap[0] == ROUNDING else gap
    figures["gap"] = gap[1] if gap else 0.0
    values: dict[str, Any] = {"basic_farmland_permitted": farmland_replaced(parcel), "gap_label": gap[0] if gap else ""}
    values["rejected"] = parcel.verdict == "reject"  # a refused site needs no quota: it moves
    values["out_of_coverage"] = parcel.verdict == "out_of_coverage"  # figures of land the review has not all seen
    # 占水田补水田 for more 水田 than an edge contact (item 3 and the report name it so; the ledger counts it whole)
    values["paddy_named"] = (q.paddy_to_replace_m2 or 0.0) > parcel.tolerance_m2
    values["uncovered"] = gap is not None and gap[0] == UNCOVERED
    # stock land throughout: the stock sentence says its quota and 占补平衡, not said again of the same land
    values["stock_alone"] = _stock_alone(parcel)
    values["stock_kind"] = _stock_kind(parcel)
    for key, m2 in figures.items():
        area = Area(m2 or 0.0)
        values[key] = area.ha_text
        values[f"{key}_mu"] = area.mu_text
        values[f"{key}_m2"] = m2 or 0.0
        values[f"{key}_area"] = f"{area.m2_text}平方米（{area.ha_text}公顷，{area.mu_text}亩）"
    return _render(t, "quota", **values)


def _stock_alone(parcel: ParcelResult) -> bool:
    """Whether the parcel is stock land throughout (within its tolerance): its conversion was approved, so what
    follows the conditions is 供地, not 用地报批 (officer's read of D31)."""
    stock = parcel.land_quota.stock_m2 or 0.0
    return stock > 0 and parcel.area_m2 - stock <= parcel.tolerance_m2


def _stock_kind(parcel: ParcelResult) -> str:
    """Which stock land the parcel's stands on, as the idle-land item found it (the land figures hold the union of
    both kinds): D31 on 闲置土地 read 位于批而未供或闲置土地 beside its item's 涉及闲置土地 (officer's read)."""
    idle = next((i for i in parcel.items if i.code == "idle_land"), None)
    if idle is None:  # a profile without the item: the figures alone cannot tell
        return "批而未供或闲置土地"
    stock, tolerance = parcel.land_quota.stock_m2 or 0.0, parcel.tolerance_m2
    if idle.overlap_m2 <= tolerance:
        return "批而未供土地"
    return "闲置土地" if stock - idle.overlap_m2 <= tolerance else "批而未供土地和闲置土地"


def _conclusion(t: dict[str, Any], parcel: ParcelResult, conditions: int) -> str:
    failed = "、".join(f"“{i.name_zh}”" for i in parcel.items if i.status == "fail")
    covered = parcel.covered_ratio
    outside = percent(1.0 - covered, digits=2) if covered is not None else "部分"  # never 0.00 % of some
    return _render(
        t,
        f"conclusion.{parcel.verdict}",
        conditions=conditions,
        failed=failed,
        outside=outside,
        beyond=parcel.reaches_beyond,
        stock_alone=_stock_alone(parcel),
    )


def _project(t: dict[str, Any], parcel: ParcelResult) -> tuple[Fact, ...]:
    labels = t["project"]
    county = parcel.county
    area = Area(parcel.area_m2)
    location = f"{county.name}（行政区划代码 {county.code}）" if county else "未能确定（不在蓝图县级行政区内）"
    if parcel.counties:  # across a county line: each county with its part, the one holding most first
        parts = "，".join(
            f"{c.name}（行政区划代码 {c.code}）{Area(c.area_m2).m2_text}平方米（{Area(c.area_m2).ha_text}公顷，"
            f"{Area(c.area_m2).mu_text}亩）{unreviewed_part(c)}"
            for c in parcel.counties
        )
        location = f"跨县级行政区：{parts}"
    if parcel.geometry is not None:  # where in the county: the centre in CGCS2000 degrees
        centre = shapely.geometry.shape(parcel.geometry).centroid
        location += f"，中心点位于东经{centre.x:.5f}°、北纬{centre.y:.5f}°"
    facts = [
        Fact(labels["name"], parcel.name or "未填报"),
        Fact(labels["type"], project_type_zh(parcel.project_type, parcel.facility)),
        Fact(labels["location"], location),
        Fact(labels["area"], f"{area.ha_text}公顷（{area.mu_text}亩，{area.m2_text}平方米）"),
        Fact(labels["crs"], crs_label(parcel.crs_used)),
    ]
    if parcel.declared_area_ha is not None:
        facts.append(
            Fact(labels["declared"], _words(f"{parcel.declared_area_ha:,.4f}公顷{declared_area_note(parcel)}"))
        )
    return tuple(facts)


def _parcel(t: dict[str, Any], n: int, parcel: ParcelResult) -> ParcelOpinion:
    conditions, kept_site_lead, kept_site = _conditions(t, parcel)
    return ParcelOpinion(
        id=parcel.id,
        heading=_render(t, "parcel_heading", n=zh_number(n), id=parcel.id, name=parcel.name or f"地块 {parcel.id}"),
        verdict=parcel.verdict,
        verdict_zh=VERDICT_ZH[parcel.verdict],
        project=_project(t, parcel),
        findings=tuple(_finding(t, item) for item in parcel.items),
        conditions=conditions,
        quota=_quota(t, parcel),
        conclusion=_conclusion(t, parcel, len(conditions) + len(kept_site)),
        kept_site_lead=kept_site_lead,
        kept_site=kept_site,
    )


def opinion(
    result: ReviewResult,
    *,
    issuer: Issuer | None = None,
    number: DocumentNumber | None = None,
    data_dir: Path | None = None,
    synthetic: bool = False,
    blueprint: Blueprint | None = None,
    unverified: bool = False,
) -> Opinion:
    """The drafted 审查意见 of ``result`` in ``issuer.template``'s wording (see the module docstring).

    Without a ``number`` (no database: the CLI) the opinion is a draft and its number says so.
    ``blueprint`` (the one reviewed against) gives each layer's 现势性 to the notes (``layer_dates``).
    ``unverified``: ``result`` comes from a file whose signature could not be checked (its mark heads the paper).
    """
    issuer = issuer or Issuer()
    number = number or DocumentNumber.draft(issuer)
    synthetic = synthetic or result.synthetic  # the review's own flag: papers printed later, with no blueprint
    t = load_template(issuer.template, data_dir)
    profile = profile_zh(result.profile, data_dir)
    common = {
        "profile": profile,
        "blueprint": result.blueprint,
        "blueprint_version": result.blueprint_version or "",
        "count": len(result.parcels),
        # 土地利用现状（2023-12-31）；永久基本农田、…（均未注明）: the layers' 现势性 ("" without a blueprint)
        "layer_dates": "；".join(
            f"{labels}（{date}）" for labels, date in layer_dates(data_versions(result, blueprint)[1:])
        ),
    }
    notes = [text for n in t.get("notes", []) if (text := _render({"n": n}, "n", **common))]  # "" says nothing
    notes += table_notes(result)  # the standard table named once (样例标准表), not in every paragraph
    if synthetic:
        notes.append("示例蓝图的管控图层为合成数据，本意见仅供演示。")
    return Opinion(
        mark=paper_mark(synthetic=synthetic, unverified=unverified),
        title=_render(t, "title"),
        number=number.text,
        number_line=number.labelled,
        addressee=_render(t, "addressee") if "addressee" in t else "",  # a city's own template may have none
        review_id=result.review_id,
        draft=number.is_draft,
        template=str(t.get("name", issuer.template)),
        preamble=_render(t, "preamble", created=time_zh(result.created), **common),
        headings={k: str(v) for k, v in t["headings"].items()},
        parcels=tuple(_parcel(t, n, p) for n, p in enumerate(result.parcels, start=1)),
        closing=_render(t, "closing"),
        notes_heading=str(t.get("notes_heading", "说明")),
        notes=tuple(notes),
        issuer=issuer.unit,
        date=number.date_zh,
        signature=signature(issuer, number),
    )


# --- renderings ------------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~&$])")
# what opens a block at the start of a line once the characters above are escaped: an ordered list (1. or 1)),
# a bullet list (- or +), a thematic break or setext underline (--- or ===), a definition (pandoc's :)
_MD_LINE_START = re.compile(r"^(\d+)([.)])(?=[ \t]|$)|^([-+=:])")
_MD_HARD_BREAK = "\\\n"  # a backslash before the line end: a line break inside the paragraph (CommonMark)


def _md_line(line: str) -> str:
    """One line of plain text as Markdown that can open no block: its markup characters escaped (headings,
    quotes, code fences, tables and emphasis with them), its indent dropped (four spaces open a code block;
    Markdown shows no indent anyway) and a list marker, thematic break or setext underline at its start
    escaped."""
    escaped = _MD_SPECIAL.sub(r"\\\1", line.lstrip(" \t"))
    return _MD_LINE_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", escaped)


def md(text: str, *, inline: bool = False) -> str:
    """Plain text as Markdown that shows exactly that text and opens no block of its own, whatever its lines
    hold (a department's answer, a condition, a name from a result stored before names were one line).

    Every line is escaped on its own (``_md_line``); lines are joined by hard line breaks, so a paragraph or a
    list item keeps them, or by a space where Markdown has no second line (``inline``: a heading, a table's
    cell)."""
    lines = [_md_line(line) for line in text.splitlines()]
    while lines and not lines[-1]:  # a break at the end would show as a backslash: no paragraph ends in one
        lines.pop()
    return (" " if inline else _MD_HARD_BREAK).join(lines)


def opinion_markdown(op: Opinion) -> str:
    """The opinion as Markdown, editable in any text editor and convertible by pandoc. Every text goes through
    :func:`md`; headings and table cells take it ``inline`` (one line each)."""
    h = op.headings
    lines = [*synthetic_mark_lines(op.mark), f"# {md(op.title, inline=True)}", "", md(op.number_line), ""]
    lines += [*([md(op.addressee), ""] if op.addressee else []), md(op.preamble), ""]
    for p in op.parcels:
        lines += [f"## {md(p.heading, inline=True)}", "", f"### （一）{md(h['project'], inline=True)}", ""]
        lines += ["| 项目 | 内容 |", "| --- | --- |"]
        lines += [f"| {md(f.label, inline=True)} | {md(f.value, inline=True)} |" for f in p.project]
        lines += ["", f"### （二）{md(h['findings'], inline=True)}", ""]
        for n, f in enumerate(p.findings, start=1):
            lines += [f"{n}. **{md(f.name, inline=True)}**（{md(f.word)}）。{md(f.text)}{md(f.basis)}", ""]
        lines += [f"### （三）{md(h['conditions'], inline=True)}", ""]
        lines += [f"{n}. {md(c)}" for n, c in enumerate(p.conditions, start=1)] or ["无。"]
        if p.kept_site:  # the lead a paragraph of its own, unnumbered; the numbers run on
            lines += ["", md(p.kept_site_lead), ""]
            lines += [f"{n}. {md(c)}" for n, c in enumerate(p.kept_site, start=len(p.conditions) + 1)]
        lines += ["", f"### （四）{md(h['quota'], inline=True)}", "", md(p.quota), ""]
        lines += [f"### （五）{md(h['conclusion'], inline=True)}", ""]
        lines += [f"**{md(p.verdict_zh)}**。{md(p.conclusion)}", ""]
    lines += [md(op.closing), ""]
    if op.notes:
        lines += [f"{md(op.notes_heading)}：", "", *(f"{n}. {md(t)}" for n, t in enumerate(op.notes, start=1)), ""]
    lines += [f'<p align="right">{md(line, inline=True)}</p>' for line in op.signature]
    return "\n".join(lines) + "\n"


def synthetic_mark_lines(mark: str) -> list[str]:
    """The first lines of a Markdown paper with a mark (``SYNTHETIC_MARK``, ``UNVERIFIED_MARK``: quoted, then a blank
    line), none for a real one: the 审查意见 and the consultation's 预审意见 open alike."""
    return [f"> {md(mark, inline=True)}", ""] if mark else []


LABEL_COLUMN_MM: Final = 30  # the 基本情况 table's label column in the Word 审查意见


def opinion_docx(op: Opinion) -> bytes:
    """The opinion as a Word document (python-docx), the file a bureau edits, signs and seals.

    Laid out as GB/T 9704-2012 lays out an official document: A4, 版心 156 × 225 mm (top 37 mm,
    left 28 mm), body in 3号 (16 pt) 仿宋, title in 2号 (22 pt), page numbers 4号 "— n —" in the
    footer; parcel and section headings carry Word's heading styles so the navigation pane shows
    the structure. Word substitutes the faces the reader's machine has.
    """
    from docx import Document
    from docx.enum.style import WD_STYLE_TYPE
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.oxml.table import CT_Tbl
    from docx.shared import Emu, Mm, Pt, RGBColor
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    doc = Document()
    props = doc.core_properties
    props.title, props.author, props.last_modified_by = f"{op.title} {op.number}", op.issuer, op.issuer
    props.language, props.comments, props.subject = "zh-CN", "", op.title
    props.created = props.modified = datetime.now(UTC).replace(microsecond=0)
    for lang in doc.styles.element.xpath("w:docDefaults//w:lang"):  # the template says en-US for Chinese
        lang.set(qn("w:eastAsia"), "zh-CN")

    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)

    def face(run: Any, name: str, size: float, bold: bool = False) -> None:
        run.font.name = name
        run.font.size = Pt(size)
        run.font.bold = bold
        run.font.color.rgb = RGBColor(0, 0, 0)  # heading styles are blue by default
        run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)

    # each block put before the body's closing sectPr and each style named by its id: python-docx's
    # add_paragraph and add_table look for that sectPr among every block before it, and a style by name
    # among all styles, which made a 2,000-parcel opinion take minutes (the square of its length)
    body, end = doc.element.body, doc.element.body.sectPr
    style_ids = {name: doc.styles[name].style_id for name in ("Title", "Heading 1", "Heading 2")}
    grid = doc.styles.get_style_id("Table Grid", WD_STYLE_TYPE.TABLE)
    width = Emu(section.page_width - section.left_margin - section.right_margin)

    def block(element: Any) -> Any:
        end.addprevious(element)
        return element

    def para(
        text: str,
        *,
        size: float = 16,
        name: str = "仿宋",
        bold: bool = False,
        align: Any = None,
        indent: bool = True,
        style: str | None = None,
        keep: bool = False,
    ) -> None:
        p = Paragraph(block(OxmlElement("w:p")), body)
        if style is not None:
            p._p.style = style_ids[style]
        p.paragraph_format.keep_with_next = keep or None  # None: the style's own (no w:keepNext written)
        if align is not None:
            p.alignment = align
        if indent:
            p.paragraph_format.first_line_indent = Pt(size * 2)
        face(p.add_run(text), name, size, bold)

    if op.mark:  # on every page: a page printed alone still says it is no real opinion
        header = section.header.paragraphs[0]
        header.alignment = WD_ALIGN_PARAGRAPH.CENTER
        face(header.add_run(op.mark), "黑体", 12)
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    face(footer.add_run("— "), "宋体", 14)
    page = OxmlElement("w:fldSimple")
    page.set(qn("w:instr"), "PAGE")
    footer._p.append(page)
    face(footer.add_run(" —"), "宋体", 14)

    para(op.title, size=22, name="宋体", bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False, style="Title")
    para(op.number_line, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    if op.addressee:
        para(op.addressee, indent=False)  # 主送机关: flush left under the title (GB/T 9704)
    para(op.preamble)
    h = op.headings
    for p in op.parcels:
        para(p.heading, name="黑体", indent=False, style="Heading 1")
        para(f"（一）{h['project']}", name="楷体", indent=False, style="Heading 2")
        table: Any = Table(block(CT_Tbl.new_tbl(0, 2, width)), body)  # python-docx's add_row is unannotated
        table._tbl.tblStyle_val = grid
        # the labels (项目名称, 用地位置…, four characters of 三号) in a column of their width, the values in the rest:
        # equal halves wrapped 用地位置 and 坐标系统 with half the line empty (a fresh pair of eyes)
        label = Mm(LABEL_COLUMN_MM)
        table.columns[0].width, table.columns[1].width = label, Emu(width - label)
        for fact in p.project:
            cells = table.add_row().cells
            face(cells[0].paragraphs[0].add_run(fact.label), "仿宋", 14)
            face(cells[1].paragraphs[0].add_run(fact.value), "仿宋", 14)
        para(f"（二）{h['findings']}", name="楷体", indent=False, style="Heading 2")
        for n, finding in enumerate(p.findings, start=1):
            para(f"{n}．{finding.name}（{finding.word}）。{finding.text}{finding.basis}")
        para(f"（三）{h['conditions']}", name="楷体", indent=False, style="Heading 2")
        for n, c in enumerate(p.conditions, start=1):
            para(f"{n}．{c}")
        if not p.conditions:
            para("无。")
        if p.kept_site:
            para(p.kept_site_lead)
            for n, c in enumerate(p.kept_site, start=len(p.conditions) + 1):
                para(f"{n}．{c}")
        para(f"（四）{h['quota']}", name="楷体", indent=False, style="Heading 2")
        para(p.quota)
        para(f"（五）{h['conclusion']}", name="楷体", indent=False, style="Heading 2")
        para(f"{p.verdict_zh}。{p.conclusion}")
    # from 特此函告 to the seal one block (keep with next): Word never leaves the signature alone on a page
    para(op.closing, keep=True)
    if op.notes:
        para(f"{op.notes_heading}：", indent=False, keep=True)
        for n, text in enumerate(op.notes, start=1):
            para(f"{n}．{text}", size=14, keep=True)
    for n, line in enumerate(op.signature, start=1):
        para(line, align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False, keep=n < len(op.signature))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
