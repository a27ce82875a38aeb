// Screening keys: i include, e exclude (then 1-9 for the reason), m maybe, u undo, n next.
(function () {
  "use strict";
  function drawCurve() {
    var holder = document.getElementById("recall-curve");
    var data = document.getElementById("curve-data");
    if (!holder || !data || !window.Plotly) { return; }
    var curve = JSON.parse(data.textContent);
    window.Plotly.newPlot(holder, [{
      x: [0].concat(curve.screened), y: [0].concat(curve.relevant), mode: "lines",
      line: { shape: "hv" }, name: "relevant found"
    }], {
      margin: { l: 40, r: 10, t: 10, b: 36 }, height: 220,
      xaxis: { title: { text: "records final" }, rangemode: "tozero" },
      yaxis: { title: { text: "relevant found" }, rangemode: "tozero" }
    }, { displayModeBar: false, staticPlot: true });
  }
  function setup() {
    drawCurve();
    var form = document.getElementById("decision");
    if (!form) { return; }
    var reasons = document.getElementById("reasons");
    var waitingForReason = false;
    function submit(verdict, reason) {
      form.elements.verdict.value = verdict;
      form.elements.reason.value = reason || "";
      form.submit();
    }
    function askReason() {
      waitingForReason = true;
      reasons.hidden = false;
    }
    form.querySelectorAll("[data-verdict]").forEach(function (button) {
      button.addEventListener("click", function () {
        if (button.dataset.verdict === "exclude") { askReason(); } else { submit(button.dataset.verdict); }
      });
    });
    reasons.querySelectorAll("[data-reason]").forEach(function (button) {
      button.addEventListener("click", function () { submit("exclude", button.dataset.reason); });
    });
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey) { return; }
      if (event.target.closest && event.target.closest("input, textarea, select")) { return; }
      var key = event.key.toLowerCase();
      if (waitingForReason) {
        var index = parseInt(key, 10);
        var options = reasons.querySelectorAll("[data-reason]");
        if (index >= 1 && index <= options.length) { submit("exclude", options[index - 1].dataset.reason); }
        else if (key === "escape") { waitingForReason = false; reasons.hidden = true; }
        return;
      }
      if (key === "i") { submit("include"); }
      else if (key === "e") { askReason(); }
      else if (key === "m" && form.querySelector("[data-verdict=maybe]")) { submit("maybe"); }
      else if (key === "u") { window.location.href = document.getElementById("undo-link").href; }
      else if (key === "n") { window.location.href = document.getElementById("next-link").href; }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", setup); } else { setup(); }
})();
