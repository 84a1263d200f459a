"""A project's consultation on one page: the review map with a panel of each department's
items and answer (the viewer's words; every text HTML-escaped)."""

from __future__ import annotations

from typing import Any

import folium

from geo.blueprint import Blueprint
from geo.maps import Verbatim, html_text, page, review_map
from geo.review.result import ReviewResult

STATUS_COLOURS = {"待反馈": "#757575", "同意": "#2e7d32", "有条件同意": "#f9a825", "不同意": "#c62828"}


def consult_panel(status: dict[str, Any], result: ReviewResult) -> str:
    """The panel's HTML: project, round state, document number, and one row per department."""
    rows = "".join(
        f"<tr><td>{html_text(t['department_zh'])}</td>"
        f"<td>{'、'.join(dict.fromkeys(html_text(f['name_zh']) for f in t['findings']))}</td>"
        f"<td style='color:{STATUS_COLOURS.get(t['status'], '#000')};font-weight:bold'>{html_text(t['status'])}</td>"
        f"<td>{html_text(t['text'])}</td><td>{html_text(t['actor'])}</td><td>{html_text(t['due'])}</td></tr>"
        for t in status["tasks"]
    )
    doc = f"　预审意见 <b>{html_text(status['doc_number'])}</b>" if status.get("doc_number") else ""
    return (
        "<div id='lantu-consult' style='position:fixed;top:10px;right:10px;z-index:9999;max-width:46%;"
        "max-height:70%;overflow:auto;background:white;padding:8px 10px;border:1px solid #999;font-size:12px'>"
        f"<b>业务协同 项目 {html_text(status['project_id'])}</b>　第 {len(status['rounds'])} 轮　"
        f"{html_text(status['state_zh'])}{doc}"
        "<table style='border-collapse:collapse;margin-top:4px' border='1' cellpadding='3'>"
        "<tr><th>部门</th><th>事项</th><th>意见</th><th>条件／理由</th><th>反馈人</th><th>时限</th></tr>"
        f"{rows}</table></div>"
    )


def consult_page(
    status: dict[str, Any],
    result: ReviewResult,
    blueprint: Blueprint | None = None,
    *,
    tiles: str = "osm",
    tianditu_key: str | None = None,
    assets: str = "inline",
) -> folium.Map:
    """The review's map (parcel, conflicting pieces, layers) with the consultation panel over it."""
    fmap = review_map(result, blueprint, tiles=tiles, tianditu_key=tianditu_key, assets=assets)
    page(fmap).html.add_child(Verbatim(consult_panel(status, result)))
    return fmap
