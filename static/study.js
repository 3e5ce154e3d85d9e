// The study's completion page: back to the recruitment platform after a short pause, so the
// participant can copy the code first. The address is the admin's, rendered by the server.
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("platform-redirect");
  if (!box) return;
  const url = box.dataset.redirect;
  const after = Number(box.dataset.afterS || "5");
  if (url && /^https?:\/\//.test(url)) {
    setTimeout(() => { window.location.assign(url); }, after * 1000);
  }
});
