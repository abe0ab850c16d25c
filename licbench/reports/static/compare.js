/* compare.html: the runs' curves overlaid (metric selector, rate axis), and the timeline of each
 * codec's BD-rate against the baseline's anchor, in run order, with per-image intervals. */
(function () {
  "use strict";
  var D = LB.data("compare-data");
  var $ = function (id) { return document.getElementById(id); };
  var hidden = {};
  var metricOf = {};
  D.metrics.forEach(function (m) { metricOf[m.key] = m; });

  function drawCurves() {
    var metric = metricOf[$("cmp-metric").value], log = $("cmp-log").checked;
    var series = [];
    D.curves.forEach(function (entry, n) {
      var c = entry.curve, look = LB.style(n), x = [], y = [], keep = [];
      if (!c[metric.key]) { return; }
      c.bpp.forEach(function (b, i) { if (b != null && c[metric.key][i] != null) { keep.push(i); } });
      keep.sort(function (a, b) { return c.bpp[a] - c.bpp[b]; });
      keep.forEach(function (i) { x.push(c.bpp[i]); y.push(c[metric.key][i]); });
      if (!x.length) { return; }
      var label = entry.run + ": " + entry.codec;
      series.push({label: label, color: look.color, marker: look.marker, x: x, y: y,
        bold: entry.run === D.baseline && entry.codec === D.anchor,
        tip: function (j) {
          var i = keep[j], lines = [label];
          if (c.q && c.q[i] != null) { lines.push("quality " + (+c.q[i].toPrecision(6))); }
          lines.push(LB.fmt(c.bpp[i], 4) + " bpp");
          lines.push(metric.label + ": " + LB.fmt(c[metric.key][i], metric.digits));
          if (c.n && c.n[i] != null) { lines.push("mean over " + c.n[i] + " image(s)"); }
          return lines.join("\n");
        }});
    });
    LB.chart($("cmp-curves"), {xlabel: "bits per pixel" + (log ? " (log scale)" : ""), xlog: log,
      ylabel: metric.label + (metric.lower ? " — lower is better" : ""), series: series,
      hidden: hidden, empty: "No run has " + metric.label + "."});
  }

  if (D.metrics.length) {
    LB.options($("cmp-metric"), D.metrics.map(function (m) { return [m.key, m.label]; }),
      D.metrics.some(function (m) { return m.key === D.metric; }) ? D.metric : D.metrics[0].key);
    var rates = [];  // a log rate axis from the start when the curves span over a decade
    D.curves.forEach(function (e) { e.curve.bpp.forEach(function (b) { if (b > 0) { rates.push(b); } }); });
    $("cmp-log").checked = rates.length > 1 &&
      Math.max.apply(null, rates) / Math.min.apply(null, rates) > 10;
    $("cmp-metric").addEventListener("change", drawCurves);
    $("cmp-log").addEventListener("change", drawCurves);
    $("cmp-controls").hidden = false;
    drawCurves();
  }

  var timeline = $("cmp-timeline");
  if (timeline && D.runs.length > 1) {
    var codecs = Object.keys(D.timeline.codecs);
    var series = codecs.map(function (codec, n) {
      var look = LB.style(n), points = D.timeline.codecs[codec], x = [], y = [], iv = [], at = [];
      points.forEach(function (p, i) {
        if (p.value == null) { return; }
        x.push(i); y.push(p.value); at.push(i);
        if (p.interval) { iv.push([i, p.interval[0], p.interval[1]]); }
      });
      return {label: codec, color: look.color, marker: look.marker, x: x, y: y, vintervals: iv,
        tip: function (j) {
          var p = points[at[j]];
          return codec + " in " + D.runs[at[j]] + "\nBD-rate " + LB.fmt(p.value, 2) + "% against " +
            D.anchor + " of " + D.baseline + (p.interval ? "\nper-image mean, 95% interval " +
            LB.fmt(p.interval[0], 2) + " … " + LB.fmt(p.interval[1], 2) : "");
        }};
    }).filter(function (s) { return s.x.length; });
    LB.chart(timeline, {xcats: D.runs, xlabel: "runs, " + (D.order === "given" ?
      "in the order given" : "ordered by " + D.order), ylabel: "BD-rate (%) against " + D.anchor +
      " of " + D.baseline + ", " + D.metric, series: series, height: 340});
  }
})();
