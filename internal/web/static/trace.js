// The trace page: a tree of flat rows (each with data-depth) on the left,
// the selected span on the right. Opening a closed subtree or a fold fetches
// its rows from the server the first time; selecting a span fetches its
// detail. A search, n and N, and the errors-only view ask the server, which
// reads every span of the trace, and the tree is redrawn around the span
// they reach when it is not drawn yet.
import { setNavigator } from "./keys.js";
import { setupWaterfall } from "./waterfall.js";

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

  const view = tree.dataset.view;
  async function fetchRows(params) {
    if (view) params.view = view;
    const res = await fetch(`${treeURL}?${new URLSearchParams(params)}`);
    if (!res.ok) throw new Error(`${res.status}`);
    return res.text();
  }

  async function expand(row) {
    if (row.getAttribute("aria-expanded") !== "false") return;
    row.setAttribute("aria-expanded", "true");
    if (!row.hasAttribute("data-loaded")) {
      row.classList.add("loading");
      // Rows below a fold's member sit one deeper than their own depth in
      // the trace: the depth to draw at goes with every request.
      const params = row.hasAttribute("data-fold")
        ? { parent: row.dataset.parent, offset: row.dataset.offset, limit: row.dataset.count, nofold: 1 }
        : { parent: row.dataset.id };
      params.depth = depth(row) + 1;
      try {
        row.insertAdjacentHTML("afterend", await fetchRows(params));
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
      const params = { parent: row.dataset.parent, offset: row.dataset.offset, limit: row.dataset.limit, depth: depth(row) };
      if (row.hasAttribute("data-nofold")) params.nofold = 1;
      const html = await fetchRows(params);
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
    // A fold is no span to show: a click anywhere on it opens or closes it.
    if (e.target.closest(".twisty") || row.hasAttribute("data-fold")) {
      toggle(row);
      return;
    }
    const link = e.target.closest("a");
    if (link && (e.metaKey || e.ctrlKey || e.shiftKey)) return;
    e.preventDefault();
    select(row);
  });
  tree.addEventListener("dblclick", (e) => {
    const row = e.target.closest(".row[aria-expanded]:not([data-fold])");
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

  // reveal selects the span id, redrawing the tree around it when it is not
  // drawn (beyond a "show more" row, in a closed subtree or fold).
  async function reveal(id) {
    let row = tree.querySelector(`.row[data-id="${CSS.escape(id)}"]`);
    if (!row || row.hidden) {
      try {
        tree.innerHTML = await fetchRows({ span: id });
      } catch {
        return;
      }
      row = tree.querySelector(`.row[data-id="${CSS.escape(id)}"]`);
    }
    if (!row && view) {
      // A match the errors-only view leaves out: show it among all spans.
      const url = new URL(location.href);
      url.searchParams.delete("view");
      url.searchParams.set("span", id);
      location.assign(url);
      return;
    }
    if (!row) return;
    row.scrollIntoView({ block: "center" });
    await select(row);
  }

  // n and N step through the search's matches when there is a search,
  // else through the trace's failing spans; both are in the tree's order.
  const failures = (page.dataset.failures || "").split(" ").filter(Boolean).map((w) => {
    const at = w.indexOf(":");
    return { ord: Number(w.slice(0, at)), id: w.slice(at + 1) };
  });
  const results = page.querySelector("[data-search-results]");
  const matches = () => [...results.querySelectorAll("a[data-id]")].map((a) => ({ ord: Number(a.dataset.ord), id: a.dataset.id }));
  const stepPos = page.querySelector("[data-step-pos]");

  function stepThrough(dir) {
    const found = matches();
    const list = found.length ? found : failures;
    if (!list.length) return;
    const ord = Number(selected()?.dataset.ord ?? -1);
    let i = dir > 0 ? list.findIndex((x) => x.ord > ord) : list.findLastIndex((x) => x.ord < ord);
    if (i < 0) i = dir > 0 ? 0 : list.length - 1; // round again
    const target = list[i];
    if (found.length) {
      for (const a of results.querySelectorAll("a[data-id]")) a.classList.toggle("current", a.dataset.id === target.id);
      results.querySelector("a.current")?.scrollIntoView({ block: "nearest" });
    } else if (stepPos) {
      stepPos.textContent = `Error ${i + 1} of ${list.length}`;
    }
    reveal(target.id);
  }
  page.querySelector("[data-action=next-failure]")?.addEventListener("click", () => stepThrough(1));
  page.querySelector("[data-action=prev-failure]")?.addEventListener("click", () => stepThrough(-1));

  // The search box asks the server, which reads every span of the trace.
  const form = page.querySelector("form.tsearch");
  const input = form.querySelector("[data-trace-search]");
  const searchURL = treeURL.replace(/\/tree$/, "/search");
  function setFind(q) {
    const url = new URL(location.href);
    if (q) url.searchParams.set("find", q);
    else url.searchParams.delete("find");
    history.replaceState(null, "", url);
  }
  // Rows scrolled to stay clear of the bar, search results and axis above them.
  const top = page.querySelector(".treetop");
  const treePane = page.querySelector(".treepane");
  if (top && treePane) new ResizeObserver(() => (treePane.style.scrollPaddingTop = `${top.offsetHeight}px`)).observe(top);

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const q = input.value.trim();
    // Enter again on the same search goes to the next match, as a find bar does.
    if (q && results.querySelector(".tsr")?.dataset.query === q && matches().length) {
      stepThrough(1);
      return;
    }
    if (!q) {
      results.innerHTML = "";
      setFind("");
      return;
    }
    const res = await fetch(`${searchURL}?${new URLSearchParams({ q })}`);
    if (!res.ok) {
      results.innerHTML = "";
      const p = document.createElement("p");
      p.className = "tsr-note err-text";
      p.textContent = await res.text();
      results.append(p);
      return;
    }
    results.innerHTML = await res.text();
    setFind(q);
    const first = results.querySelector("a[data-id]");
    if (first) {
      first.classList.add("current");
      reveal(first.dataset.id);
    }
  });
  results.addEventListener("click", (e) => {
    if (e.target.closest("[data-action=clear-search]")) {
      results.innerHTML = "";
      input.value = "";
      setFind("");
      return;
    }
    const a = e.target.closest("a[data-id]");
    if (!a || e.metaKey || e.ctrlKey || e.shiftKey) return;
    e.preventDefault();
    for (const x of results.querySelectorAll("a.current")) x.classList.remove("current");
    a.classList.add("current");
    reveal(a.dataset.id);
  });

  // The view links keep the selected span and the search.
  for (const a of page.querySelectorAll("[data-view-link]")) {
    a.addEventListener("click", () => {
      const url = new URL(location.href);
      if (a.dataset.viewLink) url.searchParams.set("view", a.dataset.viewLink);
      else url.searchParams.delete("view");
      a.href = url.toString();
    });
  }

  setupWaterfall(page);

  setNavigator({
    move(step) {
      const visible = rows().filter((r) => !r.hidden && (r.dataset.id || r.hasAttribute("data-fold")));
      const cur = selected();
      let i = cur ? visible.indexOf(cur) + step : 0;
      i = Math.min(visible.length - 1, Math.max(0, i));
      const row = visible[i];
      if (!row) return;
      // Mark at once, load the detail when the keys rest; a fold has none.
      cur?.setAttribute("aria-selected", "false");
      row.setAttribute("aria-selected", "true");
      row.scrollIntoView({ block: "nearest" });
      clearTimeout(timer);
      if (row.dataset.id) timer = setTimeout(() => select(row), 120);
    },
    next: () => stepThrough(1),
    prev: () => stepThrough(-1),
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
