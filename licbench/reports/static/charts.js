/* licbench's charts: x/y plots drawn with uPlot (inlined beside this file) from data the page
 * carries. Every series has its own points (uPlot's "mode 2"), drawn here as a line and/or
 * markers: a colour-blind-safe palette (Okabe-Ito) with a marker shape per series, so that two
 * series never differ by colour alone. Hovering shows the nearest point's own lines of text;
 * clicking a legend entry hides or shows its series (uPlot's legend); drag zooms, a double click
 * resets. Text from users (codec and image names) is only ever set as textContent. */
var LB = (function () {
  "use strict";

  // Okabe & Ito (2008): distinguishable with every common colour-vision deficiency; the yellow
  // (hard to see on white) comes last
  var PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
    "#F0E442"];
  var MARKERS = ["circle", "square", "triangle", "diamond", "down", "cross", "plus", "star"];
  var charts = [];

  /** The n-th style: colour and marker cycle together first, then shift against each other,
   * so the first 64 series all differ in their (colour, marker) pair. */
  function style(n) {
    var round = Math.floor(n / PALETTE.length);
    return {
      color: PALETTE[(n + round) % PALETTE.length],
      marker: MARKERS[n % MARKERS.length]
    };
  }

  function shape(ctx, marker, x, y, r) {
    var k;
    switch (marker) {
      case "square": ctx.rect(x - r * 0.85, y - r * 0.85, r * 1.7, r * 1.7); break;
      case "triangle":
        ctx.moveTo(x, y - r * 1.1); ctx.lineTo(x + r, y + r * 0.8); ctx.lineTo(x - r, y + r * 0.8);
        ctx.closePath(); break;
      case "down":
        ctx.moveTo(x, y + r * 1.1); ctx.lineTo(x + r, y - r * 0.8); ctx.lineTo(x - r, y - r * 0.8);
        ctx.closePath(); break;
      case "diamond":
        ctx.moveTo(x, y - r * 1.2); ctx.lineTo(x + r, y); ctx.lineTo(x, y + r * 1.2);
        ctx.lineTo(x - r, y); ctx.closePath(); break;
      case "cross":
        ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y + r);
        ctx.moveTo(x + r, y - r); ctx.lineTo(x - r, y + r); break;
      case "plus":
        ctx.moveTo(x - r * 1.2, y); ctx.lineTo(x + r * 1.2, y);
        ctx.moveTo(x, y - r * 1.2); ctx.lineTo(x, y + r * 1.2); break;
      case "star":
        for (k = 0; k < 10; k++) {
          var a = Math.PI / 5 * k - Math.PI / 2, rr = k % 2 ? r * 0.5 : r * 1.25;
          if (k) { ctx.lineTo(x + rr * Math.cos(a), y + rr * Math.sin(a)); }
          else { ctx.moveTo(x + rr * Math.cos(a), y + rr * Math.sin(a)); }
        }
        ctx.closePath(); break;
      case "tick": ctx.moveTo(x, y - r * 2.2); ctx.lineTo(x, y + r * 2.2); break;
      default: ctx.moveTo(x + r, y); ctx.arc(x, y, r, 0, 2 * Math.PI);
    }
  }

  function open(marker) {
    return marker === "cross" || marker === "plus" || marker === "tick";
  }

  /** An SVG of a series' marker (and line) for its legend entry. */
  function legendIcon(s) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("width", "30"); svg.setAttribute("height", "14");
    svg.setAttribute("class", "lb-icon");
    if (s.line !== false) {
      var line = document.createElementNS(ns, "line");
      line.setAttribute("x1", "1"); line.setAttribute("x2", "29");
      line.setAttribute("y1", "7"); line.setAttribute("y2", "7");
      line.setAttribute("stroke", s.color); line.setAttribute("stroke-width", s.bold ? "3" : "1.6");
      if (s.dash) { line.setAttribute("stroke-dasharray", "5 3"); }
      svg.appendChild(line);
    }
    var canvas = document.createElement("canvas");
    canvas.width = 14; canvas.height = 14;
    var ctx = canvas.getContext("2d");
    ctx.beginPath(); shape(ctx, s.marker, 7, 7, 4.2);
    ctx.lineWidth = 1.6; ctx.strokeStyle = s.color; ctx.fillStyle = s.hollow ? "#fff" : s.color;
    if (!open(s.marker)) { ctx.fill(); }
    ctx.stroke();
    var img = document.createElementNS(ns, "image");
    img.setAttribute("x", "8"); img.setAttribute("y", "0");
    img.setAttribute("width", "14"); img.setAttribute("height", "14");
    img.setAttribute("href", canvas.toDataURL());
    svg.appendChild(img);
    return svg;
  }

  /** uPlot "paths" that draw one series itself: its line, then its markers (null: uPlot
   * draws nothing more). */
  function painter(s) {
    return function (u, seriesIdx) {
      var ctx = u.ctx, xs = s.x, ys = s.y, ratio = window.devicePixelRatio || 1;
      var box = u.bbox, i, px, py, started = false;
      ctx.save();
      ctx.beginPath(); ctx.rect(box.left, box.top, box.width, box.height); ctx.clip();
      ctx.globalAlpha = s.alpha || 1;
      if (s.line !== false && xs.length > 1) {
        ctx.beginPath();
        for (i = 0; i < xs.length; i++) {
          if (xs[i] == null || ys[i] == null) { started = false; continue; }
          px = u.valToPos(xs[i], "x", true); py = u.valToPos(ys[i], "y", true);
          if (started) { ctx.lineTo(px, py); } else { ctx.moveTo(px, py); started = true; }
        }
        ctx.lineWidth = (s.bold ? 3 : 1.6) * ratio; ctx.strokeStyle = s.color;
        ctx.setLineDash(s.dash ? [6 * ratio, 4 * ratio] : []);
        ctx.stroke();
        ctx.setLineDash([]);
      }
      if (s.marker !== "none") {
        var r = (s.size || 4) * ratio;
        ctx.beginPath();
        for (i = 0; i < xs.length; i++) {
          if (xs[i] == null || ys[i] == null) { continue; }
          shape(ctx, s.marker, u.valToPos(xs[i], "x", true), u.valToPos(ys[i], "y", true), r);
        }
        ctx.lineWidth = 1.5 * ratio; ctx.strokeStyle = s.color;
        ctx.fillStyle = s.hollow ? "#fff" : s.color;
        if (!open(s.marker)) { ctx.fill(); }
        ctx.stroke();
      }
      (s.vintervals || []).forEach(function (iv) {  // [x, low, high]: a vertical error bar
        var x = u.valToPos(iv[0], "x", true), lo = u.valToPos(iv[1], "y", true);
        var hi = u.valToPos(iv[2], "y", true), w = 4 * ratio;
        ctx.beginPath();
        ctx.moveTo(x, lo); ctx.lineTo(x, hi);
        ctx.moveTo(x - w, lo); ctx.lineTo(x + w, lo); ctx.moveTo(x - w, hi); ctx.lineTo(x + w, hi);
        ctx.globalAlpha = 0.9; ctx.lineWidth = 1.4 * ratio; ctx.strokeStyle = s.color; ctx.stroke();
      });
      (s.intervals || []).forEach(function (iv) {  // [y, low, high, centre]: a bar and a tick
        var y = u.valToPos(iv[0], "y", true);
        ctx.beginPath();
        ctx.moveTo(u.valToPos(iv[1], "x", true), y); ctx.lineTo(u.valToPos(iv[2], "x", true), y);
        ctx.globalAlpha = 1; ctx.lineWidth = 2.2 * ratio; ctx.strokeStyle = "#222"; ctx.stroke();
        ctx.beginPath(); shape(ctx, "tick", u.valToPos(iv[3], "x", true), y, 4 * ratio);
        ctx.stroke();
      });
      ctx.restore();
      return null;
    };
  }

  function range(values, log) {
    var lo = Infinity, hi = -Infinity;
    values.forEach(function (v) {
      if (v != null && isFinite(v) && (!log || v > 0)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    });
    if (lo === Infinity) { return log ? [0.1, 1] : [0, 1]; }
    if (log) {
      return [Math.pow(10, Math.log10(lo) - 0.04), Math.pow(10, Math.log10(hi) + 0.04)];
    }
    var pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.05 || 1;
    return [lo - pad, hi + pad];
  }

  function visible(spec) {
    return spec.series.filter(function (s) { return !spec.hidden[s.label]; });
  }

  /** Draw a chart into ``el`` (emptied first); returns ``{plot, spec}``, also kept in
   * ``LB.charts`` (tests and the page's controls find them there).
   *
   * spec: {xlabel, ylabel, xlog, height, series: [{label, color, marker, line, dash, bold,
   * hollow, alpha, size, x: [], y: [], tips: [text per point] or tip(i), intervals}],
   * ycats: [row labels] (a categorical y axis), xcats: [column labels], vintervals:
   * [[x, low, high]] (vertical error bars), hidden: {label: true}, empty: text} */
  function chart(el, spec) {
    var old = charts.filter(function (c) { return c.el === el; })[0];
    if (old) { old.plot.destroy(); charts.splice(charts.indexOf(old), 1); }
    el.textContent = "";
    spec.hidden = spec.hidden || {};
    if (!spec.series.length) {
      var p = document.createElement("p");
      p.className = "note"; p.textContent = spec.empty || "Nothing to draw.";
      el.appendChild(p);
      return null;
    }
    var width = Math.max(320, Math.min(el.clientWidth || 900, 1060));
    var xs = [], ys = [];
    spec.series.forEach(function (s) { xs = xs.concat(s.x); ys = ys.concat(s.y); });
    spec.series.forEach(function (s) {
      (s.intervals || []).forEach(function (iv) { xs.push(iv[1], iv[2]); });
      (s.vintervals || []).forEach(function (iv) { ys.push(iv[1], iv[2]); });
    });
    var xr = spec.xcats ? [-0.5, spec.xcats.length - 0.5] : range(xs, spec.xlog);
    var yr = spec.ycats ? [-0.6, spec.ycats.length - 0.4] : range(ys);
    var yAxis = {label: spec.ylabel, scale: "y", size: spec.ycats ? 150 : 60};
    if (spec.ycats) {
      yAxis.splits = function () { return spec.ycats.map(function (_, i) { return i; }); };
      yAxis.values = function (u, splits) {
        return splits.map(function (i) { return spec.ycats[i] === undefined ? "" : spec.ycats[i]; });
      };
      yAxis.grid = {show: false};
    }
    var xAxis = {label: spec.xlabel, scale: "x"};
    if (spec.xcats) {  // one tick per category (runs in order), labelled
      xAxis.splits = function () { return spec.xcats.map(function (_, i) { return i; }); };
      xAxis.values = function (u, splits) {
        return splits.map(function (i) { return spec.xcats[i] === undefined ? "" : spec.xcats[i]; });
      };
      xAxis.rotate = spec.xcats.length > 6 ? -30 : 0;
      xAxis.size = spec.xcats.length > 6 ? 90 : 50;
    }
    if (spec.xlog) {  // label 1, 2 and 5 of every decade (uPlot's filter keeps only decades)
      xAxis.filter = function (u, splits) { return splits; };
      xAxis.values = function (u, splits) {
        return splits.map(function (v) {
          var m = v / Math.pow(10, Math.floor(Math.log10(v) + 1e-9));
          return Math.abs(m - 1) < 1e-6 || Math.abs(m - 2) < 1e-6 || Math.abs(m - 5) < 1e-6
            ? String(+v.toPrecision(3)) : "";
        });
      };
    }
    var opts = {
      mode: 2,
      width: width,
      height: spec.height || 380,
      legend: {live: false},
      cursor: {drag: {x: true, y: true, uni: 30}, points: {show: false},
        dataIdx: function () { return null; }},
      scales: {
        x: {time: false, distr: spec.xlog ? 3 : 1, log: 10, auto: false, range: function (u, a, b) {
          return a == null ? xr : [a, b];
        }},
        y: {auto: false, range: function (u, a, b) { return a == null ? yr : [a, b]; }}
      },
      axes: [xAxis, yAxis],
      series: [null].concat(spec.series.map(function (s) {
        return {
          label: s.label,
          stroke: s.color,
          show: !spec.hidden[s.label],
          facets: [{scale: "x", auto: true}, {scale: "y", auto: true}],
          paths: painter(s),
          points: {show: false}
        };
      })),
      hooks: {
        setCursor: [function (u) { hover(u, spec); }],
        setSeries: [function (u, i) {
          if (i != null && u.series[i]) { spec.hidden[spec.series[i - 1].label] = !u.series[i].show; }
        }]
      }
    };
    opts.series[0] = {};
    var data = [null].concat(spec.series.map(function (s) { return [s.x, s.y]; }));
    var plot = new uPlot(opts, data, el);
    var tip = document.createElement("div");
    tip.className = "lb-tip"; tip.style.display = "none";
    plot.over.appendChild(tip);
    plot.lbTip = tip;
    var rows = plot.root.querySelectorAll(".u-legend .u-series");
    var skip = rows.length - spec.series.length;  // (a row for x, where the legend has one)
    Array.prototype.forEach.call(rows, function (row, i) {
      var marker = row.querySelector(".u-marker"), s = spec.series[i - skip];
      if (marker && s) { marker.replaceWith(legendIcon(s)); }
    });
    var made = {el: el, plot: plot, spec: spec};
    charts.push(made);
    return made;
  }

  /** The nearest visible point to the cursor (within 14 px), shown with its own text. */
  function hover(u, spec) {
    var tip = u.lbTip, left = u.cursor.left, top = u.cursor.top;
    if (!tip) { return; }
    if (left == null || left < 0) { tip.style.display = "none"; return; }
    var best = null, bestD = 14 * 14;
    spec.series.forEach(function (s, k) {
      if (!u.series[k + 1].show) { return; }
      for (var i = 0; i < s.x.length; i++) {
        if (s.x[i] == null || s.y[i] == null) { continue; }
        var dx = u.valToPos(s.x[i], "x") - left, dy = u.valToPos(s.y[i], "y") - top;
        var d = dx * dx + dy * dy;
        if (d < bestD) { bestD = d; best = [s, i]; }
      }
    });
    if (!best) { tip.style.display = "none"; return; }
    var s = best[0], i = best[1];
    tip.textContent = typeof s.tip === "function" ? s.tip(i) : (s.tips ? s.tips[i] : s.label);
    tip.style.display = "block";
    tip.style.borderColor = s.color;
    var x = u.valToPos(s.x[i], "x"), y = u.valToPos(s.y[i], "y");
    var w = u.over.clientWidth;
    tip.style.left = (x > w * 0.6 ? x - tip.offsetWidth - 12 : x + 12) + "px";
    tip.style.top = Math.max(0, y - tip.offsetHeight - 8) + "px";
  }

  function fmt(value, digits) {
    if (value == null || !isFinite(value)) { return "n/a"; }
    return Number(value).toFixed(digits);
  }

  /** The page's embedded data: the JSON element with this id (type application/json) */
  function data(id) {
    return JSON.parse(document.getElementById(id).textContent);
  }

  /** A <select> filled with [value, text] options (text only ever as textContent). */
  function options(select, pairs, chosen) {
    select.textContent = "";
    pairs.forEach(function (pair) {
      var o = document.createElement("option");
      o.value = pair[0]; o.textContent = pair[1];
      if (pair[0] === chosen) { o.selected = true; }
      select.appendChild(o);
    });
  }

  return {charts: charts, chart: chart, style: style, fmt: fmt, data: data, options: options,
    PALETTE: PALETTE, MARKERS: MARKERS};
})();
