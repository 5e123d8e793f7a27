// Live updates without reloading: fetch the page's live fragment every few seconds and swap it in.
// Stops once the coordination finished (the fragment says so) and pauses while the tab is hidden.
"use strict";
(function () {
  const live = document.getElementById("live");
  if (!live || !live.dataset.src || live.dataset.finished === "true") return;
  const every = Number(live.dataset.refresh || 2000);
  let timer = null;

  async function refresh() {
    timer = null;
    if (document.hidden) { schedule(); return; }
    try {
      const response = await fetch(live.dataset.src, { credentials: "same-origin", cache: "no-store" });
      if (response.ok) {
        const text = await response.text();
        const open = new Set(Array.from(live.querySelectorAll("details[open]")).map((d) => d.dataset.error));
        live.innerHTML = text;  // server-rendered and escaped by the server's templates
        live.querySelectorAll("details").forEach((d) => { if (open.has(d.dataset.error)) d.open = true; });
        const head = live.querySelector("[data-finished]");
        if (head && head.dataset.finished === "true") return;  // nothing will change any more
      }
    } catch (error) {
      // The server may be restarting: try again on the next tick.
    }
    schedule();
  }

  function schedule() { if (timer === null) timer = setTimeout(refresh, every); }
  schedule();
})();
