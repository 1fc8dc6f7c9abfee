// The prices page while a cost recompute runs: it reads itself again every
// second and swaps in the status and the models table, until the recompute
// is over. The page works without it: reload to see the progress.

const EVERY = 1000;

function active(doc) {
  return !!doc.querySelector("[data-recompute-active]");
}

async function poll() {
  try {
    const res = await fetch(location.href, { headers: { Accept: "text/html" } });
    if (!res.ok) return;
    const doc = new DOMParser().parseFromString(await res.text(), "text/html");
    for (const part of ["recompute", "models"]) {
      const fresh = doc.querySelector(`[data-live-part="${part}"]`);
      const old = document.querySelector(`[data-live-part="${part}"]`);
      if (fresh && old) old.replaceWith(fresh);
    }
    if (!active(doc)) return;
  } catch {
    // The server is restarting, say: try again at the next tick.
  }
  setTimeout(poll, EVERY);
}

if (active(document)) setTimeout(poll, EVERY);
