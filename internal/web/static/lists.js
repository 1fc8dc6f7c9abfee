// Tables of traces, spans, sessions and projects: rows open on click and
// on Enter, j/k move a cursor, filter forms apply as soon as they change.
import { setNavigator } from "./keys.js";

export function setupLists(root) {
  root.addEventListener("click", (e) => {
    const row = e.target.closest("tr[data-href]");
    if (!row || e.target.closest("a, button, input") || getSelection().toString()) return;
    if (e.metaKey || e.ctrlKey) window.open(row.dataset.href);
    else location.href = row.dataset.href;
  });
  root.addEventListener("change", (e) => e.target.closest("form[data-autosubmit]")?.requestSubmit());
  if (!document.querySelector(".tracepage") && document.querySelector("[data-rows]")) {
    setNavigator(listNavigator());
  }
}

function listNavigator() {
  let current = null;
  const rows = () => [...document.querySelectorAll("[data-rows] tbody tr[data-href]")];
  return {
    move(step) {
      const all = rows();
      if (!all.length) return;
      let i = current ? all.indexOf(current) : -1;
      i = i < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, i + step));
      current?.classList.remove("cursor");
      current = all[i];
      current.classList.add("cursor");
      current.scrollIntoView({ block: "nearest" });
    },
    enter() {
      if (current && current.isConnected) location.href = current.dataset.href;
    },
  };
}
