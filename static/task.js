// Task page: keyboard shortcuts and an activity ping (active time is summed server-side).
(() => {
  const root = document.getElementById("task");
  if (!root) return;
  const taskId = root.dataset.taskId;
  const typing = (el) => el && (el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && el.type === "text"));
  const categories = { KeyA: "accuracy", KeyC: "coverage", KeyH: "coherence", KeyO: "other" };

  document.addEventListener("keydown", (e) => {
    const inCritique = e.target.closest && e.target.closest("form.critique, #new-critique");
    if (e.ctrlKey && e.key === "Enter") {
      e.preventDefault();
      document.getElementById("submit")?.click();
      return;
    }
    if (e.altKey && inCritique) {
      if (/^Digit[1-4]$/.test(e.code)) {
        const sel = inCritique.querySelector("select[name=severity]");
        sel.value = e.code.slice(-1);
        sel.dispatchEvent(new Event("change", { bubbles: true }));
        e.preventDefault();
      } else if (categories[e.code]) {
        const sel = inCritique.querySelector("select[name=category]");
        sel.value = categories[e.code];
        sel.dispatchEvent(new Event("change", { bubbles: true }));
        e.preventDefault();
      }
      return;
    }
    if (typing(e.target) || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.shiftKey && /^Digit[1-8]$/.test(e.code)) {
      document.querySelector(`button.use[data-index="${e.code.slice(-1)}"]`)?.click();
      e.preventDefault();
    } else if (e.key === "q") {
      critiqueSelection();
      e.preventDefault();
    } else if (e.key === "n") {
      document.querySelector("#new-critique textarea")?.focus();
      e.preventDefault();
    } else if (/^[1-7]$/.test(e.key) && !e.shiftKey) {
      const radio = document.querySelector(`#rating input[value="${e.key}"]`);
      if (radio) { radio.checked = true; radio.dispatchEvent(new Event("change", { bubbles: true })); }
    }
  });

  // Submit stops for a critique typed into the new box but not added (heard here, before
  // app.js holds a request for the autosaves, which it skips once this prevented it).
  root.addEventListener("htmx:confirm", (e) => {
    const form = document.getElementById("new-critique");
    if (!e.detail.elt.closest("#submit-box") || !form?.elements.text.value.trim()) return;
    e.preventDefault();
    const box = document.getElementById("submit-box");
    let note = box.querySelector(".unadded");
    if (!note) {
      note = document.createElement("p");
      note.className = "error unadded";
      note.setAttribute("role", "alert");
      box.prepend(note);
    }
    note.textContent = "You started a critique but have not added it: add it, or clear the box, then submit.";
    form.elements.text.focus();
  });

  // Quote to critique: the selected words of the answer or the passage start a new
  // critique. Offsets count code points of the stored text (Python's str indexes), so a
  // character outside the BMP counts once, as on the server.
  const quotable = [...document.querySelectorAll("[data-quote]")];
  const quoteButton = document.getElementById("quote-critique");
  const quoteStatus = document.getElementById("quote-status");
  const points = (s) => Array.from(s).length;
  const short = (s) => (s.length > 80 ? `${s.slice(0, 77)}…` : s);
  let lastQuote = null;
  const selectedQuote = () => {
    const sel = window.getSelection();
    if (!sel || sel.isCollapsed || !sel.rangeCount) return null;
    const range = sel.getRangeAt(0);
    const el = quotable.find((q) => !q.hidden && range.intersectsNode(q));
    if (!el) return null;
    const whole = document.createRange();
    whole.selectNodeContents(el);
    const before = whole.cloneRange();
    if (range.compareBoundaryPoints(Range.START_TO_START, whole) > 0) before.setEnd(range.startContainer, range.startOffset);
    else before.collapse(true);
    const inside = range.cloneRange();
    if (range.compareBoundaryPoints(Range.START_TO_START, whole) < 0) inside.setStart(whole.startContainer, whole.startOffset);
    if (range.compareBoundaryPoints(Range.END_TO_END, whole) > 0) inside.setEnd(whole.endContainer, whole.endOffset);
    const text = el.textContent;
    let start = before.toString().length;
    let end = start + inside.toString().length;
    while (start < end && /\s/.test(text[start])) start += 1;  // no stray spaces at the ends
    while (end > start && /\s/.test(text[end - 1])) end -= 1;
    if (start >= end) return null;
    const quoted = text.slice(start, end);
    return { of: el.dataset.quote, start: points(text.slice(0, start)), end: points(text.slice(0, end)), text: quoted };
  };
  document.addEventListener("selectionchange", () => {
    const quote = selectedQuote();
    if (quote) lastQuote = quote;
    if (!quoteButton) return;
    quoteButton.classList.toggle("ready", Boolean(lastQuote));
    const said = lastQuote
      ? `Selected in the ${lastQuote.of}: “${short(lastQuote.text)}”`
      : "Select words in the answer or the text to critique them.";
    if (quoteStatus.textContent !== said) quoteStatus.textContent = said;  // a live region: say it once
  });
  // A click elsewhere forgets the selection; Tab to the button keeps it.
  document.addEventListener("pointerdown", (e) => {
    if (!e.target.closest || !e.target.closest("#quote-critique")) lastQuote = null;
  });
  quoteButton?.addEventListener("mousedown", (e) => e.preventDefault());  // keep the selection
  const critiqueSelection = () => {
    const quote = selectedQuote() || lastQuote;
    const form = document.getElementById("new-critique");
    if (!form) return;
    if (!quote) {
      if (quoteStatus) quoteStatus.textContent = "Select some words in the answer or the text first.";
      return;
    }
    form.elements.quote_of.value = quote.of;
    form.elements.quote_start.value = quote.start;
    form.elements.quote_end.value = quote.end;
    const preview = form.querySelector(".quote-preview");
    preview.querySelector(".quote-where").textContent = quote.of;
    preview.querySelector(".quote-text").textContent = short(quote.text);
    preview.hidden = false;
    const box = form.elements.text;
    const prefill = quote.text.length > 300 ? `${quote.text.slice(0, 299)}…` : quote.text;
    if (!box.value.trim()) box.value = `“${prefill}” `;
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
    lastQuote = null;
  };
  quoteButton?.addEventListener("click", critiqueSelection);
  document.addEventListener("click", (e) => {
    const drop = e.target.closest && e.target.closest("#new-critique .drop-quote");
    if (!drop) return;
    const form = drop.form;
    ["quote_of", "quote_start", "quote_end"].forEach((f) => { form.elements[f].value = ""; });
    form.querySelector(".quote-preview").hidden = true;
    form.elements.text.focus();
  });

  // The passage: shown beside the work on wide screens, behind "Show the text" on narrow
  // ones. The reveal is recorded once: the button, or the first scroll or click into the text.
  const passage = document.getElementById("passage");
  const passageText = document.getElementById("passage-text");
  const showButton = document.getElementById("show-passage");
  const wide = window.matchMedia("(min-width: 1100px)");
  let revealed = false;
  const recordReveal = () => {
    if (revealed) return;
    revealed = true;
    htmx.ajax("POST", passage.dataset.revealUrl, { swap: "none" });
  };
  const showPassage = (show) => {
    passageText.hidden = !show;
    showButton.setAttribute("aria-expanded", String(show));
    showButton.textContent = show ? "Hide the text" : "Show the text";
  };
  if (passage && passageText && showButton) {
    const layout = () => { if (wide.matches) showPassage(true); else if (!revealed) showPassage(false); };
    layout();
    wide.addEventListener("change", layout);
    showButton.addEventListener("click", () => {
      const show = passageText.hidden;
      showPassage(show);
      if (show) recordReveal();
    });
    ["scroll", "wheel", "pointerdown", "touchstart"].forEach((t) => passageText.addEventListener(t, recordReveal, { passive: true }));
  }

  // Active time: count seconds with recent input while the page is visible.
  let lastInput = Date.now();
  let lastPing = Date.now();
  ["keydown", "mousemove", "scroll", "click"].forEach((t) => document.addEventListener(t, () => { lastInput = Date.now(); }, { passive: true }));
  setInterval(() => {
    const now = Date.now();
    const active = document.visibilityState === "visible" && now - lastInput < 60000;
    if (active) {
      htmx.ajax("POST", `/tasks/${taskId}/activity`, { values: { seconds: (now - lastPing) / 1000 }, swap: "none" });
    }
    lastPing = now;
  }, 15000);
})();
