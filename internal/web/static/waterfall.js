// The trace page's waterfall: its width beside the tree (dragged, and
// remembered in this browser), a zoom to a time window (dragged across the
// axis, or the + − Reset buttons), and tick labels laid out for the width
// they have. The bars move by CSS variables alone: zooming redraws no row.
// The zoom is in the URL (zoom=FROM-TO, in milliseconds from the trace's
// start), so a zoomed view survives a reload and can be shared.

const widthKey = "loupe.waterfall.width";
const minWidth = 120;

// tickSteps, tickLabel and axisTicks are web/tree.go's, so the labels the
// server drew first and the ones drawn here agree.
const S = 1e9, M = 60e9, H = 3600e9;
const tickSteps = (() => {
  const out = [];
  for (let p = 1; p < 1e9; p *= 10) out.push(p, 2 * p, 5 * p);
  out.push(S, 2 * S, 5 * S, 10 * S, 15 * S, 30 * S, M, 2 * M, 5 * M, 10 * M, 15 * M, 30 * M, H, 2 * H, 3 * H, 6 * H, 12 * H, 24 * H);
  for (let d = 48 * H; d < 1e19; d *= 10) out.push(d, (5 * d) / 2, 5 * d);
  return out;
})();
const charPx = 6.5, gapPx = 18;

function decimal(v, unit, step) {
  let places = 0;
  for (let q = unit; q > 1 && step % q !== 0; q /= 10) places++;
  return (v / unit).toFixed(places);
}

function tickLabel(v, step, end) {
  if (v === 0 && (step >= M || end < M)) return "0";
  if (step >= H) return `${Math.floor(v / H)} h`;
  if (step >= M && end < H) return `${Math.floor(v / M)} m`;
  if (step >= M) {
    if (v < H) return `${Math.floor(v / M)} m`;
    if (v % H === 0) return `${v / H} h`;
    return `${Math.floor(v / H)} h ${String(Math.floor((v % H) / M)).padStart(2, "0")} m`;
  }
  if (step < S && end < S) {
    for (const [ns, name] of [[1e6, "ms"], [1e3, "µs"], [1, "ns"]]) {
      if (end >= ns || ns === 1) return `${decimal(v, ns, step)} ${name}`;
    }
  }
  if (end < M) return `${decimal(v, S, step)} s`;
  let sec = decimal(v % M, S, step);
  const dot = sec.indexOf(".");
  if (dot === 1 || (dot < 0 && sec.length === 1)) sec = "0" + sec;
  if (end >= H) return `${Math.floor(v / H)}:${String(Math.floor((v % H) / M)).padStart(2, "0")}:${sec}`;
  return `${Math.floor(v / M)}:${sec}`;
}

function layTicks(from, to, width, step) {
  const out = [];
  let right = -Infinity;
  for (let v = Math.ceil(from / step) * step; v <= to; v += step) {
    const label = tickLabel(v, step, to);
    const x = ((v - from) / (to - from)) * width;
    const w = [...label].length * charPx;
    const t = { pct: ((v - from) / (to - from)) * 100, label, start: false, edge: false };
    let left = x - w / 2;
    if (left < 0) {
      t.start = true;
      left = 0;
    }
    if (x + w / 2 > width) {
      t.edge = true;
      left = x - w;
    }
    if (left < right + gapPx) {
      if (t.edge) break;
      return null;
    }
    right = left + w;
    out.push(t);
  }
  return { ticks: out, step };
}

export function axisTicks(from, to, width) {
  if (to <= from || width <= 0) return { ticks: [{ pct: 0, label: "0", start: true, edge: false }], step: 0 };
  for (const step of tickSteps) {
    if ((to - from) / step > width / gapPx + 1) continue;
    const laid = layTicks(from, to, width, step);
    if (laid) return laid;
  }
  return { ticks: [{ pct: 0, label: tickLabel(from, tickSteps.at(-1), to), start: true, edge: false }], step: 0 };
}

export function setupWaterfall(page) {
  const pane = page.querySelector(".treepane");
  const axis = page.querySelector(".treehead .axis");
  const handle = axis?.querySelector(".wf-resize");
  const total = Number(page.dataset.latency) || 0;
  if (!pane || !axis) return;
  const resetBtn = page.querySelector("[data-action=zoom-reset]");
  let z0 = 0, z1 = 100; // the window shown, in % of the trace

  function drawTicks() {
    const width = axis.clientWidth;
    const from = Math.round((total * z0) / 100), to = Math.round((total * z1) / 100);
    const { ticks, step } = axisTicks(from, to, width);
    for (const t of axis.querySelectorAll(".tick")) t.remove();
    for (const t of ticks) {
      const el = document.createElement("span");
      el.className = `tick${t.start ? " start" : ""}${t.edge ? " edge" : ""}`;
      el.style.setProperty("--l", t.pct.toFixed(2));
      el.textContent = t.label;
      axis.insertBefore(el, handle);
    }
    // The rows' grid lines fall on the ticks.
    if (step > 0 && to > from) {
      const px = (step / (to - from)) * width;
      const off = ((Math.ceil(from / step) * step - from) / (to - from)) * width;
      pane.style.setProperty("--grid", `${px}px`);
      pane.style.setProperty("--grid-at", `${off}px`);
    }
  }

  function zoom(a, b, keep = true) {
    const min = total > 0 ? Math.max((1000 / total) * 100, 0.01) : 0.01; // no finer than a microsecond
    if (b - a < min) {
      const c = (a + b) / 2;
      a = c - min / 2;
      b = c + min / 2;
    }
    z0 = Math.max(0, a);
    z1 = Math.min(100, b);
    const whole = z0 <= 0 && z1 >= 100;
    pane.style.setProperty("--z0", z0);
    pane.style.setProperty("--zs", 100 / (z1 - z0));
    pane.classList.toggle("zoomed", !whole);
    if (resetBtn) resetBtn.hidden = whole;
    drawTicks();
    if (keep) keepZoom(whole);
  }

  // keepZoom writes the window shown into the URL, or takes it out when the
  // whole trace is shown.
  function keepZoom(whole) {
    const url = new URL(location.href);
    if (whole || total <= 0) url.searchParams.delete("zoom");
    else url.searchParams.set("zoom", `${msText((total * z0) / 100)}-${msText((total * z1) / 100)}`);
    if (url.href !== location.href) history.replaceState(history.state, "", url);
  }

  page.querySelector("[data-action=zoom-in]")?.addEventListener("click", () => {
    const c = (z0 + z1) / 2, h = (z1 - z0) / 4;
    zoom(c - h, c + h);
  });
  page.querySelector("[data-action=zoom-out]")?.addEventListener("click", () => {
    const c = (z0 + z1) / 2, h = z1 - z0;
    let a = c - h, b = c + h;
    if (a < 0) [a, b] = [0, b - a];
    if (b > 100) [a, b] = [a - (b - 100), 100];
    zoom(a, b);
  });
  resetBtn?.addEventListener("click", () => zoom(0, 100));

  // Dragging across the axis zooms to the stretch dragged over.
  const band = document.createElement("span");
  band.className = "zoomband";
  band.hidden = true;
  axis.append(band);
  axis.addEventListener("pointerdown", (e) => {
    if (e.target === handle || e.button !== 0) return;
    const box = axis.getBoundingClientRect();
    const at = (x) => Math.min(Math.max(x - box.left, 0), box.width);
    const x0 = at(e.clientX);
    axis.setPointerCapture(e.pointerId);
    const move = (ev) => {
      const x1 = at(ev.clientX);
      band.hidden = false;
      band.style.left = `${Math.min(x0, x1)}px`;
      band.style.width = `${Math.abs(x1 - x0)}px`;
    };
    const up = (ev) => {
      axis.removeEventListener("pointermove", move);
      axis.removeEventListener("pointerup", up);
      band.hidden = true;
      const x1 = at(ev.clientX);
      if (Math.abs(x1 - x0) < 4) return;
      const pct = (x) => z0 + (x / box.width) * (z1 - z0);
      zoom(pct(Math.min(x0, x1)), pct(Math.max(x0, x1)));
    };
    axis.addEventListener("pointermove", move);
    axis.addEventListener("pointerup", up);
  });

  // The waterfall's width: dragged by its left edge, kept for next time.
  function setWidth(px, save) {
    const max = pane.clientWidth - 260;
    const w = Math.round(Math.min(Math.max(px, minWidth), Math.max(max, minWidth)));
    pane.style.setProperty("--wf", `${w}px`);
    if (save) {
      try {
        localStorage.setItem(widthKey, String(w));
      } catch {
        // Storage refused (private mode): the width lasts for this page.
      }
    }
    drawTicks();
  }
  let saved = null;
  try {
    saved = Number(localStorage.getItem(widthKey)) || null;
  } catch {
    saved = null;
  }
  if (saved) setWidth(saved, false);
  handle?.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    e.stopPropagation();
    handle.setPointerCapture(e.pointerId);
    const right = axis.getBoundingClientRect().right;
    const move = (ev) => setWidth(right - ev.clientX, false);
    const up = (ev) => {
      handle.removeEventListener("pointermove", move);
      handle.removeEventListener("pointerup", up);
      setWidth(right - ev.clientX, true);
    };
    handle.addEventListener("pointermove", move);
    handle.addEventListener("pointerup", up);
  });
  handle?.addEventListener("keydown", (e) => {
    const step = e.key === "ArrowLeft" ? 16 : e.key === "ArrowRight" ? -16 : 0;
    if (!step) return;
    e.preventDefault();
    e.stopPropagation();
    setWidth(axis.clientWidth + step, true);
  });

  new ResizeObserver(() => drawTicks()).observe(axis);
  const shared = zoomParam(new URL(location.href).searchParams.get("zoom"), total);
  if (shared) zoom(shared[0], shared[1], false);
  else drawTicks();
}

// msText writes ns as milliseconds to the microsecond: "120", "0.005".
function msText(ns) {
  return String(Math.round(ns / 1e3) / 1e3);
}

// zoomParam reads zoom=FROM-TO (milliseconds from the trace's start) as a
// window in % of a trace of total ns; null when absent, malformed, empty or
// the whole trace.
export function zoomParam(v, total) {
  const m = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(v || "");
  if (!m || total <= 0) return null;
  const a = (Number(m[1]) * 1e6 * 100) / total, b = (Number(m[2]) * 1e6 * 100) / total;
  if (!(b > a) || a >= 100 || (a <= 0 && b >= 100)) return null;
  return [a, Math.min(b, 100)];
}
