// The console's few behaviours that HTML alone does not give: confirmations before destructive
// actions, and the toast fading out. htmx carries the CSRF header (hx-headers on <body>).
document.addEventListener("submit", function (event) {
  var form = event.target;
  // A form htmx submits asks through htmx:confirm below, once.
  if (form.matches("[hx-post],[hx-put],[hx-patch],[hx-delete]")) return;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

document.addEventListener("htmx:confirm", function (event) {
  var question = event.detail.elt.getAttribute("data-confirm");
  if (!question) return;
  event.preventDefault();
  if (window.confirm(question)) event.detail.issueRequest(true);
});

document.addEventListener("htmx:afterSwap", function (event) {
  if (event.detail.target && event.detail.target.id === "toast") fadeToast();
});

document.addEventListener("DOMContentLoaded", fadeToast);

function fadeToast() {
  var toast = document.querySelector("#toast .toast");
  if (!toast) return;
  window.setTimeout(function () { toast.classList.add("gone"); }, 4000);
}
