// The lists' column chooser: a box ticked or not shows or hides its column
// at once, and a cookie keeps the choice for the server, which renders the
// list with it from then on.

export function setupColumns(root) {
  root.addEventListener("change", (e) => {
    const box = e.target.closest("[data-colchooser] input[data-col]");
    if (!box) return;
    e.stopPropagation(); // not a filter change: the toolbar form must not submit
    const chooser = box.closest("[data-colchooser]");
    const hidden = [...chooser.querySelectorAll("input[data-col]")].filter((b) => !b.checked).map((b) => b.dataset.col);
    // "-" keeps a choice of no hidden column apart from no choice at all.
    document.cookie = `${chooser.dataset.colchooser}=${hidden.join(".") || "-"}; path=/; max-age=31536000; samesite=lax`;
    const table = document.querySelector("table[data-columns]");
    table?.classList.toggle(`hide-c-${box.dataset.col}`, !box.checked);
  }, true);
  root.addEventListener("click", (e) => {
    for (const open of document.querySelectorAll("[data-colchooser][open]")) {
      if (!open.contains(e.target)) open.open = false;
    }
  });
}
