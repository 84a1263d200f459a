// The viewer's 找地 panel: ask POST /api/v1/sites/search for N candidate sites and show them on the map.
// Loaded with defer, after the map and viewer.js; every text from the server goes through textContent.
(function () {
  "use strict";
  var map = window.lantuMap, panel = document.getElementById("lantu-panel");
  if (!map || !panel) { return; }
  var COLOURS = {pass: "#2e7d32", conditional: "#f9a825", reject: "#c62828"};
  var VERDICT_ZH = {pass: "通过", conditional: "有条件通过", reject: "不通过", out_of_coverage: "超出蓝图覆盖范围"};
  var layer = null;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function labelled(text, input) { var l = el("label", {}, text + " "); l.appendChild(input); return l; }

  var box = el("div", {id: "lantu-sites"});
  box.appendChild(el("h3", {}, "找地 Find sites"));
  var area = el("input", {id: "lantu-sites-area", type: "number", min: "1", step: "any", value: "50", style: "width:5em"});
  var count = el("input", {id: "lantu-sites-n", type: "number", min: "1", max: "20", value: "5", style: "width:3em"});
  var county = el("input", {id: "lantu-sites-county", type: "text", placeholder: "县区代码（可空）", style: "width:8em"});
  var row = el("div", {"class": "row"});
  row.appendChild(labelled("面积（亩）", area)); row.appendChild(labelled("数量", count));
  box.appendChild(row);
  row = el("div", {"class": "row"}); row.appendChild(labelled("县区", county)); box.appendChild(row);
  var go = el("button", {id: "lantu-sites-find", type: "button"}, "找地 Find");
  box.appendChild(go);
  var state = el("div", {id: "lantu-sites-status", role: "status"});
  var list = el("div", {id: "lantu-sites-result"});
  box.appendChild(state); box.appendChild(list);
  panel.appendChild(box);

  function value(id) { var node = document.getElementById(id); return node ? node.value : ""; }

  go.onclick = function () {
    var body = {area_mu: parseFloat(area.value), n: parseInt(count.value, 10) || 5,
      project_type: value("lantu-type") || "industrial"};
    if (value("lantu-invest")) { body.investment_wan = parseFloat(value("lantu-invest")); }
    var major = document.getElementById("lantu-major");
    if (major && major.checked) { body.major_project = true; }
    if (county.value.trim()) { body.county = county.value.trim(); }
    state.textContent = "选址中… searching"; go.disabled = true;
    fetch("/api/v1/sites/search", {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)}).then(function (r) {
      return r.json().then(function (json) { return {ok: r.ok, body: json}; });
    }).then(function (res) {
      go.disabled = false;
      if (!res.ok) {
        state.textContent = "错误 " + res.body.status + "：" + res.body.message_zh + " / " + res.body.message_en;
        return;
      }
      show(res.body);
    }).catch(function (err) { go.disabled = false; state.textContent = "请求失败 / request failed: " + err; });
  };

  function show(search) {
    if (layer) { map.removeLayer(layer); }
    layer = L.featureGroup().addTo(map);
    list.textContent = "";
    var table = el("table");
    search.sites.forEach(function (s) {
      var colour = COLOURS[s.verdict] || "#757575";
      var shape = L.geoJSON(s.geometry, {style: {color: colour, weight: 3, fillOpacity: 0.25}}).addTo(layer);
      var tip = el("div");
      tip.appendChild(el("b", {}, "#" + s.rank + " " + VERDICT_ZH[s.verdict]));
      tip.appendChild(el("div", {}, s.area_mu.toFixed(2) + " 亩 · 得分 " + s.score));
      s.reasons_zh.forEach(function (r) { tip.appendChild(el("div", {}, r)); });
      shape.bindPopup(tip);
      var tr = el("tr", {"class": "lantu-site"});
      tr.appendChild(el("td", {}, "#" + s.rank));
      tr.appendChild(el("td", {"class": "st-" + (s.verdict === "pass" ? "pass" : s.verdict === "reject" ? "fail" : "warn")},
        VERDICT_ZH[s.verdict]));
      tr.appendChild(el("td", {}, s.area_mu.toFixed(2) + " 亩"));
      tr.appendChild(el("td", {}, "得分 " + s.score));
      tr.appendChild(el("td", {}, s.reasons_zh.join("；")));
      tr.style.cursor = "pointer";
      tr.onclick = function () { map.fitBounds(shape.getBounds(), {maxZoom: 17}); shape.openPopup(); };
      table.appendChild(tr);
    });
    list.appendChild(table);
    (search.warnings || []).forEach(function (w) { list.appendChild(el("p", {}, w)); });
    state.textContent = search.sites.length + " 处候选地块（" + search.regions.length + " 个可行区域，分辨率 "
      + search.resolution_m + " 米）/ " + search.sites.length + " site(s)";
    if (search.sites.length) { map.fitBounds(layer.getBounds(), {maxZoom: 16}); }
    window.lantuLastSites = search;
  }
})();
