// Annotation forms (thumbs, label and score, notes) post without scripts
// and come back to the page. With this module they post with fetch, and
// the server answers with the annotations block, which replaces the one
// the form was in: the page keeps its place, its selection and its tabs.

export function setupAnnotate(root) {
  root.addEventListener("submit", async (e) => {
    const form = e.target.closest("form[data-annotate]");
    const block = form?.closest("[data-annotations]");
    if (!block) return;
    e.preventDefault();
    const body = new URLSearchParams(new FormData(form, e.submitter));
    const popOpen = block.querySelector("details.annot-pop")?.open && !form.classList.contains("thumbs");
    block.classList.add("busy");
    let res;
    try {
      res = await fetch(form.action, { method: "POST", body, headers: { "X-Loupe-Fragment": "1" } });
    } catch {
      fail(block, "The server did not answer: the annotation was not saved.");
      return;
    }
    if (res.status === 401) {
      fail(block, "You are no longer logged in: reload the page to log in again. The annotation was not saved.");
      return;
    }
    if (!res.ok) {
      const text = (await res.text()).trim();
      fail(block, text || `The annotation was not saved (${res.status}).`);
      return;
    }
    const tpl = document.createElement("template");
    tpl.innerHTML = await res.text();
    const fresh = tpl.content.querySelector("[data-annotations]");
    if (!fresh) {
      fail(block, "The server's answer could not be shown; reload the page.");
      return;
    }
    block.replaceWith(fresh);
    if (popOpen) fresh.querySelector("details.annot-pop").open = true;
    // Keep the keyboard where it was: on the same thumb, or in the same form.
    const again = form.classList.contains("thumbs")
      ? fresh.querySelector(`.thumb[value="${e.submitter?.value}"]`)
      : fresh.querySelector(`form[data-annotate] [name="${form.querySelector("[name]:not([type=hidden])")?.name}"]`);
    again?.focus({ preventScroll: true });
    const count = fresh.closest(".detail")?.querySelector("[data-annotation-count]");
    if (count) count.textContent = fresh.dataset.count;
  });
  // The names and labels already in use are fetched when a form is first
  // used, so the pages holding forms do not wait for them; the label list
  // follows the name typed.
  root.addEventListener("focusin", (e) => {
    const form = e.target.closest("form[data-choices]");
    if (form) loadChoices(form);
  });
  root.addEventListener("input", (e) => {
    if (e.target.name === "name" && e.target.closest("form[data-choices]")) showLabels(e.target.form);
  });
  // A click outside the trace header's annotation popover closes it.
  root.addEventListener("click", (e) => {
    for (const pop of document.querySelectorAll("details.annot-pop[open]")) {
      if (!pop.contains(e.target)) pop.open = false;
    }
  });
}

function fail(block, message) {
  block.classList.remove("busy");
  const p = block.querySelector("[data-annotate-error]");
  if (!p) return;
  p.textContent = message;
  p.hidden = false;
}

const choices = new Map(); // by URL: the fetched fragment, or the fetch under way

async function loadChoices(form) {
  const url = form.dataset.choices;
  if (!url) return;
  if (!choices.has(url)) {
    choices.set(url, fetch(url).then((r) => (r.ok ? r.text() : "")).catch(() => ""));
  }
  const html = await choices.get(url);
  if (!html || form.dataset.choicesLoaded) return;
  const tpl = document.createElement("template");
  tpl.innerHTML = html;
  const fresh = tpl.content.querySelector("[data-annotation-choices]");
  const names = fresh?.querySelector("datalist");
  const current = form.querySelector(`datalist[id="${names?.id}"]`);
  if (!names || !current) return;
  current.replaceChildren(...names.children);
  form.dataset.choicesLoaded = "1";
  form._labels = new Map([...fresh.querySelectorAll("template[data-labels-for]")].map((t) => [t.dataset.labelsFor, t]));
  showLabels(form);
}

function showLabels(form) {
  const list = form.querySelector("datalist[id^='annot-labels-']");
  const name = form.querySelector("[name=name]")?.value.trim();
  const tpl = form._labels?.get(name);
  if (list) list.replaceChildren(...(tpl ? tpl.content.cloneNode(true).children : []));
  // A config's score range bounds the score field, and says so.
  const score = form.querySelector("[name=score]");
  if (!score) return;
  const min = tpl?.dataset.min ?? "", max = tpl?.dataset.max ?? "";
  score.min = min;
  score.max = max;
  score.placeholder = min && max ? `between ${min} and ${max}` : min ? `at least ${min}` : max ? `at most ${max}` : "e.g. 0.8";
}
