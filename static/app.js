// Error toasts for htmx: htmx swaps nothing on 4xx/5xx, so show the server's message.
document.addEventListener("htmx:responseError", (event) => {
  const box = document.getElementById("toasts");
  if (!box) return;
  const xhr = event.detail.xhr;
  const ct = xhr.getResponseHeader("content-type") || "";
  const div = document.createElement("div");
  div.className = "toast";
  div.setAttribute("role", "alert");
  if (ct.includes("text/html")) {
    const tmp = document.createElement("div");
    tmp.innerHTML = xhr.responseText;
    div.textContent = tmp.textContent.trim() || `Error ${xhr.status}`;
  } else {
    div.textContent = `Error ${xhr.status}`;
  }
  box.appendChild(div);
  setTimeout(() => div.remove(), 8000);
});

// Upload progress for file forms.
document.addEventListener("htmx:xhr:progress", (event) => {
  const bar = event.target.querySelector && event.target.querySelector(".upload-progress");
  if (bar && event.detail.lengthComputable) {
    bar.hidden = false;
    bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
  }
});

// On a phone, tables wider than the screen scroll sideways in their own box (app.css); a box
// that scrolls needs a tab stop so the keyboard can scroll it too.
const tabStopsForWideTables = () => {
  document.querySelectorAll("main table").forEach((table) => {
    const overflows = table.scrollWidth > table.clientWidth;
    if (overflows && !table.hasAttribute("tabindex")) {
      table.tabIndex = 0;
      table.dataset.scrollTabStop = "";
    } else if (!overflows && "scrollTabStop" in table.dataset) {
      table.removeAttribute("tabindex");
      delete table.dataset.scrollTabStop;
    }
  });
};
document.addEventListener("DOMContentLoaded", tabStopsForWideTables);
document.addEventListener("htmx:afterSettle", tabStopsForWideTables);
window.addEventListener("resize", tabStopsForWideTables);

// Autosaved forms (data-autosave) send an edit a moment after the last key, each on its own.
// Nothing typed is lost to what comes next: any other request of the page first sends the
// edits still waiting and waits for the saves on their way (its answer may re-render them,
// or end the task); a refused save stops it (its reason shows by the form); and leaving the
// page sends them and asks the browser to confirm, which gives them time to land.
(() => {
  const waiting = new Set();  // forms with input not yet sent
  const sending = new Set();  // forms whose save is on its way
  let held = [];  // requests that wait for those saves
  const isSave = (e) => e.detail.elt?.matches?.("[data-autosave]");
  const sendWaiting = () => {
    [...waiting].forEach((form) => {
      waiting.delete(form);
      if (form.isConnected) form.dispatchEvent(new Event("change"));  // sends it now
    });
  };
  const releaseIfSaved = () => {
    if (sending.size) return;
    const release = held;
    held = [];
    release.forEach((go) => go());
  };
  document.addEventListener("input", (e) => {
    const form = e.target.closest && e.target.closest("[data-autosave]");
    if (form) waiting.add(form);
  });
  document.addEventListener("htmx:beforeRequest", (e) => {
    if (!isSave(e)) return;
    waiting.delete(e.detail.elt);
    sending.add(e.detail.elt);
  });
  document.addEventListener("htmx:afterRequest", (e) => {
    if (!isSave(e)) return;
    sending.delete(e.detail.elt);
    // Refused: an error status, or the reason in the form's own status (nothing saved).
    if (!e.detail.successful || e.detail.elt.querySelector(".field-status.error")) { held = []; return; }
    setTimeout(releaseIfSaved, 0);  // after htmx sends a save it queued behind this one
  });
  document.addEventListener("htmx:confirm", (e) => {
    if (e.defaultPrevented || isSave(e)) return;
    sendWaiting();
    if (!sending.size) return;
    e.preventDefault();
    held.push(() => e.detail.issueRequest(true));
  });
  window.addEventListener("beforeunload", (e) => {
    sendWaiting();
    if (!sending.size) return;
    e.preventDefault();
    e.returnValue = "";
  });
})();
