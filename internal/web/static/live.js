// Live refresh: the server streams a "change" event when the project this
// page shows receives spans (from this server or any other sharing the
// database). The page then re-fetches itself and swaps in the parts marked
// data-live-part, highlighting rows it had not shown before.

const KEY = "loupe.live";

export function setupLive() {
  const watch = document.body.dataset.live;
  if (!watch || !window.EventSource) return;
  const button = document.getElementById("live");
  let paused = localStorage.getItem(KEY) === "paused";
  const show = () => {
    button?.setAttribute("aria-pressed", String(!paused));
    if (button) button.querySelector(".live-label").textContent = paused ? "Paused" : "Live";
  };
  show();
  button?.addEventListener("click", () => {
    paused = !paused;
    localStorage.setItem(KEY, paused ? "paused" : "live");
    show();
    if (!paused) refresh();
  });

  const q = new URLSearchParams({ since: document.body.dataset.since });
  if (watch !== "*") q.set("project", watch);
  const source = new EventSource(`/events?${q}`);
  // The server opens the stream once it will send every later change;
  // data-streaming says so (and is gone while the browser reconnects).
  source.addEventListener("open", () => (document.body.dataset.streaming = "true"));
  source.addEventListener("error", () => {
    delete document.body.dataset.streaming;
    // A refused stream is not retried by the browser. When the login
    // expired, reloading takes the page to the login form (and back here
    // after it) rather than leaving a page that silently stopped updating.
    if (source.readyState === EventSource.CLOSED) sessionEnded();
  });
  source.addEventListener("change", (e) => {
    const change = JSON.parse(e.data);
    if (document.querySelector("[data-first-run]")) {
      location.href = `/projects/${encodeURIComponent(change.project)}`;
      return;
    }
    if (!paused) refresh();
  });
  addEventListener("pagehide", () => source.close());
}

async function sessionEnded() {
  const res = await fetch(location.href, { method: "HEAD", redirect: "manual" });
  if (res.status === 401 || res.type === "opaqueredirect") location.reload();
}

// A page shows new data in place only where new data would appear: the
// first page of a list in its default, newest-first order.
function atLiveEdge() {
  const q = new URLSearchParams(location.search);
  return !q.get("cursor") && !q.get("dir") && !q.get("sort");
}

let running = false;
let again = false;

async function refresh() {
  if (!atLiveEdge()) return;
  if (running) {
    again = true;
    return;
  }
  running = true;
  try {
    // The header lets the server reuse readings too costly to repeat at
    // every refresh (toolusage.go).
    const res = await fetch(location.href, { headers: { Accept: "text/html", "X-Loupe-Live": "1" } });
    if (res.ok) swap(new DOMParser().parseFromString(await res.text(), "text/html"));
  } finally {
    running = false;
    if (again) {
      again = false;
      setTimeout(refresh, 1000);
    }
  }
}

function swap(doc) {
  for (const fresh of doc.querySelectorAll("[data-live-part]")) {
    const old = document.querySelector(`[data-live-part="${fresh.dataset.livePart}"]`);
    if (!old) continue;
    // Don't pull a field out from under someone typing in it.
    if (old.contains(document.activeElement) && document.activeElement.matches("input, select, textarea")) continue;
    const seen = new Set([...old.querySelectorAll("[data-id]")].map((r) => r.dataset.id));
    old.replaceWith(fresh);
    if (seen.size === 0) continue;
    for (const row of fresh.querySelectorAll("[data-id]")) {
      if (!seen.has(row.dataset.id)) row.classList.add("fresh");
    }
  }
}
