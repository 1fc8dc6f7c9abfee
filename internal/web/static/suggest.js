// The filter box suggests as it is typed: names, attribute keys,
// annotation names, labels and values, from the server, which knows the
// language and the project's data. Arrow keys move, Enter or Tab takes the
// suggestion, Escape closes the list; Enter with none chosen applies the
// filter as before.

export function setupSuggest(root) {
  let list = null; // the open <ul>
  let input = null; // the box it belongs to
  let items = [];
  let active = -1;
  let answer = null;
  let timer = null;
  let sequence = 0;

  const close = () => {
    list?.remove();
    input?.setAttribute("aria-expanded", "false");
    list = null;
    items = [];
    active = -1;
  };

  const runeIndex = (s, utf16) => [...s.slice(0, utf16)].length;

  async function ask(box) {
    const bar = box.closest("[data-filterbar]");
    if (!bar?.dataset.suggest) return;
    const params = new URLSearchParams({
      filter: box.value,
      at: String(runeIndex(box.value, box.selectionStart ?? box.value.length)),
      grain: bar.dataset.grain || "span",
    });
    const page = new URLSearchParams(location.search);
    for (const k of ["range", "start", "end"]) if (page.get(k)) params.set(k, page.get(k));
    const mine = ++sequence;
    let ans;
    try {
      const res = await fetch(`${bar.dataset.suggest}?${params}`);
      if (!res.ok) return;
      ans = await res.json();
    } catch {
      return;
    }
    if (mine !== sequence || document.activeElement !== box) return;
    show(box, ans);
  }

  function show(box, ans) {
    close();
    if (!ans.items.length) return;
    input = box;
    answer = ans;
    items = ans.items;
    list = document.createElement("ul");
    list.className = "fb-suggest";
    list.id = "fb-suggest";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Suggestions");
    items.forEach((it, i) => {
      const li = document.createElement("li");
      li.setAttribute("role", "option");
      li.id = `fb-suggest-${i}`;
      li.dataset.i = String(i);
      const code = document.createElement("code");
      code.textContent = it.label;
      const kind = document.createElement("span");
      kind.textContent = { name: "name", key: "attribute", annotation: "annotation", value: "value" }[it.kind] ?? it.kind;
      li.append(code, kind);
      list.append(li);
    });
    box.closest(".fb-expr").append(list);
    box.setAttribute("aria-expanded", "true");
    box.setAttribute("aria-controls", "fb-suggest");
  }

  function move(step) {
    if (!list) return;
    // -1 is the box itself: moving past either end comes back to it.
    active += step;
    if (active >= items.length) active = -1;
    else if (active < -1) active = items.length - 1;
    for (const li of list.children) li.setAttribute("aria-selected", String(Number(li.dataset.i) === active));
    input.setAttribute("aria-activedescendant", active >= 0 ? `fb-suggest-${active}` : "");
    list.children[active]?.scrollIntoView({ block: "nearest" });
  }

  function take(i) {
    const it = items[i];
    if (!it) return;
    const chars = [...input.value];
    const before = chars.slice(0, answer.from).join("");
    input.value = before + it.text + chars.slice(answer.to).join("");
    const caret = before.length + it.text.length;
    input.setSelectionRange(caret, caret);
    close();
    // The filter changed: check it, and offer what may come next.
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  root.addEventListener("input", (e) => {
    const box = e.target.closest?.("[data-filterbar] input[name=filter]");
    if (!box) return;
    clearTimeout(timer);
    timer = setTimeout(() => ask(box), 120);
  });
  root.addEventListener("keydown", (e) => {
    if (!list || e.target !== input) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      move(e.key === "ArrowDown" ? 1 : -1);
    } else if ((e.key === "Enter" && active >= 0) || (e.key === "Tab" && !e.shiftKey)) {
      e.preventDefault();
      take(active >= 0 ? active : 0);
    } else if (e.key === "Escape") {
      e.stopPropagation();
      close();
    }
  }, true);
  root.addEventListener("mousedown", (e) => {
    const li = e.target.closest(".fb-suggest [role=option]");
    if (!li) return;
    e.preventDefault(); // keep the focus in the box
    take(Number(li.dataset.i));
  });
  root.addEventListener("focusout", (e) => {
    if (e.target === input) close();
  });
}
