// The filter bar of the Traces, Spans and Sessions tabs. Without this module it is a
// plain GET form. With it, examples fill the expression instead of
// applying it, the expression is checked while it is typed (by the
// server's own parser, so the message is the one a search would give), and
// an error from the last search puts the cursor where the problem is.
// Listeners are delegated: live refresh replaces the bar.

export function setupFilterBar(root) {
  root.addEventListener("click", (e) => {
    const example = e.target.closest("[data-filterbar] a[data-example]");
    if (example && !(e.metaKey || e.ctrlKey)) {
      e.preventDefault();
      const bar = example.closest("[data-filterbar]");
      const input = bar.querySelector("input[name=filter]");
      input.value = example.dataset.example;
      example.closest("details").open = false;
      input.focus();
      input.setSelectionRange(input.value.length, input.value.length);
      check(bar, input);
      return;
    }
    for (const open of document.querySelectorAll("[data-filterbar] details[open]")) {
      if (!open.contains(e.target)) open.open = false;
    }
  });
  root.addEventListener("input", (e) => {
    const input = e.target.closest("[data-filterbar] input[name=filter]");
    if (!input) return;
    // While typing, an expression is mostly unfinished: a missing value,
    // an open quote are no news. Those show after a real pause; an error
    // that more typing cannot fix (an unknown name) shows sooner.
    clearTimeout(input._checkTimer);
    clearTimeout(input._pauseTimer);
    const bar = input.closest("[data-filterbar]");
    input._checkTimer = setTimeout(() => check(bar, input, true), 600);
    input._pauseTimer = setTimeout(() => check(bar, input, false), 2000);
  });
  root.addEventListener("keydown", (e) => {
    if (e.key !== "Escape") return;
    const open = e.target.closest?.("[data-filterbar]")?.querySelector("details[open]");
    if (open) open.open = false;
  });
  pointAtError(root.querySelector("[data-filterbar] input[data-error-column]"));
}

// After a search with a bad filter, the cursor goes where the problem is.
function pointAtError(input) {
  const col = Number(input?.dataset.errorColumn ?? 0);
  if (!input || col < 1) return;
  input.focus();
  const at = Math.min(col - 1, input.value.length);
  let end = at;
  while (end < input.value.length && /[\w.]/.test(input.value[end])) end++;
  input.setSelectionRange(at, Math.max(end, at));
}

let sequence = 0;

// unfinished tells an error that typing on would fix: at the end of the
// expression, or a quote or parenthesis not yet closed.
function unfinished(v, value) {
  return v.column > [...value.trimEnd()].length || /^(unterminated string|unclosed)/.test(v.message ?? "");
}

async function check(bar, input, typing = false) {
  const value = input.value;
  const mine = ++sequence;
  let verdict = { ok: true };
  if (value.trim() !== "") {
    try {
      // Each tab has its filter language: the bar says which.
      const grain = bar.dataset.grain || "span";
      const res = await fetch(`/filter/check?${new URLSearchParams({ filter: value, grain })}`);
      if (!res.ok) return;
      verdict = await res.json();
    } catch {
      return; // no verdict is better than a wrong one
    }
  }
  if (mine !== sequence) return; // a newer check is on its way
  if (typing && !verdict.ok && unfinished(verdict, value)) verdict = { ok: true };
  show(bar, input, verdict, value);
}

function show(bar, input, v, value) {
  const panel = bar.parentElement.querySelector("[data-filter-error]");
  bar.querySelector(".fb-expr").classList.toggle("invalid", !v.ok);
  input.setAttribute("aria-invalid", String(!v.ok));
  if (!panel) return;
  if (v.ok) {
    panel.hidden = true;
    return;
  }
  const msg = document.createElement("b");
  msg.textContent = v.message;
  const line = document.createElement("p");
  line.append(msg, v.column ? ` at column ${v.column}` : "", v.hint ? ` — ${v.hint}` : "");
  const children = [line];
  if (v.column) {
    const chars = [...value];
    const at = Math.min(v.column - 1, chars.length);
    let end = at;
    while (end < chars.length && (end === at || /[\w.]/.test(chars[end]))) end++;
    const pre = document.createElement("pre");
    pre.className = "fb-mark";
    const mark = document.createElement("mark");
    mark.textContent = chars.slice(at, end).join("") || " ";
    pre.append(chars.slice(0, at).join(""), mark, chars.slice(end).join(""));
    children.push(pre);
  }
  panel.replaceChildren(...children);
  panel.hidden = false;
}
