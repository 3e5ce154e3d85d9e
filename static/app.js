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
