// The live page served at GET / with --http (rule 7): it subscribes to the
// WebSocket /results and plots, for the key typed in its box (the first key
// seen by default), the mean, p50 and p99 of each window against
// windowStartMs, with the min-max range shaded; a later revision of a
// window replaces the earlier one. It keeps the last 20,000 result lines,
// so a key can be chosen after its results arrived. Plain HTML and a
// canvas: no scripts from elsewhere.
//
// Example (http_endpoint.cc does this):
//   router->HandleStatic("/", 200, std::string(kResultsPage),
//                        "text/html; charset=utf-8");

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_RESULTS_PAGE_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_RESULTS_PAGE_H_

#include <string_view>

namespace troupe::aggregator {

inline constexpr std::string_view kResultsPage = R"html(<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>stream aggregator</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 1.5em; }
  canvas { border: 1px solid #ccc; display: block; margin-top: 0.5em; }
  .legend span { margin-right: 1.2em; }
</style>
<h1>stream aggregator: live windows</h1>
<label>key <input id="key" size="24"></label>
<span id="status">connecting...</span>
<canvas id="chart" width="960" height="400"></canvas>
<p class="legend"><span style="color:#000">mean</span>
<span style="color:#1f6feb">p50</span><span style="color:#d1242f">p99</span>
<span style="color:#999">min-max</span> by windowStartMs (latest revision of each window)</p>
<script>
"use strict";
const kKeep = 20000;            // result lines kept for choosing a key later
const kWindows = 200;           // windows plotted
const lines = [];
let key = "";
const box = document.getElementById("key");
const show = (text) => { document.getElementById("status").textContent = text; };
box.addEventListener("input", () => { key = box.value; draw(); });

const scheme = location.protocol === "https:" ? "wss://" : "ws://";
const ws = new WebSocket(scheme + location.host + "/results");
ws.onopen = () => show("live");
ws.onclose = () => show("closed");
ws.onmessage = (event) => {
  for (const text of event.data.split("\n")) {
    if (text === "") continue;
    const r = JSON.parse(text);
    lines.push(r);
    if (key === "") { key = r.key; box.value = key; }
  }
  if (lines.length > kKeep) lines.splice(0, lines.length - kKeep);
  draw();
};

function draw() {
  const windows = new Map();  // windowStartMs -> the latest revision
  for (const r of lines) {
    if (r.key !== key) continue;
    const old = windows.get(r.windowStartMs);
    if (old === undefined || old.revision <= r.revision) windows.set(r.windowStartMs, r);
  }
  const points = [...windows.values()]
      .sort((a, b) => a.windowStartMs - b.windowStartMs).slice(-kWindows);
  const canvas = document.getElementById("chart");
  const g = canvas.getContext("2d");
  g.clearRect(0, 0, canvas.width, canvas.height);
  if (points.length === 0) return;
  const pad = 48;
  const x0 = points[0].windowStartMs;
  const x1 = Math.max(points[points.length - 1].windowStartMs, x0 + 1);
  let lo = Infinity, hi = -Infinity;
  for (const p of points) { lo = Math.min(lo, p.min); hi = Math.max(hi, p.max); }
  if (hi === lo) { hi += 1; lo -= 1; }
  const x = (t) => pad + (t - x0) / (x1 - x0) * (canvas.width - 2 * pad);
  const y = (v) => canvas.height - pad - (v - lo) / (hi - lo) * (canvas.height - 2 * pad);
  g.fillStyle = "rgba(0,0,0,0.08)";
  g.beginPath();
  points.forEach((p, i) => i === 0 ? g.moveTo(x(p.windowStartMs), y(p.max)) : g.lineTo(x(p.windowStartMs), y(p.max)));
  for (let i = points.length - 1; i >= 0; --i) g.lineTo(x(points[i].windowStartMs), y(points[i].min));
  g.fill();
  for (const [field, color] of [["mean", "#000"], ["p50", "#1f6feb"], ["p99", "#d1242f"]]) {
    g.strokeStyle = color;
    g.beginPath();
    points.forEach((p, i) => i === 0 ? g.moveTo(x(p.windowStartMs), y(p[field])) : g.lineTo(x(p.windowStartMs), y(p[field])));
    g.stroke();
  }
  g.fillStyle = "#333";
  g.fillText(hi.toPrecision(6), 4, pad);
  g.fillText(lo.toPrecision(6), 4, canvas.height - pad);
  g.fillText(new Date(x0).toISOString(), pad, canvas.height - 16);
  g.fillText(new Date(x1).toISOString(), canvas.width - pad - 150, canvas.height - 16);
}
</script>
</html>
)html";

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_RESULTS_PAGE_H_
