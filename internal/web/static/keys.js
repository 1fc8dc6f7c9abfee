// Keyboard: j/k move, Enter opens or toggles, h/l collapse/expand, n/N step
// through a trace's errors or search matches, / focuses
// the filter (or the trace ID box), g the trace ID box, ? lists the keys.
// A page registers what moving means with setNavigator.

let navigator = null;

export function setNavigator(n) {
  navigator = n;
}

function typing(el) {
  return el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
}

function focusFilter() {
  const filters = [...document.querySelectorAll("[data-filter], [data-filter-input]")].filter((f) => f.offsetParent !== null);
  (filters[0] ?? document.getElementById("goto"))?.focus();
}

export function setupKeys() {
  const dialog = document.getElementById("keys");
  document.querySelector("[data-action=keys]")?.addEventListener("click", () => dialog.showModal());
  document.addEventListener("keydown", (e) => {
    if (e.metaKey || e.ctrlKey || e.altKey) return;
    if (e.key === "Escape" && typing(document.activeElement)) {
      document.activeElement.blur();
      return;
    }
    if (typing(e.target) || dialog.open) return;
    const n = navigator;
    switch (e.key) {
      case "?":
        dialog.showModal();
        break;
      case "/":
        focusFilter();
        break;
      case "g":
        document.getElementById("goto")?.focus();
        break;
      case "j":
      case "ArrowDown":
        if (!n) return;
        n.move(1);
        break;
      case "k":
      case "ArrowUp":
        if (!n) return;
        n.move(-1);
        break;
      case "Enter":
        if (!n || e.target.closest("a, button")) return;
        n.enter();
        break;
      case "h":
      case "ArrowLeft":
        if (!n?.collapse) return;
        n.collapse();
        break;
      case "l":
      case "ArrowRight":
        if (!n?.expand) return;
        n.expand();
        break;
      case "n":
        if (!n?.next) return;
        n.next();
        break;
      case "N":
        if (!n?.prev) return;
        n.prev();
        break;
      default:
        return;
    }
    e.preventDefault();
  });
}
