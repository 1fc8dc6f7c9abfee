// Reading a span's messages: plain text or Markdown, chosen once and
// remembered (a cookie, since the server renders the page).

export function setupTextMode(root) {
  root.addEventListener("click", async (e) => {
    const btn = e.target.closest("[data-textmode]");
    if (!btn) return;
    const detail = btn.closest(".detail[data-fragment-url]");
    if (!detail || btn.getAttribute("aria-selected") === "true") return;
    document.cookie = `loupe_text=${btn.dataset.textmode}; path=/; max-age=31536000; samesite=lax`;
    const url = new URL(detail.dataset.fragmentUrl, location.href);
    const tab = new URL(location.href).searchParams.get("tab");
    if (tab) url.searchParams.set("tab", tab);
    const res = await fetch(url, { headers: { Accept: "text/html" } });
    if (!res.ok) {
      location.reload();
      return;
    }
    const part = document.createElement("template");
    part.innerHTML = await res.text();
    const pane = detail.parentElement;
    const top = pane.scrollTop;
    detail.replaceWith(part.content);
    pane.scrollTop = top;
    pane.querySelector("[data-textmode][aria-selected=true]")?.focus();
  });
}
