/* The report's charts, drawn from its embedded data (licbench/reports/interactive.py): the RD
 * chart with its selectors (metric, group, single image, rate axis), the per-image BD-rate strip
 * plots and the complexity plot. */
(function () {
  "use strict";
  var D = LB.data("report-data");
  var style = {};
  D.codecs.forEach(function (name, i) { style[name] = LB.style(i); });
  Object.keys(D.references).forEach(function (name, j) {
    style["ref:" + name] = LB.style(D.codecs.length + j);
  });
  var metricOf = {};
  D.metrics.forEach(function (m) { metricOf[m.key] = m; });

  function pointTip(name, curve, metric, extra) {
    return function (i) {
      var lines = [name];
      if (curve.q && curve.q[i] != null) { lines.push("quality " + (+curve.q[i].toPrecision(6))); }
      lines.push(LB.fmt(curve.bpp[i], 4) + " bpp");
      lines.push(metric.label + ": " + LB.fmt(curve[metric.key][i], metric.digits));
      if (extra) { lines.push(extra); }
      else if (curve.n && curve.n[i] != null) { lines.push("mean over " + curve.n[i] + " image(s)"); }
      return lines.join("\n");
    };
  }

  function curveSeries(name, curve, metric, look, extra) {
    var x = [], y = [], keep = [];
    if (!curve || !curve[metric.key]) { return null; }
    curve.bpp.forEach(function (b, i) {
      var v = curve[metric.key][i];
      if (b != null && v != null) { keep.push(i); }
    });
    keep.sort(function (a, b) { return curve.bpp[a] - curve.bpp[b]; });
    var ordered = {bpp: [], q: curve.q ? [] : null, n: curve.n ? [] : null};
    ordered[metric.key] = [];
    keep.forEach(function (i) {
      x.push(curve.bpp[i]); y.push(curve[metric.key][i]);
      ordered.bpp.push(curve.bpp[i]); ordered[metric.key].push(curve[metric.key][i]);
      if (ordered.q) { ordered.q.push(curve.q[i]); }
      if (ordered.n) { ordered.n.push(curve.n[i]); }
    });
    if (!x.length) { return null; }
    return {label: look.label || name, color: look.color, marker: look.marker, bold: look.bold,
      dash: look.dash, hollow: look.hollow, x: x, y: y,
      tip: pointTip(look.label || name, ordered, metric, extra)};
  }

  // ---- the RD chart and its selectors
  var rd = document.getElementById("rd-chart");
  var controls = document.getElementById("rd-controls");
  var rdNote = document.getElementById("rd-view-note");
  var hiddenRd = {};
  if (rd && D.metrics.length) {
    var pick = function (id) { return document.getElementById(id); };
    LB.options(pick("rd-metric"), D.metrics.map(function (m) { return [m.key, m.label]; }));
    LB.options(pick("rd-view"), D.views.map(function (v) { return [v.key, v.label]; }));
    var imageOptions = [["", "— none: mean curves —"]].concat(D.images_shown.map(function (i) {
      return [String(i), D.images[i]];
    }));
    LB.options(pick("rd-image"), imageOptions, "");
    if (D.images_shown.length < D.images_with_curves) {
      pick("rd-image-cap").textContent = "(" + D.images_shown.length + " of " +
        D.images_with_curves + " images: the worst and best of each codec, then by name; " +
        "every image's curves are in summary.json per_image_curves)";
    }
    var draw = function () {
      var metric = metricOf[pick("rd-metric").value];
      var image = pick("rd-image").value;
      var log = pick("rd-log").checked;
      var view = D.views.filter(function (v) { return v.key === pick("rd-view").value; })[0];
      pick("rd-view").disabled = !!image;  // (one image's curves are that image's, in any group)
      var series = [], note;
      D.codecs.forEach(function (name) {
        var look = {color: style[name].color, marker: style[name].marker, bold: name === D.anchor,
          label: name === D.anchor ? name + " (anchor)" : name};
        var s;
        if (image) {
          s = curveSeries(name, (D.image_curves[name] || {})[image], metric, look,
            "image " + D.images[+image]);
        } else {
          s = curveSeries(name, view.curves[name], metric, look);
        }
        if (s) { series.push(s); }
      });
      if (image) {
        note = "The curves of one image: " + D.images[+image] + " (each point one job). " +
          "Published references are averages over their own dataset and are not drawn here.";
      } else {
        note = "Mean curves, " + view.label + ".";
        if (view.key === "all") {
          Object.keys(D.references).forEach(function (name) {
            var look = {color: style["ref:" + name].color, marker: style["ref:" + name].marker,
              dash: true, hollow: true, label: name + " (published)"};
            var s = curveSeries(name, D.references[name], metric, look, "published reference");
            if (s) { series.push(s); }
          });
        } else if (Object.keys(D.references).length) {
          note += " Published references are averages over a whole dataset: drawn with all images only.";
        }
      }
      rdNote.textContent = note;
      LB.chart(rd, {xlabel: "bits per pixel" + (log ? " (log scale)" : ""),
        ylabel: metric.label + (metric.lower ? " — lower is better" : ""), xlog: log,
        series: series, hidden: hiddenRd, empty: "No curve has " + metric.label + " here."});
    };
    // a log rate axis from the start when the curves span more than a decade of rate (low
    // rates crowd into a corner of a linear axis)
    var rates = [];
    D.codecs.forEach(function (name) {
      ((D.views[0].curves[name] || {}).bpp || []).forEach(function (b) { if (b > 0) { rates.push(b); } });
    });
    pick("rd-log").checked = rates.length > 1 &&
      Math.max.apply(null, rates) / Math.min.apply(null, rates) > 10;
    ["rd-metric", "rd-view", "rd-image", "rd-log"].forEach(function (id) {
      pick(id).addEventListener("change", draw);
    });
    controls.hidden = false;
    draw();
  }

  // ---- per-image BD-rates: one strip plot per metric, a row per codec
  function jitter(i) {  // the same small vertical offset for an image every time
    var h = Math.sin(i * 12.9898 + 78.233) * 43758.5453;
    return (h - Math.floor(h) - 0.5) * 0.5;
  }
  D.strips.forEach(function (strip, k) {
    var el = document.getElementById("strip-" + k);
    if (!el) { return; }
    var rows = strip.rows;
    var dense = rows.some(function (r) { return r.values.length > 500; });
    var series = rows.map(function (row, r) {
      var look = style[row.codec] || LB.style(r);
      var x = row.values.map(function (p) { return p[1]; });
      var y = row.values.map(function (p) { return r + jitter(p[0]); });
      var s = {label: row.codec, color: look.color, marker: look.marker, line: false,
        alpha: dense ? 0.35 : 0.7, size: dense ? 2.2 : 3.5, x: x, y: y,
        tip: function (i) {
          return D.images[row.values[i][0]] + "\n" + row.codec + ": BD-rate " +
            LB.fmt(row.values[i][1], 2) + "% against " + D.anchor;
        }};
      if (row.ci[0] != null && row.mean != null) {
        s.intervals = [[r, row.ci[0], row.ci[1], row.mean]];
      }
      return s;
    });
    LB.chart(el, {xlabel: "BD-rate (%) against " + D.anchor + ", " + strip.label +
      ", per image (bar: 95% interval of the mean)", ylabel: "", ycats: rows.map(function (r) {
      return r.codec; }), height: 90 + 70 * rows.length, series: series});
  });

  // ---- complexity: BD-rate against decoder kMAC/px
  var cx = document.getElementById("complexity-chart");
  if (cx && D.complexity) {
    var series = D.complexity.points.map(function (p, i) {
      var look = style[p.codec] || LB.style(i);
      return {label: p.codec, color: look.color, marker: look.marker, line: false, size: 6,
        x: [p.kmac], y: [p.value], tips: [p.codec + "\ndecoder " + LB.fmt(p.kmac, 1) +
          " kMAC/px\nBD-rate " + LB.fmt(p.value, 2) + "% against " + D.complexity.anchor +
          " (" + D.complexity.metric + ")"]};
    });
    LB.chart(cx, {xlabel: "decoder kMAC per pixel (log scale)", xlog: true, height: 340,
      ylabel: "BD-rate (%) against " + D.complexity.anchor + ", " + D.complexity.metric,
      series: series});
  }
})();
