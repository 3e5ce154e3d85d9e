// New-experiment form: tick or untick every box the list shows (passages or labelers; the
// server searches and pages them). The live fill check follows the change.
document.addEventListener("click", (e) => {
  const button = e.target.closest && e.target.closest("button.select-shown");
  if (!button) return;
  const value = button.dataset.value !== "false";
  const boxes = [...document.querySelectorAll(`${button.dataset.list} li:not([hidden]) input[type=checkbox]`)];
  boxes.forEach((b) => { b.checked = value; });
  boxes[0]?.dispatchEvent(new Event("change", { bubbles: true }));
});
