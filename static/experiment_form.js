// New-experiment form: filter a long checkbox list by typing, tick or untick what is shown.
document.addEventListener("input", (e) => {
  const box = e.target.closest && e.target.closest("input.filter-list");
  if (!box) return;
  const words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
  document.querySelectorAll(`${box.dataset.list} li`).forEach((li) => {
    const text = li.textContent.toLowerCase();
    li.hidden = !words.every((w) => text.includes(w));
  });
});
document.addEventListener("click", (e) => {
  const button = e.target.closest && e.target.closest("button.select-shown");
  if (!button) return;
  const value = button.dataset.value !== "false";
  const boxes = [...document.querySelectorAll(`${button.dataset.list} li:not([hidden]) input[type=checkbox]`)];
  boxes.forEach((b) => { b.checked = value; });
  boxes[0]?.dispatchEvent(new Event("change", { bubbles: true }));  // the fill check follows
});
