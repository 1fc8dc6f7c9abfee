// Chart hover: a tooltip with every value of the bucket under the pointer,
// and a crosshair on it. The values are the <title>s the server wrote on
// each bucket; without this script the browser shows those titles itself.
// Listeners are on the document, so charts swapped in by live refresh work
// too.

const NS = "http://www.w3.org/2000/svg";

export function setupCharts(doc) {
  doc.addEventListener("pointermove", (e) => {
    const svg = e.target.closest?.("svg.plot");
    if (!svg) return;
    cover(svg);
    show(svg, e);
  });
  // A bucket opens the traces behind it.
  doc.addEventListener("click", (e) => {
    const svg = e.target.closest?.("svg.plot");
    const href = svg && column(svg, e)?.dataset.href;
    if (!href) return;
    if (e.metaKey || e.ctrlKey) window.open(href);
    else location.href = href;
  });
  doc.addEventListener("pointerout", (e) => {
    const svg = e.target.closest?.("svg.plot");
    if (svg && !svg.contains(e.relatedTarget)) hide(svg);
  });
}

// cover lays a transparent rectangle over the plot: the pointer is then
// never over a titled element, so the browser's own tooltip stays away.
function cover(svg) {
  if (svg.querySelector(".overlay")) return;
  const cols = svg.querySelectorAll(".col");
  if (cols.length === 0) return;
  const first = cols[0], last = cols[cols.length - 1];
  const r = document.createElementNS(NS, "rect");
  r.setAttribute("class", "overlay");
  r.setAttribute("x", first.getAttribute("x"));
  r.setAttribute("y", first.getAttribute("y"));
  r.setAttribute("width", String(+last.getAttribute("x") + +last.getAttribute("width") - +first.getAttribute("x")));
  r.setAttribute("height", first.getAttribute("height"));
  svg.append(r);
}

function column(svg, e) {
  const m = svg.getScreenCTM();
  if (!m) return null;
  const p = new DOMPoint(e.clientX, e.clientY).matrixTransform(m.inverse());
  for (const c of svg.querySelectorAll(".col")) {
    const x = +c.getAttribute("x");
    if (p.x >= x && p.x < x + +c.getAttribute("width")) return c;
  }
  return null;
}

function show(svg, e) {
  const col = column(svg, e);
  if (!col) return hide(svg);
  for (const c of svg.querySelectorAll(".col.on")) if (c !== col) c.classList.remove("on");
  col.classList.add("on");

  let cross = svg.querySelector(".cross");
  if (!cross) {
    cross = document.createElementNS(NS, "line");
    cross.setAttribute("class", "cross");
    svg.insertBefore(cross, svg.querySelector(".overlay"));
  }
  const cx = String(+col.getAttribute("x") + +col.getAttribute("width") / 2);
  cross.setAttribute("x1", cx);
  cross.setAttribute("x2", cx);
  cross.setAttribute("y1", col.getAttribute("y"));
  cross.setAttribute("y2", String(+col.getAttribute("y") + +col.getAttribute("height")));

  const fig = svg.closest(".chart");
  let tip = fig.querySelector(".chart-tip");
  if (!tip) {
    tip = document.createElement("div");
    tip.className = "chart-tip";
    tip.setAttribute("role", "tooltip");
    fig.append(tip);
  }
  const [head, ...rest] = (col.querySelector("title")?.textContent ?? "").split("\n");
  tip.replaceChildren();
  const b = document.createElement("b");
  b.textContent = head;
  tip.append(b, rest.join("\n"));
  tip.hidden = false;

  const box = fig.getBoundingClientRect();
  let left = e.clientX - box.left + 14;
  if (left + tip.offsetWidth > box.width) left = e.clientX - box.left - tip.offsetWidth - 14;
  tip.style.left = `${Math.max(0, left)}px`;
  tip.style.top = `${Math.max(0, e.clientY - box.top - tip.offsetHeight / 2)}px`;
}

function hide(svg) {
  for (const c of svg.querySelectorAll(".col.on")) c.classList.remove("on");
  svg.querySelector(".cross")?.remove();
  const tip = svg.closest(".chart")?.querySelector(".chart-tip");
  if (tip) tip.hidden = true;
}

setupCharts(document);
