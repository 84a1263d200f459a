// The viewer: draw or upload a parcel, POST it to the review API, show the result on the map.
(function () {
  "use strict";
  var map = window.lantuMap;
  var COLOURS = {pass: "#2e7d32", warn: "#f9a825", fail: "#c62828", missing_layer: "#757575"};
  var STATUS_ZH = {pass: "通过", warn: "有条件", fail: "不通过", missing_layer: "缺图层"};
  var VERDICT_ZH = {pass: "通过", conditional: "有条件通过", reject: "否决"};
  var $ = function (id) { return document.getElementById(id); };
  var esc = function (text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  };
  var drawing = false, points = [], sketch = null, parcel = null, resultLayer = null, file = null;
  // the browser holds a session cookie (HttpOnly), never the API key; open demo needs neither
  if (window.lantuOpenDemo) { $("lantu-logout").style.display = "none"; }

  function status(text) { $("lantu-status").textContent = text; }
  function headers(extra) { return extra || {}; }
  function clearAll() {
    [sketch, parcel, resultLayer].forEach(function (l) { if (l) { map.removeLayer(l); } });
    sketch = parcel = resultLayer = null; points = []; file = null; drawing = false;
    $("lantu-file").value = ""; $("lantu-result").innerHTML = "";
    $("lantu-finish").disabled = true; $("lantu-review").disabled = true;
    map.doubleClickZoom.enable(); status("");
  }
  $("lantu-draw").onclick = function () {
    clearAll(); drawing = true; map.doubleClickZoom.disable();
    $("lantu-finish").disabled = false;
    status("在地图上单击添加界址点，至少 3 个，然后点“完成” / click the corners, then Finish");
  };
  map.on("click", function (e) {
    if (!drawing) { return; }
    points.push([e.latlng.lat, e.latlng.lng]);
    if (sketch) { map.removeLayer(sketch); }
    sketch = L.polyline(points, {color: "#1565c0", dashArray: "4"}).addTo(map);
  });
  $("lantu-finish").onclick = function () {
    if (points.length < 3) { status("至少需要 3 个点 / at least 3 points"); return; }
    drawing = false; map.doubleClickZoom.enable();
    if (sketch) { map.removeLayer(sketch); sketch = null; }
    parcel = L.polygon(points, {color: "#1565c0", weight: 2, fillOpacity: 0.1}).addTo(map);
    $("lantu-finish").disabled = true; $("lantu-review").disabled = false;
    status("已绘制地块，点“审查” / parcel drawn, press Review");
  };
  $("lantu-clear").onclick = clearAll;
  $("lantu-file").onchange = function (e) {
    file = e.target.files[0] || null;
    $("lantu-review").disabled = !file && !parcel;
    if (file) { status("已选择文件 " + file.name); }
  };
  function query() {
    var q = new URLSearchParams({project_type: $("lantu-type").value});
    if ($("lantu-invest").value) { q.set("investment_wan", $("lantu-invest").value); }
    if ($("lantu-major").checked) { q.set("major_project", "true"); }
    if ($("lantu-exempt").checked) { q.set("redline_exempt", "true"); }
    return q.toString();
  }
  $("lantu-review").onclick = function () {
    var init;
    if (file) {
      var form = new FormData(); form.append("file", file);
      init = {method: "POST", headers: headers(), body: form};
    } else if (parcel) {
      var feature = parcel.toGeoJSON(); feature.properties = {id: "W1", name: "网页绘制地块"};
      init = {method: "POST", headers: headers({"Content-Type": "application/json"}), body: JSON.stringify(feature)};
    } else { return; }
    status("审查中… reviewing");
    init.credentials = "same-origin";
    fetch("/api/v1/reviews?" + query(), init).then(function (r) {
      return r.json().then(function (body) { return {ok: r.ok, body: body}; });
    }).then(function (res) {
      if (!res.ok) { status("错误 " + res.body.status + "：" + res.body.message_zh + " / " + res.body.message_en); return; }
      show(res.body);
    }).catch(function (err) { status("请求失败 / request failed: " + err); });
  };
  function openPage(url) { window.open(url, "_blank", "noopener"); }
  function show(result) {
    if (resultLayer) { map.removeLayer(resultLayer); }
    resultLayer = L.featureGroup().addTo(map);
    var html = "";
    result.parcels.forEach(function (p) {
      var colour = p.verdict === "pass" ? COLOURS.pass : (p.verdict === "conditional" ? COLOURS.warn : COLOURS.fail);
      L.geoJSON(p.geometry, {style: {color: colour, weight: 3, fillOpacity: 0.05}}).addTo(resultLayer);
      p.items.forEach(function (item) {
        item.details.forEach(function (d) {
          if (!d.geometry || d.status === "pass") { return; }
          L.geoJSON(d.geometry, {style: {color: COLOURS[d.status], weight: 1, fillColor: COLOURS[d.status],
            fillOpacity: 0.6}}).bindPopup(esc(item.name_zh) + "：" + STATUS_ZH[d.status] + " " + d.area_m2.toFixed(1)
            + " m²<br>" + esc(item.message_zh)).addTo(resultLayer);
        });
      });
      html += "<p><b>地块 " + esc(p.id) + "</b>：<span class='st-" + (p.verdict === "reject" ? "fail" : p.verdict === "pass" ? "pass" : "warn")
        + "'>" + VERDICT_ZH[p.verdict] + "</span>，" + p.area_m2.toFixed(1) + " m² / " + p.area_ha.toFixed(4) + " 公顷 / "
        + p.area_mu.toFixed(2) + " 亩（" + p.crs_used + "）</p><table>";
      p.items.forEach(function (item) {
        html += "<tr><td>" + esc(item.name_zh) + "</td><td class='st-" + item.status + "'>" + STATUS_ZH[item.status]
          + "</td><td>" + esc(item.message_zh) + "</td></tr>";
      });
      html += "</table>";
    });
    html += "<p><a href='#' id='lantu-open-report'>审查报告 report</a> · <a href='#' id='lantu-open-map'>结果地图 map</a></p>";
    $("lantu-result").innerHTML = html;
    $("lantu-open-report").onclick = function (e) { e.preventDefault(); openPage("/api/v1/reviews/" + result.review_id + "/report"); };
    $("lantu-open-map").onclick = function (e) { e.preventDefault(); openPage("/api/v1/reviews/" + result.review_id + "/map"); };
    map.fitBounds(resultLayer.getBounds(), {maxZoom: 16});
    window.lantuLastReview = result;
    status("审查完成 / reviewed: " + result.review_id);
  }
})();
