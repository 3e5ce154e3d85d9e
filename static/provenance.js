// How the critiques got written (issue 21): per critique, characters typed and pasted (each
// paste's length and time), the time from task open to its first keystroke, the time spent
// typing and the edits to a critique taken from a model critique; per task, the time the page
// was hidden or unfocused and how often. Counts and timings only: no keystrokes, no text, and
// the clipboard is never read (a paste's length is the growth of the field). Nothing here
// sends a request: the totals ride on the page's own autosave and submit (docs/privacy.md).
(() => {
  const root = document.getElementById("task");
  if (!root) return;
  const taskId = root.dataset.taskId;
  const storeKey = `critiquelab:provenance:${taskId}`;
  const TYPING_PAUSE_MS = 5000; // a longer gap between keystrokes is not typing time
  const MAX_PASTES = 50;

  // Totals survive a reload of the page in this tab (sessionStorage: this tab, this site).
  let state = null;
  try { state = JSON.parse(sessionStorage.getItem(storeKey) || "null"); } catch (e) { state = null; }
  if (!state || typeof state !== "object" || !state.critiques) {
    state = { opened: Date.now(), awayMs: 0, departures: 0, critiques: {} };
  }
  const save = () => { try { sessionStorage.setItem(storeKey, JSON.stringify(state)); } catch (e) { /* full or off */ } };
  const sinceOpen = () => Math.max(0, (Date.now() - state.opened) / 1000);
  const entry = (key) => {
    if (!state.critiques[key]) {
      state.critiques[key] = { typed: 0, pasted: 0, pastes: [], firstKey: null, typingMs: 0, lastKey: null, used: false, editsAfterUse: 0 };
    }
    return state.critiques[key];
  };
  const keyOf = (el) => {
    if (!el || el.tagName !== "TEXTAREA" || el.name !== "text") return null;
    const form = el.closest("form");
    if (!form) return null;
    if (form.id === "new-critique") return "new";
    return form.dataset.critiqueId || null;
  };

  // Typed or pasted: the field's growth between beforeinput and input, by the input's type.
  let before = null;
  document.addEventListener("beforeinput", (e) => {
    const key = keyOf(e.target);
    if (key === null) return;
    before = { el: e.target, len: e.target.value.length, sel: Math.abs(e.target.selectionEnd - e.target.selectionStart) };
  }, true);
  document.addEventListener("input", (e) => {
    const key = keyOf(e.target);
    if (key === null) return;
    const c = entry(key);
    const now = Date.now();
    const b = before && before.el === e.target ? before : { len: e.target.value.length, sel: 0 };
    before = null;
    const inserted = Math.max(0, e.target.value.length - b.len + b.sel);
    const kind = e.inputType || "";
    if (c.firstKey === null) c.firstKey = sinceOpen();
    if (kind === "insertFromPaste" || kind === "insertFromDrop" || kind === "insertFromPasteAsQuotation") {
      c.pasted += inserted;
      if (c.pastes.length < MAX_PASTES) c.pastes.push({ chars: inserted, at_s: Math.round(sinceOpen() * 10) / 10 });
    } else if (kind.startsWith("insert")) {
      c.typed += inserted;
      if (c.lastKey !== null && now - c.lastKey < TYPING_PAUSE_MS) c.typingMs += now - c.lastKey;
      c.lastKey = now;
    }
    if (c.used) c.editsAfterUse += 1;
    save();
  }, true);

  // Away: the page hidden (another tab, minimised) or the window unfocused (another app).
  // Flickers under half a second (a permission prompt, a focus hiccup) do not count.
  const MIN_AWAY_MS = 500;
  let awaySince = null;
  const leave = () => { if (awaySince === null) awaySince = Date.now(); };
  const back = () => {
    if (awaySince === null) return;
    const away = Date.now() - awaySince;
    awaySince = null;
    if (away >= MIN_AWAY_MS) { state.awayMs += away; state.departures += 1; save(); }
  };
  document.addEventListener("visibilitychange", () => (document.visibilityState === "hidden" ? leave() : back()));
  window.addEventListener("blur", leave);
  window.addEventListener("focus", back);

  // A new critique's counts move to its id once the server has given it one; a "use" marks
  // the critique it creates, so later edits count as edits after a use.
  const idsOnPage = () => new Set([...document.querySelectorAll("form.critique[data-critique-id]")].map((f) => f.dataset.critiqueId));
  let known = idsOnPage();
  let adding = null;
  document.addEventListener("htmx:beforeRequest", (e) => {
    const elt = e.detail.elt;
    if (elt && elt.id === "new-critique") adding = "new";
    else if (elt && elt.classList && elt.classList.contains("use")) adding = "use";
  });
  document.addEventListener("htmx:afterSettle", () => {
    const now = idsOnPage();
    const fresh = [...now].filter((id) => !known.has(id));
    if (fresh.length === 1 && adding === "new" && state.critiques.new) {
      state.critiques[fresh[0]] = state.critiques.new;
      delete state.critiques.new;
    } else if (fresh.length === 1 && adding === "use") {
      entry(fresh[0]).used = true;
    }
    if (fresh.length) adding = null;
    Object.keys(state.critiques).forEach((k) => { if (k !== "new" && !now.has(k)) delete state.critiques[k]; });
    known = now;
    save();
  });

  const report = () => {
    const now = awaySince === null ? 0 : Date.now() - awaySince; // away right now
    const ongoing = now >= MIN_AWAY_MS ? now : 0;
    const critiques = Object.entries(state.critiques)
      .filter(([k]) => k !== "new")
      .map(([k, c]) => ({
        critique_id: Number(k),
        typed_chars: c.typed,
        pasted_chars: c.pasted,
        pastes: c.pastes,
        first_key_s: c.firstKey,
        typing_s: c.typingMs / 1000,
        edits_after_use: c.editsAfterUse,
      }));
    const away = (state.awayMs + ongoing) / 1000;
    return JSON.stringify({ away_s: away, departures: state.departures + (ongoing ? 1 : 0), critiques });
  };
  const carries = new RegExp(`^/tasks/${taskId}/(critiques/\\d+|submit)$`);
  document.addEventListener("htmx:configRequest", (e) => {
    const verb = (e.detail.verb || "").toLowerCase();
    if ((verb === "put" || verb === "post") && carries.test(e.detail.path)) {
      e.detail.parameters.provenance = report();
    }
  });
  // A submitted task's totals are no longer needed in this tab.
  document.addEventListener("htmx:afterRequest", (e) => {
    if (/\/submit$/.test(e.detail.pathInfo?.requestPath || "") && e.detail.successful) {
      try { sessionStorage.removeItem(storeKey); } catch (err) { /* off */ }
    }
  });
})();
