// Patient timeline: mean myometry force, MMT-8 and CK/ULN over time, IVIg courses shaded with
// their daily dose, adverse events marked. Data come from the page (#timeline-data), computed on
// the server by myoivig.clinic.service.patient_timeline.
(function () {
  "use strict";
  function esc(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  function addDay(iso) {
    var d = new Date(iso + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + 1);
    return d.toISOString().slice(0, 10);
  }
  function draw() {
    var source = document.getElementById("timeline-data");
    var target = document.getElementById("timeline");
    if (!source || !target || !window.Plotly) { return; }
    var t = JSON.parse(source.textContent);
    var line = function (name, values, axis, colour, dash) {
      return {
        x: t.dates, y: values, name: name, yaxis: axis, type: "scatter",
        mode: "lines+markers", connectgaps: false,
        line: { color: colour, width: 2, dash: dash || "solid" }, marker: { size: 7 },
        hovertemplate: "%{x}: %{y:.2f}<extra>" + name + "</extra>"
      };
    };
    var traces = [
      line("Mean myometry force (N)", t.mean_force_n, "y", "#1f5fa8"),
      line("MMT-8 total", t.mmt8, "y2", "#2e8b57"),
      line("CK × ULN", t.ck_times_uln, "y3", "#b5651d", "dot")
    ];
    var shapes = [], annotations = [];
    t.courses.forEach(function (c) {
      shapes.push({
        type: "rect", xref: "x", yref: "paper", x0: c.start, x1: addDay(c.end), y0: 0, y1: 1,
        fillcolor: "rgba(120, 90, 200, 0.16)", line: { width: 0 }, layer: "below"
      });
      annotations.push({
        x: c.start, y: 1.0, xref: "x", yref: "paper", yanchor: "bottom", xanchor: "left",
        showarrow: false, font: { size: 10, color: "#54408f" },
        text: "C" + c.number + (c.daily_dose_g ? " " + c.daily_dose_g + " g/d × " + c.days : "")
      });
    });
    t.adverse_events.forEach(function (e, i) {
      var colour = e.serious ? "#c0392b" : "#e67e22";
      shapes.push({
        type: "line", xref: "x", yref: "paper", x0: e.date, x1: e.date, y0: 0, y1: 1,
        line: { color: colour, width: e.serious ? 2 : 1, dash: "dash" }
      });
      annotations.push({
        x: e.date, y: 0.02 + 0.07 * (i % 3), xref: "x", yref: "paper", xanchor: "left",
        showarrow: false, font: { size: 10, color: colour },
        text: "AE: " + esc(e.term) + (e.serious ? " (serious)" : "")
      });
    });
    if (t.ck_times_uln.some(function (v) { return v !== null; })) {
      shapes.push({
        type: "line", xref: "paper", yref: "y3", x0: 0, x1: 0.9, y0: 1, y1: 1,
        line: { color: "#b5651d", width: 1, dash: "dashdot" }
      });
    }
    var layout = {
      height: 420, margin: { l: 60, r: 110, t: 40, b: 40 },
      legend: { orientation: "h", y: -0.15 },
      xaxis: { type: "date", domain: [0, 0.9] },
      yaxis: { title: { text: "Force (N)" }, rangemode: "tozero", color: "#1f5fa8" },
      yaxis2: { title: { text: "MMT-8" }, overlaying: "y", side: "right", rangemode: "tozero",
                color: "#2e8b57", showgrid: false },
      yaxis3: { title: { text: "CK × ULN" }, overlaying: "y", side: "right", anchor: "free",
                position: 1.0, rangemode: "tozero", color: "#b5651d", showgrid: false },
      shapes: shapes, annotations: annotations
    };
    window.Plotly.newPlot(target, traces, layout, { displaylogo: false, responsive: true });
    drawGroups(t, shapes.filter(function (s) { return s.type === "rect"; }));
  }
  var PALETTE = ["#1f5fa8", "#2e8b57", "#b5651d", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d",
                 "#d35400", "#2c3e50", "#27ae60", "#e84393", "#6c5ce7"];
  function drawGroups(t, courseShapes) {
    var target = document.getElementById("force-groups");
    if (!target) { return; }
    var names = Object.keys(t.force_by_group);
    var groups = [];
    names.forEach(function (n) {
      var g = n.replace(/ \((left|right|axial)\)$/, "");
      if (groups.indexOf(g) < 0) { groups.push(g); }
    });
    var traces = names.map(function (n) {
      var g = n.replace(/ \((left|right|axial)\)$/, "");
      return {
        x: t.dates, y: t.force_by_group[n], name: esc(n), type: "scatter",
        mode: "lines+markers", connectgaps: false,
        line: { color: PALETTE[groups.indexOf(g) % PALETTE.length], width: 2,
                dash: / \(right\)$/.test(n) ? "dash" : "solid" },
        marker: { size: 6 }, hovertemplate: "%{x}: %{y:.1f} N<extra>" + esc(n) + "</extra>"
      };
    });
    var layout = {
      height: 380, margin: { l: 60, r: 20, t: 20, b: 40 },
      xaxis: { type: "date" }, yaxis: { title: { text: "Force (N)" }, rangemode: "tozero" },
      legend: { orientation: "v", x: 1.02, y: 1 }, shapes: courseShapes
    };
    window.Plotly.newPlot(target, traces, layout, { displaylogo: false, responsive: true });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else { draw(); }
})();
