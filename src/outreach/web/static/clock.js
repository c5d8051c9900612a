// Keeps the header's simulated clock ticking between page loads: the server renders the
// simulated time and the scale once; the browser advances it by elapsed real time.
(function () {
  "use strict";
  const el = document.getElementById("sim-clock");
  if (!el) return;
  const simAtLoad = Number(el.dataset.simMs);
  const scale = Number(el.dataset.scale);
  const loadedAt = Date.now();
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const pad = (n) => String(n).padStart(2, "0");
  function tick() {
    const d = new Date(simAtLoad + (Date.now() - loadedAt) * scale);
    el.textContent = `${days[d.getUTCDay()]} ${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
      `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
  }
  tick();
  setInterval(tick, scale > 60 ? 250 : 1000);
})();
