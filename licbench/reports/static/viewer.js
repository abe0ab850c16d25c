/* viewer.html: two decodes of one image, A and B, at matched rate; split or flip; 1:1 or 2:1;
 * one pan for both. The data (licbench/reports/viewer_page.py) lists per image the pictures the
 * run wrote: [quality, bpp, file, metric values...] per codec, and the rate-target points. */
var LBViewer = (function () {
  "use strict";
  var D = LB.data("viewer-data");
  var $ = function (id) { return document.getElementById(id); };
  var stage = $("stage"), imgA = $("img-a"), imgB = $("img-b");
  var state = {image: 0, a: "", b: "", rate: "", bpp: null, mode: "split", show: "a", zoom: 1,
    split: 50, x: 0, y: 0};
  if (!D.images.length) { $("status").textContent = "No picture to show."; return {state: state}; }

  function entry() { return D.images[state.image]; }

  /** The picture of one side: the original, the codec's point at the chosen target, or its
   * point nearest the chosen bpp. */
  function pick(side) {
    var e = entry(), codec = side === "a" ? state.a : state.b;
    if (codec === "original") {
      return e.original ? {file: e.original, caption: "original (" + e.width + "×" + e.height + ")"}
        : {caption: "original: not written"};
    }
    var point = null, how;
    if (state.rate.indexOf("t:") === 0) {
      var target = state.rate.slice(2);
      point = ((e.targets[codec] || {})[target]) || null;
      how = "its point for target " + target + " bpp";
      if (!point) { return {caption: codec + ": no picture at target " + target + " bpp"}; }
    } else {
      (e.points[codec] || []).forEach(function (p) {
        if (p[1] != null && (!point || Math.abs(p[1] - state.bpp) < Math.abs(point[1] - state.bpp))) {
          point = p;
        }
      });
      how = "its point nearest " + state.bpp + " bpp";
      if (!point) { return {caption: codec + ": no picture of this image"}; }
    }
    var lines = [codec + "  q=" + (+Number(point[0]).toPrecision(6)) + "  " +
      LB.fmt(point[1], 4) + " bpp"];
    D.metrics.forEach(function (m, i) {
      lines.push(m.label + ": " + LB.fmt(point[3 + i], m.digits));
    });
    lines.push("(" + how + ")");
    return {file: point[2], caption: lines.join("\n"), point: point};
  }

  function place() {
    var t = "translate(" + state.x + "px," + state.y + "px) scale(" + state.zoom + ")";
    imgA.style.transform = t; imgB.style.transform = t;
    var flip = state.mode === "flip";
    stage.classList.toggle("flip", flip);
    var b = $("layer-b");
    if (flip) {
      b.style.clipPath = "none";
      b.style.visibility = state.show === "b" ? "visible" : "hidden";
    } else {
      b.style.clipPath = "inset(0 0 0 " + state.split + "%)";
      b.style.visibility = "visible";
    }
    $("split-line").style.left = state.split + "%";
    $("caption-a").style.display = flip && state.show === "b" ? "none" : "block";
    $("caption-b").style.display = flip && state.show === "a" ? "none" : "block";
  }

  function clamp() {
    var e = entry(), w = e.width * state.zoom, h = e.height * state.zoom;
    var W = stage.clientWidth, H = stage.clientHeight;
    state.x = Math.min(Math.max(state.x, Math.min(0, W - w)), Math.max(0, W - w));
    state.y = Math.min(Math.max(state.y, Math.min(0, H - h)), Math.max(0, H - h));
  }

  function centre() {
    var e = entry();
    state.x = (stage.clientWidth - e.width * state.zoom) / 2;
    state.y = (stage.clientHeight - e.height * state.zoom) / 2;
    clamp(); place();
  }

  function status() {
    var missing = [imgA, imgB].filter(function (img) {
      return img.getAttribute("src") && img.complete && img.naturalWidth === 0;
    });
    $("status").textContent = missing.length
      ? "Picture not found: " + missing.map(function (i) { return i.getAttribute("src"); }).join(", ")
      : "";
  }

  function show() {
    var A = pick("a"), B = pick("b");
    [[imgA, A, "caption-a", "A: "], [imgB, B, "caption-b", "B: "]].forEach(function (s) {
      if (s[1].file) { if (s[0].getAttribute("src") !== s[1].file) { s[0].src = s[1].file; } }
      else { s[0].removeAttribute("src"); }
      $(s[2]).textContent = s[3] + s[1].caption;
    });
    place();
  }

  function sides() {
    var e = entry();
    var list = [["original", "original"]];
    D.codecs.forEach(function (c) { if (e.points[c]) { list.push([c, c]); } });
    var has = function (c) { return list.some(function (p) { return p[0] === c; }); };
    if (!has(state.a)) { state.a = has(D.anchor) ? D.anchor : list[Math.min(1, list.length - 1)][0]; }
    if (!has(state.b) || state.b === state.a) {
      var other = list.filter(function (p) { return p[0] !== state.a && p[0] !== "original"; })[0];
      state.b = other ? other[0] : "original";
    }
    LB.options($("codec-a"), list, state.a);
    LB.options($("codec-b"), list, state.b);
    if (state.bpp == null) {  // the middle of the anchor's points on this image
      var points = e.points[state.a] || e.points[D.codecs[0]] || [];
      var middle = points[Math.floor(points.length / 2)];
      state.bpp = middle ? +Number(middle[1]).toFixed(3) : 1;
      $("bpp").value = state.bpp;
    }
  }

  LB.options($("image"), D.images.map(function (e, i) {
    return [String(i), e.name + " (" + e.width + "×" + e.height + ")"];
  }), "0");
  var rates = D.targets.map(function (t) { return ["t:" + t, "target " + t + " bpp"]; });
  rates.push(["near", "nearest to a bpp"]);
  state.rate = rates[0][0];
  LB.options($("rate"), rates, state.rate);
  $("bpp-label").hidden = state.rate !== "near";

  $("image").addEventListener("change", function () {
    state.image = +this.value; state.bpp = null; sides(); centre(); show();
  });
  $("codec-a").addEventListener("change", function () { state.a = this.value; show(); });
  $("codec-b").addEventListener("change", function () { state.b = this.value; show(); });
  $("rate").addEventListener("change", function () {
    state.rate = this.value; $("bpp-label").hidden = state.rate !== "near"; show();
  });
  $("bpp").addEventListener("input", function () {
    var v = parseFloat(this.value);
    if (isFinite(v) && v > 0) { state.bpp = v; show(); }
  });
  $("split").addEventListener("input", function () { state.split = +this.value; place(); });
  Array.prototype.forEach.call(document.querySelectorAll("input[name=mode]"), function (r) {
    r.addEventListener("change", function () { state.mode = this.value; place(); });
  });
  function flip() {
    if (state.mode !== "flip") {
      state.mode = "flip";
      document.querySelector("input[name=mode][value=flip]").checked = true;
    }
    state.show = state.show === "a" ? "b" : "a"; place();
  }
  $("flip").addEventListener("click", flip);
  document.addEventListener("keydown", function (event) {
    if ((event.key === "f" || event.key === "F") && event.target.tagName !== "INPUT") { flip(); }
  });
  Array.prototype.forEach.call(document.querySelectorAll("input[name=zoom]"), function (r) {
    r.addEventListener("change", function () {  // the point at the stage's centre stays there
      var z = +this.value, W = stage.clientWidth / 2, H = stage.clientHeight / 2;
      state.x = W - (W - state.x) * z / state.zoom; state.y = H - (H - state.y) * z / state.zoom;
      state.zoom = z; clamp(); place();
    });
  });
  $("centre").addEventListener("click", centre);
  var drag = null;
  stage.addEventListener("pointerdown", function (event) {
    drag = [event.clientX - state.x, event.clientY - state.y];
    stage.setPointerCapture(event.pointerId); stage.classList.add("panning");
  });
  stage.addEventListener("pointermove", function (event) {
    if (!drag) { return; }
    state.x = event.clientX - drag[0]; state.y = event.clientY - drag[1]; clamp(); place();
  });
  var stop = function () { drag = null; stage.classList.remove("panning"); };
  stage.addEventListener("pointerup", stop);
  stage.addEventListener("pointercancel", stop);
  [imgA, imgB].forEach(function (img) {
    img.addEventListener("load", status); img.addEventListener("error", status);
  });

  $("controls").hidden = false; $("controls-2").hidden = false;
  sides(); centre(); show();
  return {state: state, pick: pick, images: [imgA, imgB]};
})();
