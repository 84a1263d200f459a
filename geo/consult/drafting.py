"""The words of 业务协同: the paragraph each department answers, and the consolidated 预审意见.

Both are drafted from the review result alone (item findings, areas, 所需手续, 审查依据) and,
for the 预审意见, every department's answer and conditions (聊城 全周期服务办法 第十二条: the
collected opinions serve as the formal 预审意见 while the project's content does not change).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from geo.crs import Area
from geo.opinion import md as escape_md
from geo.opinion import synthetic_mark_lines
from geo.papers import date_zh, time_zh
from geo.report_model import noted_unverified, paper_mark
from geo.review.result import ReviewResult
from geo.vocabulary import VERDICT_LABELS


def area_text(m2: float) -> str:
    """An area as every paper writes it (``geo.crs.Area``: m² 2, 公顷 4, 亩 2 decimals), in 平方米."""
    a = Area(m2)
    return f"{a.m2_text} 平方米（{a.ha_text} 公顷，{a.mu_text} 亩）"


def finding_paragraph(finding: dict[str, Any]) -> str:
    """One finding (a stored task's ``items_json`` entry) as a numbered-list paragraph."""
    if finding.get("parcel_id") is None:
        return f"【{finding['name_zh']}】项目类型须核定{finding['name_zh']}，请反馈指标来源与保障意见。"
    text = f"【{finding['name_zh']}】地块 {finding['parcel_id']}：{finding['finding']}"  # the 审查意见's sentence
    if finding.get("layer_zh") and finding["overlap_m2"] > 0:  # the department's share of a shared item
        text += f"其中{finding['layer_zh']}涉及 {area_text(finding['overlap_m2'])}。"
    if finding.get("procedures"):
        text += "所需手续：" + "；".join(p.rstrip("。") for p in finding["procedures"]) + "。"
    return text + str(finding.get("basis", ""))


def task_draft(department_zh: str, project_id: str, findings: Sequence[dict[str, Any]], due: str) -> str:
    """The text a department receives: what to answer, by when, and how (第十条 按照规定时间反馈)."""
    lines = [
        f"{department_zh}：",
        f"项目 {project_id} 已发起业务协同，请于 {due} 前就下列事项反馈意见"
        "（同意；有条件同意，写明条件；不同意，写明理由）：",
    ]
    lines += [f"{n}. {finding_paragraph(f)}" for n, f in enumerate(findings, start=1)]
    return "\n".join(lines)


def consolidated_opinion(
    *,
    doc_number: str,
    issued: str,
    project: dict[str, Any],
    round_number: int,
    result: ReviewResult,
    tasks: Sequence[dict[str, Any]],
    issuer: str,
) -> tuple[str, dict[str, Any]]:
    """The 预审意见 of an agreed round: Markdown text and the same content as JSON.

    ``tasks`` are the round's tasks with their current answer (``department``, ``department_zh``,
    ``findings``, ``status``, ``text``, ``actor``, ``answered``). A review made on the demo blueprint
    (``result.synthetic``) puts ``SYNTHETIC_MARK`` on the first line, as on every other paper, and in the
    JSON's ``mark``; one started from a review file that could not be verified (``noted_unverified``) the
    ``UNVERIFIED_MARK``.
    """
    conditions = [
        {"department": t["department"], "items": [f["code"] for f in t["findings"]], "text": t["text"]}
        for t in tasks
        if t["status"] == "有条件同意"
    ]
    procedures = list(
        dict.fromkeys(p for t in tasks for f in t["findings"] if f.get("parcel_id") for p in f.get("procedures", []))
    )
    parcels = [
        {
            "id": p.id,
            "name": p.name,
            "area_m2": p.area_m2,
            "area_ha": p.area_ha,
            "area_mu": p.area_mu,
            "county": p.county.model_dump() if p.county else None,
            "verdict": p.verdict,
            "crs_used": p.crs_used,
        }
        for p in result.parcels
    ]
    conclusion = (
        "经业务协同，相关部门均已反馈同意意见"
        + ("（部分附条件）" if conditions else "")
        + "，项目纳入储备。在项目建设内容不发生改变的前提下，本意见作为正式预审意见，为后续项目审批提供支撑"
        "（《聊城市重点项目推进全周期服务办法（试行）》第十一条、第十二条）。"
    )
    body: dict[str, Any] = {
        # as the 审查意见's: the demo's papers say what they are, and those of a file that could not be verified
        "mark": paper_mark(synthetic=result.synthetic, unverified=noted_unverified(result)),
        "doc_number": doc_number,
        "issuer": issuer,
        "issued": issued,
        "project": project,
        "round": round_number,
        "review_id": result.review_id,
        "blueprint": result.blueprint,
        "parcels": parcels,
        "departments": [
            {
                "department": t["department"],
                "department_zh": t["department_zh"],
                "items": [f["code"] for f in t["findings"]],
                "opinion": t["status"],
                "text": t["text"],
                "actor": t["actor"],
                "answered": t["answered"],
            }
            for t in tasks
        ],
        "conditions": conditions,
        "procedures": procedures,
        "conclusion": conclusion,
    }
    return _markdown(body, result, tasks), body


def _markdown(body: dict[str, Any], result: ReviewResult, tasks: Sequence[dict[str, Any]]) -> str:
    """The 预审意见 as Markdown. Every text that may hold a planner's or a department's words verbatim goes
    through :func:`geo.opinion.md` (a department's answer keeps its lines, none of which can open a block);
    headings and the project's name one line each."""
    e = escape_md
    project = body["project"]
    name = project.get("name") or project["id"]
    md = [*synthetic_mark_lines(body["mark"]), f"# {e(name, inline=True)} 预审意见", ""]
    md += [f"**{e(body['doc_number'], inline=True)}**　　{e(body['issuer'], inline=True)}　　{date_zh(body['issued'])}"]
    md += [
        "",
        f"项目编号 {e(project['id'])}；审查记录 {e(result.review_id)}；蓝图 {e(result.blueprint)}；"
        f"第 {body['round']} 轮业务协同。",
        "",
    ]
    md += ["## 一、用地情况", ""]
    for p in result.parcels:
        county = f"，位于{e(p.county.name)}" if p.county else ""
        verdict = VERDICT_LABELS[p.verdict][0]
        md.append(f"- 地块 {e(p.id)}{county}，面积 {area_text(p.area_m2)}，审查结论：{verdict}（{e(p.crs_used)}）。")
    md += ["", "## 二、审查事项与部门意见", ""]
    for t in tasks:
        answer = t["status"] + (f"：{e(t['text'])}" if t["text"] else "")
        when = time_zh(t["answered"])
        md += [f"### {e(t['department_zh'], inline=True)}", "", f"意见：{answer}", ""]
        md += [f"反馈：{e(t['actor'])}，{when}", ""]
        md += [f"{n}. {e(finding_paragraph(f))}" for n, f in enumerate(t["findings"], start=1)]
        md.append("")
    if body["conditions"] or body["procedures"]:
        md += ["## 三、条件与所需手续", ""]
        md += [f"- {e(c['department'])}：{e(c['text'])}" for c in body["conditions"]]
        md += [f"- {e(p)}" for p in body["procedures"]]
        md.append("")
    md += ["## 结论", "", body["conclusion"], ""]
    return "\n".join(md)
