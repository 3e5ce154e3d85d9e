// Judgement page: keeps the helpful critiques ranked 1..k (no ties, no gaps) as they are
// marked, and offers a ranking list with up/down buttons (keyboard operable). The rank
// inputs stay the source of truth the form sends; every change is autosaved by htmx.
(() => {
  const form = document.getElementById("judgement");
  if (!form) return;
  const card = document.getElementById("ranking-card");
  const list = document.getElementById("ranking");
  const rows = () => Array.from(form.querySelectorAll(".judgement-critique"));
  const rowOf = (id) => form.querySelector(`.judgement-critique[data-critique-id="${id}"]`);
  const rankInput = (row) => row.querySelector(".rank-input");
  const isHelpful = (row) => row.querySelector('input[type=radio][value="yes"]').checked;
  const locked = () => rankInput(rows()[0] || form)?.closest("fieldset")?.disabled;

  // Helpful critiques in rank order (unranked ones last, in page order).
  const ranked = () =>
    rows()
      .filter(isHelpful)
      .map((row, i) => ({ row, rank: parseInt(rankInput(row).value, 10), i }))
      .sort((a, b) => (a.rank || 1e9) - (b.rank || 1e9) || a.i - b.i)
      .map((x) => x.row);

  const write = (order) => {
    rows().forEach((row) => {
      const input = rankInput(row);
      input.disabled = !isHelpful(row) || locked();
      if (!isHelpful(row)) input.value = "";
    });
    order.forEach((row, i) => { rankInput(row).value = String(i + 1); });
  };

  const changed = () => form.dispatchEvent(new Event("change", { bubbles: true }));

  const render = (focusId, focusDir) => {
    const order = ranked();
    list.replaceChildren();
    card.hidden = order.length === 0;
    order.forEach((row, i) => {
      const id = row.dataset.critiqueId;
      const li = document.createElement("li");
      li.dataset.critiqueId = id;
      const text = document.createElement("span");
      text.textContent = row.querySelector(".critique-text").textContent;
      li.appendChild(text);
      if (!locked()) {
        for (const [dir, label, symbol] of [[-1, "up", "\u2191"], [1, "down", "\u2193"]]) {
          const b = document.createElement("button");
          b.type = "button";
          b.className = `rank-${label}`;
          b.textContent = symbol;
          b.setAttribute("aria-label", `Move critique ranked ${i + 1} ${label}`);
          b.disabled = (dir < 0 && i === 0) || (dir > 0 && i === order.length - 1);
          b.addEventListener("click", () => move(id, dir));
          li.appendChild(b);
        }
      }
      list.appendChild(li);
    });
    if (focusId) {
      const li = list.querySelector(`li[data-critique-id="${focusId}"]`);
      const button = li?.querySelector(focusDir < 0 ? ".rank-up" : ".rank-down");
      (button && !button.disabled ? button : li?.querySelector("button:not([disabled])"))?.focus();
    }
  };

  const move = (id, dir) => {
    const order = ranked();
    const i = order.indexOf(rowOf(id));
    const j = i + dir;
    if (i < 0 || j < 0 || j >= order.length) return;
    [order[i], order[j]] = [order[j], order[i]];
    write(order);
    render(id, dir);
    changed();
  };

  // Marking helpful appends the critique at the bottom of the ranking; marking it not
  // helpful removes it and closes the gap. A typed rank is taken as a move to that place.
  form.addEventListener("change", (e) => {
    const t = e.target;
    if (t.type === "radio" && t.name.startsWith("helpful_")) {
      write(ranked());
      render();
    } else if (t.classList && t.classList.contains("rank-input")) {
      const row = t.closest(".judgement-critique");
      const want = parseInt(t.value, 10);
      const order = ranked().filter((r) => r !== row);
      const at = Math.min(Math.max((want || order.length + 1) - 1, 0), order.length);
      order.splice(at, 0, row);
      write(order);
      render();
    }
  }, true);

  write(ranked());
  render();
})();
