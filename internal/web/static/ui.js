// Small behaviours shared by every page.

// Copy buttons: data-copy holds the text, data-copy-from a selector.
export function setupCopy(root) {
  root.addEventListener("click", async (e) => {
    const btn = e.target.closest("[data-copy], [data-copy-from], [data-copy-key]");
    if (!btn) return;
    e.preventDefault();
    e.stopPropagation();
    let text = btn.dataset.copy ?? document.querySelector(btn.dataset.copyFrom)?.textContent;
    if (text === undefined) {
      const detail = btn.closest("[data-value-url]");
      const res = await fetch(`${detail.dataset.valueUrl}?key=${encodeURIComponent(btn.dataset.copyKey)}`);
      text = res.ok ? await res.text() : "";
    }
    await copyText(text ?? "");
    btn.classList.add("done");
    const label = btn.textContent.trim() === "Copy" ? btn : null;
    if (label) label.textContent = "Copied";
    setTimeout(() => {
      btn.classList.remove("done");
      if (label) label.textContent = "Copy";
    }, 1200);
  });
}

// Forms with data-confirm (deleting a user, revoking a key) ask first.
export function setupConfirm(root) {
  root.addEventListener("submit", (e) => {
    const msg = e.target.closest("form[data-confirm]")?.dataset.confirm;
    if (msg && !confirm(msg)) e.preventDefault();
  });
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Not a secure context (plain http to another host): fall back.
    const ta = document.createElement("textarea");
    ta.value = text;
    ta.style.position = "fixed";
    ta.style.opacity = "0";
    document.body.append(ta);
    ta.select();
    document.execCommand("copy");
    ta.remove();
  }
}

// Relative times ("3 min ago") stay true while the page is open; the
// absolute time is in the title.
export function setupRelativeTimes() {
  const tick = () => {
    for (const t of document.querySelectorAll("time[data-rel]")) {
      t.textContent = relative(Date.parse(t.getAttribute("datetime")));
    }
  };
  setInterval(tick, 15000);
}

function relative(ms) {
  const s = Math.floor((Date.now() - ms) / 1000);
  if (s < 0) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

// "Show all" fetches a clipped value whole, only when asked.
export function setupShowAll(root) {
  root.addEventListener("click", async (e) => {
    const btn = e.target.closest(".showall");
    if (!btn) return;
    const detail = btn.closest("[data-value-url]");
    if (!detail) return;
    btn.disabled = true;
    btn.textContent = "Loading…";
    const box = btn.parentElement;
    const md = box.querySelector(".mdbody");
    const url = `${detail.dataset.valueUrl}?key=${encodeURIComponent(btn.dataset.key)}${md ? "&format=markdown" : ""}`;
    const res = await fetch(url);
    if (!res.ok) {
      btn.textContent = `Could not load (${res.status})`;
      return;
    }
    const text = await res.text();
    // Markdown comes rendered and made safe by the server (view.Markdown).
    if (md) md.innerHTML = text;
    else box.querySelector("pre").textContent = text;
    box.classList.add("full");
    btn.remove();
  });
}

// Parts of a page that take long to read arrive after it: each
// [data-defer] placeholder is replaced by the HTML its URL answers (nothing
// when there is nothing to show). Without this, its link opens the part.
export function setupDeferred(root) {
  for (const el of root.querySelectorAll("[data-defer]")) {
    fetch(el.dataset.defer, { headers: { Accept: "text/html" } })
      .then(async (res) => {
        if (!res.ok) throw new Error(`${res.status}`);
        const part = document.createElement("template");
        part.innerHTML = await res.text();
        el.replaceWith(part.content);
      })
      .catch((err) => {
        el.removeAttribute("aria-busy");
        const note = el.querySelector("p");
        if (note) note.textContent = `Could not load (${err.message})`;
      });
  }
}

// Client-side tabs: [data-tabs] holds buttons with data-tab and panels with data-panel.
export function setupTabs(root) {
  for (const box of root.querySelectorAll("[data-tabs]")) {
    const show = (name) => {
      for (const b of box.querySelectorAll("[data-tab]")) b.setAttribute("aria-selected", String(b.dataset.tab === name));
      for (const p of box.querySelectorAll("[data-panel]")) p.hidden = p.dataset.panel !== name;
    };
    box.addEventListener("click", (e) => {
      const b = e.target.closest("[data-tab]");
      if (b) show(b.dataset.tab);
    });
    show(box.querySelector("[data-tab]")?.dataset.tab);
  }
}

// Filter inputs: data-filter is a selector of the rows to hide when they
// don't contain the typed text. Delegated, so inputs swapped in later work.
export function setupFilters(root) {
  root.addEventListener("input", (e) => {
    const input = e.target.closest("input[data-filter]");
    if (!input) return;
    const q = input.value.trim().toLowerCase();
    for (const row of document.querySelectorAll(input.dataset.filter)) {
      row.hidden = q !== "" && !row.textContent.toLowerCase().includes(q);
    }
  });
}
