// Spend dashboards: draw each chart from its Vega-Lite spec (a JSON script next to it) with
// the vendored Vega. Progressive enhancement: every number is also in a table.
// Vega's expression interpreter is used instead of eval, so a strict CSP needs no 'unsafe-eval'.
(function () {
  "use strict";
  if (!window.vegaEmbed) { return; }
  // No injected <style> elements (the CSP refuses them): vega-embed's own style is for the
  // actions menu, which is off; the tooltip's is served as portal/vega-tooltip.css.
  var options = { actions: false, defaultStyle: false, tooltip: { disableDefaultStyle: true }, renderer: "svg", ast: true, expr: window.vega && window.vega.expressionInterpreter };
  var drillTo = function (el, datum) {
    var base = el.getAttribute("data-drill");
    if (!base || !datum) { return; }
    var day = datum.day || datum["utcyearmonthdate_day"];
    var url = base;
    if (day) {
      var d = new Date(day);
      var iso = isNaN(d.getTime()) ? String(day).slice(0, 10) : d.toISOString().slice(0, 10);
      url = url.replace(/([?&])start=[^&]*/, "$1start=" + iso).replace(/([?&])end=[^&]*/, "$1end=" + iso);
    }
    var field = el.getAttribute("data-drill-field");
    if (field && datum.key && datum.key !== "Other" && datum.key.charAt(0) !== "(") {
      url += (url.indexOf("?") < 0 ? "?" : "&") + encodeURIComponent(field) + "=" + encodeURIComponent(datum.key);
    }
    window.location.assign(url);
  };
  var charts = document.querySelectorAll(".dash-vega[data-spec]");
  Array.prototype.forEach.call(charts, function (el) {
    var source = document.getElementById(el.getAttribute("data-spec"));
    if (!source) { return; }
    var spec = JSON.parse(source.textContent);
    window.vegaEmbed(el, spec, options).then(function (result) {
      el.setAttribute("data-rendered", "true");
      if (el.hasAttribute("data-drill")) {
        result.view.addEventListener("click", function (event, item) {
          if (item && item.datum) { drillTo(el, item.datum); }
        });
      }
    }).catch(function (error) {
      el.setAttribute("data-error", String(error));
    });
  });
})();
