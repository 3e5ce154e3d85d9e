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
    } else if (e.key === "n") {
      document.querySelector("#new-critique textarea")?.focus();
      e.preventDefault();
    } else if (/^[1-7]$/.test(e.key) && !e.shiftKey) {
      const radio = document.querySelector(`#rating input[value="${e.key}"]`);
      if (radio) { radio.checked = true; radio.dispatchEvent(new Event("change", { bubbles: true })); }
    }
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
