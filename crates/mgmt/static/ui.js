// Rampart web UI: progressive enhancement only. Every page works without this script.
// - The dashboard ([data-poll]) refreshes its figures from /api/v1/status every few seconds,
//   until the user has been inactive for the session's idle timeout ([data-idle-s]).
// - Forms with data-confirm ask before they are sent.
"use strict";

(function () {
  const POLL_MS = 3000;

  function valueAt(object, path) {
    return path.split(".").reduce((o, key) => (o == null ? undefined : o[key]), object);
  }

  // The last time the user did something on the page. Polling counts as activity for the
  // session, so it stops after the session's idle timeout without any: an unattended
  // dashboard must still lock (CR 2.5).
  let lastActivity = Date.now();
  ["keydown", "pointerdown", "pointermove", "wheel", "touchstart"].forEach((name) =>
    document.addEventListener(name, () => { lastActivity = Date.now(); }, { passive: true }),
  );

  function startPolling(section) {
    const url = section.getAttribute("data-poll");
    const idleMs = Number(section.getAttribute("data-idle-s") || "0") * 1000;
    const note = document.getElementById("poll-note");
    let last = null;
    async function tick() {
      if (idleMs > 0 && Date.now() - lastActivity > idleMs - 2 * POLL_MS) {
        last = null;
        if (note) {
          note.textContent = "Live updates paused: no activity, so the session can lock. " +
            "Move the mouse or press a key to resume.";
        }
        return;
      }
      let status;
      try {
        const answer = await fetch(url, {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
          cache: "no-store",
        });
        if (answer.status === 401) {
          window.location.assign("/login?ended=1");
          return;
        }
        if (!answer.ok) {
          throw new Error("status " + answer.status);
        }
        status = await answer.json();
      } catch (e) {
        if (note) note.textContent = "Live update failed (" + e.message + "); retrying.";
        return;
      }
      document.querySelectorAll("[data-field]").forEach((el) => {
        const value = valueAt(status, el.getAttribute("data-field"));
        if (value === undefined) return;
        const text = value === null ? "" : String(value);
        if (el.textContent !== text) el.textContent = text;
        if (el.hasAttribute("data-state")) el.setAttribute("data-state", text);
      });
      document.querySelectorAll("tbody[data-clients]").forEach((body) => {
        const clients = valueAt(status, body.getAttribute("data-clients"));
        if (!Array.isArray(clients)) return;
        // textContent only: client names come from certificates.
        const rows = clients.map((c) => {
          const tr = document.createElement("tr");
          [c.client, c.role === null ? "(NULL role)" : c.role, c.peer, c.connected_at,
            c.requests, c.denied].forEach((value) => {
            const td = document.createElement("td");
            td.textContent = String(value);
            tr.appendChild(td);
          });
          return tr;
        });
        if (rows.length === 0) {
          const tr = document.createElement("tr");
          const td = document.createElement("td");
          td.colSpan = 6;
          td.textContent = "No client connected.";
          tr.appendChild(td);
          rows.push(tr);
        }
        body.replaceChildren(...rows);
      });
      const now = Date.now();
      document.querySelectorAll("[data-rate]").forEach((el) => {
        const value = valueAt(status, el.getAttribute("data-rate"));
        if (last && typeof value === "number") {
          const before = valueAt(last.status, el.getAttribute("data-rate"));
          const seconds = (now - last.at) / 1000;
          if (seconds > 0) el.textContent = ((value - before) / seconds).toFixed(1);
        }
      });
      last = { status: status, at: now };
      if (note) note.textContent = "Live: updated " + new Date(now).toLocaleTimeString() + ".";
    }
    tick();
    window.setInterval(tick, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-poll]").forEach(startPolling);
    document.querySelectorAll("form[data-confirm]").forEach((form) => {
      form.addEventListener("submit", (event) => {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
  });
})();
