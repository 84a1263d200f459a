// The viewer: draw or upload a parcel, POST it to the review API, show the result on the map.
(function () {
  "use strict";
  var map = window.lantuMap;
  var COLOURS = {pass: "#2e7d32", warn: "#f9a825", fail: "#c62828", missing_layer: "#757575"};
  var STATUS_ZH = {pass: "通过", warn: "有条件", fail: "不通过", missing_layer: "未审查"};
  var VERDICT_ZH = {pass: "通过", conditional: "有条件通过", reject: "不通过", out_of_coverage: "超出蓝图覆盖范围"};
  var VERDICT_STATUS = {pass: "pass", conditional: "warn", reject: "fail", out_of_coverage: "missing_layer"};
  var SEVERITY = {warn: 1, missing_layer: 2, fail: 3};
  // the panes geo.maps made: a worse status lies higher, so fail is never under warn
  var PANES = {warn: "lantu-warn", missing_layer: "lantu-missing-layer", fail: "lantu-fail"};
  var M2_PER_MU = 10000 / 15;
  var SNAP_PX = 10;  // a click this close (screen pixels) to a vertex or an edge on the map lands on it
  var $ = function (id) { return document.getElementById(id); };
  var esc = function (text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  };
  var drawing = false, points = [], sketch = null, parcel = null, resultLayer = null, file = null;
  var stopResult = null;  // stops the last result's symbols and label placement (geo.maps SYMBOLS_JS, DECLUTTER_JS)
  // the result drawn as SVG, one renderer a pane: a canvas per pane would take every pointer event over the
  // whole map, so a parcel under a pane of pieces would never see the pointer that shows its hidden label
  var svgRenderers = {};
  function svg(pane) { return svgRenderers[pane] || (svgRenderers[pane] = L.svg({pane: pane})); }
  var targets = null, snapMark = null;  // the map's vector features while drawing; the snapped-point marker
  // the browser holds a session cookie (HttpOnly), never the API key; open demo needs neither
  if (window.lantuOpenDemo) { $("lantu-logout").style.display = "none"; }

  $("lantu-fold").onclick = function () {
    var folded = $("lantu-panel").classList.toggle("folded");
    this.textContent = folded ? "展开 Show" : "收起 Hide";
    this.setAttribute("aria-expanded", String(!folded));
  };
  function status(text) { $("lantu-status").textContent = text; }
  // Area on the sphere (the spherical-excess sum Leaflet.draw uses), shown while drawing only: the
  // review measures the parcel in its Gauss-Krüger zone. Radius: the authalic radius of CGCS2000.
  function sphericalArea(latlngs) {
    var R = 6371007.2, rad = Math.PI / 180, area = 0, n = latlngs.length;
    if (n < 3) { return 0; }
    for (var i = 0; i < n; i++) {
      var p1 = latlngs[i], p2 = latlngs[(i + 1) % n];
      area += (p2[1] - p1[1]) * rad * (2 + Math.sin(p1[0] * rad) + Math.sin(p2[0] * rad));
    }
    return Math.abs(area * R * R / 2);
  }
  function measure(latlngs) {
    var m2 = sphericalArea(latlngs);
    $("lantu-measure").textContent = latlngs.length < 3 ? "" :
      "约 " + (m2 / M2_PER_MU).toFixed(2) + " 亩 / " + m2.toFixed(0) + " m²";
  }
  // Snapping (Leaflet.GeometryUtil, vendored): a click near a vertex or an edge of a feature on the map
  // (the layers loaded and switched on, the offline base included) lands on it, vertices first, so a
  // planner traces a control layer's or a parcel's boundary exactly; a click near a corner already drawn
  // lands on it, and on the first corner closes the ring. The viewer's layers are simplified for display
  // (geo.maps.blueprint_map): their vertices are the blueprint's own, an edge is within that tolerance.
  function snapTargets() {
    if (!targets) {
      targets = [];
      map.eachLayer(function (l) { if (l instanceof L.Polyline && l !== sketch) { targets.push(l); } });
    }
    return targets;
  }
  map.on("layeradd layerremove", function (e) { if (e.layer instanceof L.Polyline && e.layer !== sketch) { targets = null; } });
  function snap(latlng) {
    if (!$("lantu-snap").checked) { return null; }
    var best = null;
    function consider(ll, distance, closes) {
      if (ll && distance <= SNAP_PX && (!best || distance < best.distance)) {
        best = {latlng: L.latLng(ll.lat, ll.lng), distance: distance, closes: closes};
      }
    }
    if (points.length) {
      var corner = L.GeometryUtil.closest(map, points, latlng, true);
      consider(corner, corner.distance, points.length >= 3 && corner.lat === points[0][0] && corner.lng === points[0][1]);
      if (best) { return best; }
    }
    var at = map.latLngToLayerPoint(latlng), pad = L.point(SNAP_PX, SNAP_PX);
    var box = L.latLngBounds(map.layerPointToLatLng(at.subtract(pad)), map.layerPointToLatLng(at.add(pad)));
    var near = snapTargets().filter(function (l) { return l.getBounds().isValid() && l.getBounds().intersects(box); });
    // any layer's vertex before any edge: a corner lying on another layer's edge is still met exactly
    near.forEach(function (l) { var v = L.GeometryUtil.closest(map, l, latlng, true); if (v) { consider(v, v.distance, false); } });
    if (!best) {
      var edge = L.GeometryUtil.closestLayer(map, near, latlng);
      if (edge) { consider(edge.latlng, edge.distance, false); }
      if (best) { best.edge = true; }
    }
    return best;
  }
  function showSnap(hit) {
    if (!hit) {
      if (snapMark) { map.removeLayer(snapMark); snapMark = null; }
      $("lantu-snap-hint").textContent = "";
      return;
    }
    if (snapMark) { snapMark.setLatLng(hit.latlng); } else {
      snapMark = L.marker(hit.latlng, {icon: L.divIcon({className: "lantu-snap-mark", iconSize: [12, 12]}),
        interactive: false, keyboard: false}).addTo(map);
    }
    $("lantu-snap-hint").textContent = hit.closes ? "已吸附首点，单击闭合 / click closes" : "已吸附 / snapped";
  }
  function clearAll() {
    [sketch, parcel, resultLayer].forEach(function (l) { if (l) { map.removeLayer(l); } });
    if (stopResult) { stopResult(); stopResult = null; }
    sketch = parcel = resultLayer = null; points = []; file = null; drawing = false; showSnap(null);
    $("lantu-file").value = ""; $("lantu-result").innerHTML = ""; $("lantu-measure").textContent = "";
    $("lantu-finish").disabled = true; $("lantu-review").disabled = true;
    map.doubleClickZoom.enable(); status("");
  }
  function redraw(extra) {
    var shown = extra ? points.concat([[extra.lat, extra.lng]]) : points;
    if (sketch) { sketch.setLatLngs(shown); } else {
      sketch = L.polygon(shown, {color: "#1565c0", dashArray: "4", fillOpacity: 0.08, interactive: false}).addTo(map);
    }
    measure(shown);
  }
  $("lantu-draw").onclick = function () {
    clearAll(); drawing = true; map.doubleClickZoom.disable();
    $("lantu-finish").disabled = false;
    status("在地图上单击添加界址点，至少 3 个，再单击首点或点“完成” / click the corners, then the first one again or Finish");
  };
  map.on("click", function (e) {
    if (!drawing) { return; }
    var hit = snap(e.latlng);
    if (hit && hit.closes) { finish(); return; }
    var at = hit ? hit.latlng : e.latlng;
    points.push([at.lat, at.lng]);
    redraw();
    if (hit && hit.edge) { exactEdge(points.length - 1, e.latlng); }
  });
  // An edge drawn here is the simplified one, a few metres off the layer's true edge: the service moves
  // the corner onto the exact boundary nearest the click (measured in the GK zone), unless the corner
  // was moved or removed meanwhile; without an answer the corner stays on the drawn edge.
  function exactEdge(index, clicked) {
    var at = points[index], reach = map.latLngToContainerPoint(clicked).add(L.point(SNAP_PX, 0));
    var metres = map.distance(clicked, map.containerPointToLatLng(reach)) + 5;  // + the display simplification
    var q = new URLSearchParams({lon: clicked.lng, lat: clicked.lat, within_m: Math.min(500, metres).toFixed(2)});
    fetch("/api/v1/layers/nearest-boundary?" + q, {credentials: "same-origin"}).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (body) {
      if (!body || !body.found || points[index] !== at) { return; }
      points[index] = [body.lat, body.lon];
      if (parcel) { parcel.setLatLngs(points); measure(points); } else { redraw(); }
      status("已吸附至" + body.layer_name_zh + "精确边界 / snapped to the exact edge of " + body.layer);
    }).catch(function () { /* the corner stays on the drawn edge */ });
  }
  // the container's own mousemove: the map's event is throttled over canvas-drawn layers (32 ms), which
  // would leave the marker and the 亩 readout behind the pointer where it stops
  L.DomEvent.on(map.getContainer(), "mousemove", function (ev) {
    if (!drawing) { return; }
    var latlng = map.mouseEventToLatLng(ev), hit = snap(latlng);
    showSnap(hit);
    if (points.length) { redraw(hit ? hit.latlng : latlng); }
  });
  $("lantu-snap").onchange = function () { if (!this.checked) { showSnap(null); } };
  function finish() {
    if (points.length < 3) { status("至少需要 3 个点 / at least 3 points"); return; }
    drawing = false; map.doubleClickZoom.enable(); showSnap(null);
    if (sketch) { map.removeLayer(sketch); sketch = null; }
    parcel = L.polygon(points, {color: "#1565c0", weight: 2, fillOpacity: 0.1}).addTo(map);
    measure(points);
    $("lantu-finish").disabled = true; $("lantu-review").disabled = false;
    status("已绘制地块，点“审查” / parcel drawn, press Review");
  }
  $("lantu-finish").onclick = finish;
  $("lantu-clear").onclick = clearAll;
  $("lantu-file").onchange = function (e) {
    file = e.target.files[0] || null;
    $("lantu-review").disabled = !file && !parcel;
    if (file) { status("已选择文件 " + file.name + "（各地块自带属性优先 / each parcel's own attributes win）"); }
  };
  function query() {
    var q = new URLSearchParams({project_type: $("lantu-type").value});
    if ($("lantu-invest").value) { q.set("investment_wan", $("lantu-invest").value); }
    if ($("lantu-major").checked) { q.set("major_project", "true"); }
    if ($("lantu-exempt").checked) { q.set("redline_exempt", "true"); }
    // an uploaded file keeps each parcel's own attributes unless the planner ticks "override"
    q.set("override", String(!file || $("lantu-override").checked));
    return q.toString();
  }
  $("lantu-review").onclick = function () {
    var init;
    if (file) {
      var form = new FormData(); form.append("file", file);
      init = {method: "POST", body: form};
    } else if (parcel) {
      // full precision (Leaflet rounds to 6 decimals by default): a snapped vertex reaches the review exactly
      var feature = parcel.toGeoJSON(false); feature.properties = {id: "W1", name: "网页绘制地块"};
      init = {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(feature)};
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
  // A point inside a parcel for its symbol (the API sends none; the result map takes shapely's point on
  // surface): the middle of the widest run across a part at a height between its vertices' nearest its
  // box's middle (so the line meets no vertex), the widest over all parts. Not the centroid: it can fall
  // outside a concave parcel.
  function interiorPoint(geometry) {
    var parts = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates, best = null;
    parts.forEach(function (rings) {
      var ys = [], xs = [], lo = Infinity, hi = -Infinity;
      rings.forEach(function (ring) { ring.forEach(function (c) { ys.push(c[1]); lo = Math.min(lo, c[1]); hi = Math.max(hi, c[1]); }); });
      var mid = (lo + hi) / 2;
      ys.forEach(function (v) { if (v <= mid && v > lo) { lo = v; } if (v > mid && v < hi) { hi = v; } });
      var y = (lo + hi) / 2;
      rings.forEach(function (ring) {
        for (var i = 0; i + 1 < ring.length; i++) {
          var a = ring[i], b = ring[i + 1];
          if ((a[1] < y) !== (b[1] < y)) { xs.push(a[0] + (y - a[1]) * (b[0] - a[0]) / (b[1] - a[1])); }
        }
      });
      xs.sort(function (u, v) { return u - v; });
      for (var k = 0; k + 1 < xs.length; k += 2) {
        if (!best || xs[k + 1] - xs[k] > best.width) { best = {width: xs[k + 1] - xs[k], at: [y, (xs[k] + xs[k + 1]) / 2]}; }
      }
    });
    var corner = parts[0][0][0];
    return best ? best.at : [corner[1], corner[0]];  // a parcel of no area: its first corner
  }
  function show(result) {
    if (resultLayer) { map.removeLayer(resultLayer); }
    if (stopResult) { stopResult(); }
    resultLayer = L.featureGroup().addTo(map);
    var pieces = [], labelled = [], symbols = [], html = "";
    result.parcels.forEach(function (p, n) {
      var verdictStatus = VERDICT_STATUS[p.verdict] || "missing_layer", colour = COLOURS[verdictStatus];
      var outline = L.GeoJSON.geometryToLayer(p.geometry, {pane: "lantu-parcels", renderer: svg("lantu-parcels"),
        color: colour, weight: 3, fillOpacity: 0.05});
      // the result map's symbol, above the pieces as there, shown while the parcel is a dot on screen; a click on it opens
      // the parcel's findings in the panel (while drawing, it is a corner like anywhere else)
      var symbol = L.circleMarker(interiorPoint(p.geometry), {pane: "lantu-symbols", renderer: svg("lantu-symbols"),
        radius: 6, color: colour, weight: 2, fillColor: "#ffffff", fillOpacity: 1, className: "lantu-symbol"});
      symbol.on("click", function (e) {
        if (drawing) { map.fire("click", e); } else { $("lantu-parcel-" + n).scrollIntoView({block: "start"}); }
      });
      symbols.push([outline, symbol]);
      // a parcel's group: its outline, its symbol (drawn over it) and, added below, its pieces, so the pointer on
      // any of them shows the label hidden for want of room; the label anchored on the symbol, as on the result map
      var group = L.featureGroup([outline, symbol])
        .bindTooltip(esc(p.id), {permanent: true, direction: "center", className: "lantu-label"}).addTo(resultLayer)
        .openTooltip(symbol.getLatLng());
      labelled.push({severity: SEVERITY[verdictStatus] || 0, layer: group});
      p.items.forEach(function (item) {
        item.details.forEach(function (d) {
          if (d.geometry && d.status !== "pass") { pieces.push({item: item, d: d, parcel: group}); }
        });
      });
      html += "<p id='lantu-parcel-" + n + "'><b>地块 " + esc(p.id) + "</b>：<span class='st-" + verdictStatus + "'>"
        + esc(VERDICT_ZH[p.verdict] || p.verdict)
        + "</span>，" + p.area_m2.toFixed(1) + " m² / " + p.area_ha.toFixed(4) + " 公顷 / "
        + p.area_mu.toFixed(2) + " 亩（" + esc(p.crs_used) + "）</p>"
        + "<table><thead><tr><th>审查项</th><th class='st'>结果</th><th class='msg'>说明</th></tr></thead><tbody>";
      p.items.forEach(function (item) {
        html += "<tr><td>" + esc(item.name_zh) + "</td><td class='st st-" + item.status + "'>" + STATUS_ZH[item.status]
          + "</td><td class='msg'>" + esc(item.message_zh) + "</td></tr>";
      });
      html += "</tbody></table>";
    });
    pieces.sort(function (a, b) { return SEVERITY[a.d.status] - SEVERITY[b.d.status]; });
    pieces.forEach(function (x) {
      var c = COLOURS[x.d.status];
      L.geoJSON(x.d.geometry, {pane: PANES[x.d.status], renderer: svg(PANES[x.d.status]),
        style: {color: c, weight: 1, fillColor: c, fillOpacity: 0.6}})
        .bindPopup(esc(x.item.name_zh) + "：" + STATUS_ZH[x.d.status] + " " + x.d.area_m2.toFixed(1)
          + " m²<br>" + esc(x.item.message_zh)).addTo(x.parcel);
    });
    var base = "/api/v1/reviews/" + encodeURIComponent(result.review_id);
    html += "<p class='links'><a id='lantu-open-report' href='" + base + "/report' target='_blank' rel='noopener'>审查报告 report</a>"
      + "<a id='lantu-open-map' href='" + base + "/map' target='_blank' rel='noopener'>结果地图 map</a>"
      + "<a id='lantu-open-pdf' href='" + base + "/report.pdf' target='_blank' rel='noopener'>PDF</a>"
      + "<a id='lantu-download-json' href='" + base + "/result.json' download>审查结果文件 JSON</a></p>";
    $("lantu-result").innerHTML = html;
    map.fitBounds(resultLayer.getBounds(), {maxZoom: 16});
    // the result map's symbols and labels, the symbols first (a label keeps off a symbol shown): no label covers
    // another, the worse verdict placed first (a stable sort), one without room hidden until a zoom where it
    // fits and shown while the pointer is on its parcel
    var stopSymbols = window.lantuSymbolsWhenSmall(map, symbols);
    labelled.sort(function (a, b) { return b.severity - a.severity; });
    var stopLabels = window.lantuDeclutter(map, labelled.map(function (x) { return x.layer; }));
    stopResult = function () { stopSymbols(); stopLabels(); };
    window.lantuLastReview = result;
    status("审查完成 / reviewed: " + result.review_id);
  }
  // A layer too large for the page (geo.maps.add_layers, by_view): its features meeting the view are loaded from
  // the API once the map is zoomed in far enough for a page of them, again after every move (a pause of 200 ms, the
  // request before it cancelled); a view holding more than a page shows none and says so, rather than a strip of
  // them beside blank land that reads as none there. The legend says what the layer shows.
  (window.lantuLayersByView || []).forEach(function (spec) {
    var asked = 0, pending = null, timer = null;  // the latest request's number; its cancel; the pause's timer
    var entry = document.querySelector("#lantu-legend [data-layer='" + spec.id + "']");
    function say(text) {
      var note = entry && entry.querySelector(".lantu-by-view");
      if (!note && entry) { note = document.createElement("div"); note.className = "lantu-by-view"; entry.appendChild(note); }
      if (note) { note.textContent = text; }
    }
    function tooltip(properties) {
      return [esc(spec.name)].concat(Object.keys(properties)
        .filter(function (k) { return properties[k] !== null && properties[k] !== ""; })
        .map(function (k) {
          var value = properties[k];
          var named = k === "class_code" && Object.prototype.hasOwnProperty.call(spec.classNames, value)
            && spec.classNames[value];
          return esc(k) + ": " + esc(named ? value + " " + named : value);  // 0101 水田, as the page's own layers
        })).join("<br>");
    }
    function stop() {
      asked += 1;
      if (pending) { pending.abort(); pending = null; }
      if (timer) { clearTimeout(timer); timer = null; }
    }
    function load() {
      stop();
      var mine = asked;
      if (!map.hasLayer(spec.group)) { spec.group.clearLayers(); say(""); return; }
      if (map.getZoom() < spec.minZoom) {
        spec.group.clearLayers();
        say("放大至第 " + spec.minZoom + " 级显示 / zoom in to level " + spec.minZoom + " (now " + map.getZoom() + ")");
        return;
      }
      timer = setTimeout(function () { fetchView(mine); }, 200);
    }
    function fetchView(mine) {
      var b = map.getBounds();
      var box = [Math.max(b.getWest(), -180), Math.max(b.getSouth(), -90), Math.min(b.getEast(), 180), Math.min(b.getNorth(), 90)];
      var url = "/api/v1/layers/" + encodeURIComponent(spec.id) + "/items?limit=" + spec.limit
        + "&bbox=" + box.map(function (v) { return v.toFixed(6); }).join(",");
      var control = window.AbortController ? new AbortController() : null;
      pending = control;
      say("加载中 / loading");
      fetch(url, {credentials: "same-origin", signal: control ? control.signal : undefined}).then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      }).then(function (page) {
        if (mine !== asked) { return; }
        pending = null;
        spec.group.clearLayers();
        if (page.numberMatched > page.numberReturned) {
          say("视窗内 " + page.numberMatched + " 个，多于一次可显示的 " + spec.limit + " 个：请再放大 / "
            + page.numberMatched + " in view, more than " + spec.limit + ": zoom in further");
          return;
        }
        L.geoJSON(page, {
          style: {color: spec.colour, weight: 1, fillColor: spec.colour, fillOpacity: 0.25},
          onEachFeature: function (f, l) { l.bindTooltip(tooltip(f.properties || {})); }
        }).addTo(spec.group);
        say("视窗内 " + page.numberReturned + " 个 / " + page.numberReturned + " in view");
      }).catch(function (err) {
        if (mine === asked && !(err && err.name === "AbortError")) { say("加载失败 / not loaded: " + err.message); }
      });
    }
    map.on("moveend", load);
    map.on("overlayadd overlayremove", function (e) { if (e.layer === spec.group) { load(); } });
    load();
  });
})();
