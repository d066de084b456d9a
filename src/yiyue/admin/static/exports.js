// Downloads from a form marked data-download (导出): the file is fetched rather than navigated to, so the
// page can say it is being made (buttons disabled, "正在生成…", the progress bar) and a refusal shows as
// a toast instead of replacing the page. Without JavaScript the form still downloads the plain way.
(function () {
  function filenameOf(disposition) {
    var utf8 = /filename\*=UTF-8''([^;]+)/i.exec(disposition || "");
    if (utf8) return decodeURIComponent(utf8[1]);
    var plain = /filename="([^"]+)"/i.exec(disposition || "");
    return plain ? plain[1] : "export";
  }

  function toast(html) {
    var area = document.getElementById("toast");
    if (!area) return;
    area.innerHTML = html;
    if (typeof window.fadeToast === "function") window.fadeToast();
  }

  function saveBlob(blob, name) {
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    window.setTimeout(function () { URL.revokeObjectURL(link.href); }, 30000);
  }

  // The server checks the range too; asking first spares a request that can only be refused.
  function rangeRefusal(form) {
    var from = form.querySelector("input[name=date_from]");
    var to = form.querySelector("input[name=date_to]");
    var most = parseInt(form.getAttribute("data-max-days") || "0", 10);
    if (!from || !to || !from.value || !to.value) return from && to ? "请填写开始和结束日期" : "";
    var days = Math.round((Date.parse(to.value) - Date.parse(from.value)) / 86400000) + 1;
    if (days < 1) return "开始日期不能晚于结束日期";
    if (most && days > most) return "导出的日期范围不能超过" + most + "天，请分段导出";
    return "";
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-download") || event.defaultPrevented) return;
    event.preventDefault();
    var refusal = rangeRefusal(form);
    if (refusal) {
      toast('<div class="toast error" role="status">' + refusal + "</div>");
      return;
    }
    var button = event.submitter || form.querySelector("button[type=submit]");
    var action = (button && button.getAttribute("formaction")) || form.getAttribute("action");
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (typeof value === "string" && value !== "") params.append(key, value);
    });
    var buttons = form.querySelectorAll("button");
    var state = form.querySelector(".download-state");
    var label = button ? button.textContent : "";
    var progress = document.getElementById("progress");
    buttons.forEach(function (b) { b.disabled = true; });
    if (button) button.textContent = "正在生成…";
    if (state) state.textContent = "";
    if (progress) progress.classList.add("htmx-request");
    form.setAttribute("aria-busy", "true");

    fetch(action + "?" + params.toString(), { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (response) {
        var redirect = response.headers.get("HX-Redirect");
        if (redirect) { window.location.href = redirect; return null; }
        if (!response.ok) {
          return response.text().then(function (html) { toast(html); });
        }
        return response.blob().then(function (blob) {
          saveBlob(blob, filenameOf(response.headers.get("Content-Disposition")));
          var rows = response.headers.get("X-Export-Rows");
          if (state) state.textContent = "已生成" + (rows !== null ? "，共 " + rows + " 行" : "");
        });
      })
      .catch(function () {
        toast('<div class="toast error" role="status">网络异常，文件未能生成，请重试</div>');
      })
      .then(function () {
        buttons.forEach(function (b) { b.disabled = false; });
        if (button) button.textContent = label;
        if (progress) progress.classList.remove("htmx-request");
        form.removeAttribute("aria-busy");
      });
  });
})();
