// The trace page: a tree of flat rows (each with data-depth) on the left,
// the selected span on the right. Opening a closed subtree fetches its rows
// from the server the first time; selecting a span fetches its detail.
import { setNavigator } from "./keys.js";

export function setupTrace(page) {
  const tree = page.querySelector(".tree");
  const pane = page.querySelector(".detailpane");
  const treeURL = page.dataset.treeUrl;
  const spanBase = `/projects/${encodeURIComponent(page.dataset.project)}/spans/`;

  const rows = () => [...tree.querySelectorAll(".row")];
  const depth = (row) => Number(row.dataset.depth);
  const selected = () => tree.querySelector('.row[aria-selected="true"]');

  // Rows after row that belong to its subtree.
  function* below(row) {
    const d = depth(row);
    for (let r = row.nextElementSibling; r && depth(r) > d; r = r.nextElementSibling) yield r;
  }

  async function fetchRows(params) {
    const res = await fetch(`${treeURL}?${new URLSearchParams(params)}`);
    if (!res.ok) throw new Error(`${res.status}`);
    return res.text();
  }

  async function expand(row) {
    if (row.getAttribute("aria-expanded") !== "false") return;
    row.setAttribute("aria-expanded", "true");
    if (!row.hasAttribute("data-loaded")) {
      row.classList.add("loading");
      try {
        row.insertAdjacentHTML("afterend", await fetchRows({ parent: row.dataset.id }));
        row.setAttribute("data-loaded", "");
      } catch {
        row.setAttribute("aria-expanded", "false");
      } finally {
        row.classList.remove("loading");
      }
      return;
    }
    // Show the subtree again, keeping closed descendants closed.
    let closedAt = Infinity;
    for (const r of below(row)) {
      const d = depth(r);
      if (d <= closedAt) closedAt = Infinity;
      if (closedAt === Infinity) {
        r.hidden = false;
        if (r.getAttribute("aria-expanded") === "false") closedAt = d;
      }
    }
  }

  function collapse(row) {
    if (row.getAttribute("aria-expanded") !== "true") return;
    row.setAttribute("aria-expanded", "false");
    for (const r of below(row)) r.hidden = true;
  }

  const toggle = (row) => (row.getAttribute("aria-expanded") === "true" ? collapse(row) : expand(row));

  async function more(row) {
    row.classList.add("loading");
    try {
      const html = await fetchRows({ parent: row.dataset.parent, offset: row.dataset.offset });
      row.insertAdjacentHTML("afterend", html);
      row.remove();
    } catch {
      row.classList.remove("loading");
    }
  }

  let pending = null;
  let timer = null; // a keyboard move waiting to load its span
  async function select(row) {
    if (!row || !row.dataset.id) return;
    clearTimeout(timer);
    selected()?.setAttribute("aria-selected", "false");
    row.setAttribute("aria-selected", "true");
    row.scrollIntoView({ block: "nearest" });
    const url = new URL(location.href);
    url.searchParams.set("span", row.dataset.id);
    const tab = url.searchParams.get("tab");
    history.replaceState(null, "", url);
    const id = row.dataset.id;
    // The span a trace opens on is already shown: reading it again would
    // only lose the tab chosen meanwhile.
    if (pane.querySelector(".detail")?.dataset.span === id && (pending === null || pending === id)) return;
    pending = id;
    const res = await fetch(`${spanBase}${encodeURIComponent(id)}${tab ? `?tab=${encodeURIComponent(tab)}` : ""}`);
    if (pending !== id) return; // a newer selection won
    if (!res.ok) {
      pane.innerHTML = "";
      const p = document.createElement("p");
      p.className = "empty";
      p.textContent = `Could not load the span (${res.status}).`;
      pane.append(p);
      return;
    }
    pane.innerHTML = await res.text();
    pane.scrollTop = 0;
  }

  tree.addEventListener("click", (e) => {
    const row = e.target.closest(".row");
    if (!row) return;
    if (row.hasAttribute("data-more")) {
      more(row);
      return;
    }
    if (e.target.closest(".twisty")) {
      toggle(row);
      return;
    }
    const link = e.target.closest("a");
    if (link && (e.metaKey || e.ctrlKey || e.shiftKey)) return;
    e.preventDefault();
    select(row);
  });
  tree.addEventListener("dblclick", (e) => {
    const row = e.target.closest(".row[aria-expanded]");
    if (row) toggle(row);
  });

  // Detail tabs switch in place and live in the URL.
  pane.addEventListener("click", (e) => {
    const a = e.target.closest(".dtabs a[data-tab]");
    if (!a || e.metaKey || e.ctrlKey) return;
    e.preventDefault();
    const detail = a.closest(".detail");
    for (const t of detail.querySelectorAll(".dtabs a")) t.setAttribute("aria-selected", String(t === a));
    for (const p of detail.querySelectorAll(".dpanel")) p.hidden = p.dataset.panel !== a.dataset.tab;
    const url = new URL(location.href);
    if (a.dataset.tab === "overview") url.searchParams.delete("tab");
    else url.searchParams.set("tab", a.dataset.tab);
    history.replaceState(null, "", url);
  });

  setNavigator({
    move(step) {
      const visible = rows().filter((r) => !r.hidden && r.dataset.id);
      const cur = selected();
      let i = cur ? visible.indexOf(cur) + step : 0;
      i = Math.min(visible.length - 1, Math.max(0, i));
      const row = visible[i];
      if (!row) return;
      // Mark at once, load the detail when the keys rest.
      cur?.setAttribute("aria-selected", "false");
      row.setAttribute("aria-selected", "true");
      row.scrollIntoView({ block: "nearest" });
      clearTimeout(timer);
      timer = setTimeout(() => select(row), 120);
    },
    enter() {
      const row = selected();
      if (row?.hasAttribute("aria-expanded")) toggle(row);
    },
    collapse() {
      const row = selected();
      if (row?.getAttribute("aria-expanded") === "true") collapse(row);
    },
    expand() {
      const row = selected();
      if (row) expand(row);
    },
  });

  selected()?.scrollIntoView({ block: "nearest" });
}
