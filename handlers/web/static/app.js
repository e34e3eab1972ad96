/* Leadbot web app: Telegram and DingTalk sign-in, live checks on the report form, no double submits.
   Plain JavaScript, no libraries, no external requests (inside DingTalk, its JSAPI). */
(function () {
  "use strict";
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";

  function initData() {
    var tg = window.Telegram && window.Telegram.WebApp;
    if (tg && tg.initData) { return tg.initData; }
    var hash = window.location.hash ? window.location.hash.slice(1) : "";
    if (!hash) { return ""; }
    try { return new URLSearchParams(hash).get("tgWebAppData") || ""; } catch (e) { return ""; }
  }

  function postSession(box, url, body) {
    box.setAttribute("data-state", "signing-in");
    fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      if (r.ok) {
        window.location.replace(window.location.pathname + window.location.search);
      } else {
        box.setAttribute("data-state", "refused");
      }
    }).catch(function () { box.setAttribute("data-state", "offline"); });
  }

  /* Inside DingTalk (an H5 micro app in the 工作台): DingTalk's JSAPI gives a one-time
     免登 code for the organisation's CorpId; the server asks DingTalk whose it is. */
  function dingTalkSignIn(box) {
    var corp = box.getAttribute("data-dd-corp");
    var dd = window.dd;
    if (!corp || !dd || !dd.runtime || !dd.runtime.permission) { return false; }
    box.setAttribute("data-state", "signing-in");
    dd.ready(function () {
      dd.runtime.permission.requestAuthCode({
        corpId: corp,
        onSuccess: function (info) {
          postSession(box, "/app/api/session/dingtalk", { authCode: info.code });
        },
        onFail: function () { box.setAttribute("data-state", "refused"); }
      });
    });
    return true;
  }

  function signIn() {
    var box = document.getElementById("signin");
    if (!box) { return; }
    var data = initData();
    if (data) {
      postSession(box, "/app/api/session", { initData: data });
      return;
    }
    dingTalkSignIn(box);
  }

  function debounce(fn, ms) {
    var t = null;
    return function () { var a = arguments; clearTimeout(t); t = setTimeout(function () { fn.apply(null, a); }, ms); };
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); });
  }

  function amountPreview(input) {
    var hint = document.getElementById(input.id + "-hint");
    var err = document.getElementById(input.id + "-err");
    var original = hint ? hint.textContent : "";
    var kind = input.id === "foreign" ? "usd" : "rmb";
    var run = debounce(function () {
      var v = input.value.trim();
      if (!v) { if (hint) { hint.textContent = original; hint.classList.remove("preview"); } err.classList.remove("show"); return; }
      getJSON("/app/api/amount?kind=" + kind + "&text=" + encodeURIComponent(v)).then(function (d) {
        if (d.ok) {
          err.classList.remove("show"); err.textContent = "";
          if (hint) { hint.textContent = "= " + d.preview; hint.classList.add("preview"); }
        } else {
          err.textContent = d.message; err.classList.add("show");
          if (hint) { hint.textContent = original; hint.classList.remove("preview"); }
        }
      });
    }, 200);
    input.addEventListener("input", run);
  }

  function companyCheck(input) {
    var err = document.getElementById("company-err");
    var same = document.getElementById("same_as");
    var box = document.createElement("div");
    box.id = "company-check";
    input.parentNode.appendChild(box);
    var run = debounce(function () {
      var v = input.value.trim();
      same.value = "";
      box.textContent = ""; box.className = "";
      if (v.length < 2) { return; }
      getJSON("/app/api/company?name=" + encodeURIComponent(v)).then(function (d) {
        if (!d.ok) { return; }
        if (d.exact) {
          box.className = "warn"; box.setAttribute("data-kind", "duplicate");
          box.textContent = d.exact.message;
          return;
        }
        if (d.near && d.near.length) {
          box.className = "warn"; box.setAttribute("data-kind", "near");
          var title = document.createElement("div"); title.textContent = d.near_title; box.appendChild(title);
          d.near.forEach(function (c) {
            var row = document.createElement("div");
            row.textContent = c.code + " " + c.company + "（" + c.unit + "）";
            var yes = document.createElement("button"); yes.type = "button"; yes.textContent = d.same_label;
            yes.addEventListener("click", function () { same.value = String(c.lead_id); box.textContent = c.code + " ✓ " + d.same_label; });
            row.appendChild(document.createElement("br")); row.appendChild(yes);
            box.appendChild(row);
          });
          var no = document.createElement("button"); no.type = "button"; no.textContent = d.different_label;
          no.addEventListener("click", function () { same.value = ""; box.textContent = ""; box.className = ""; });
          box.appendChild(no);
        }
      });
    }, 300);
    input.addEventListener("input", run);
    if (input.value) { run(); }
  }

  /* Attachments: each picked file is uploaded at once (raw body, its name in a header), so
     保存 posts only tokens; 保存 waits while an upload is running. */
  function fileUploads(input) {
    var list = document.getElementById("files-list");
    var err = document.getElementById("files-err");
    var form = input.form;
    var save = form ? form.querySelector("button[type=submit]") : null;
    var max = parseInt(input.getAttribute("data-max-files"), 10) || 10;
    var maxBytes = parseInt(input.getAttribute("data-max-bytes"), 10) || 0;
    var pending = 0;

    function say(text) { err.textContent = text; if (text) { err.classList.add("show"); } else { err.classList.remove("show"); } }
    function busy(delta) { pending += delta; if (save) { save.disabled = pending > 0; } }
    function removable(li) {
      var b = li.querySelector("button.remove");
      if (b) { b.addEventListener("click", function () { li.parentNode.removeChild(li); say(""); }); }
    }
    function count() { return list.querySelectorAll("li").length; }

    function upload(file) {
      var li = document.createElement("li");
      li.setAttribute("data-state", "uploading");
      var label = document.createElement("span"); label.textContent = file.name;
      var state = document.createElement("em"); state.textContent = " " + input.getAttribute("data-uploading");
      li.appendChild(label); li.appendChild(state);
      list.appendChild(li);
      busy(1);
      fetch("/app/api/files", {
        method: "POST", credentials: "same-origin", body: file,
        headers: {
          "X-CSRF-Token": csrf, "Accept": "application/json",
          "X-File-Name": encodeURIComponent(file.name),
          "Content-Type": file.type || "application/octet-stream"
        }
      }).then(function (r) { return r.json(); }).then(function (d) {
        if (!d.ok) { throw new Error(d.message || input.getAttribute("data-failed")); }
        li.setAttribute("data-state", "done");
        li.removeChild(state);
        var hidden = document.createElement("input");
        hidden.type = "hidden"; hidden.name = "file"; hidden.value = d.token;
        var b = document.createElement("button");
        b.type = "button"; b.className = "remove"; b.textContent = input.getAttribute("data-remove");
        li.appendChild(hidden); li.appendChild(b); removable(li);
      }).catch(function (e) {
        li.parentNode.removeChild(li);
        say(file.name + "：" + (e && e.message && e.message !== "Failed to fetch" ? e.message : input.getAttribute("data-failed")));
      }).then(function () { busy(-1); });
    }

    Array.prototype.forEach.call(list.querySelectorAll("li"), removable);
    input.addEventListener("change", function () {
      say("");
      Array.prototype.forEach.call(input.files, function (file) {
        if (count() >= max) { say(input.getAttribute("data-too-many")); return; }
        if (maxBytes && file.size > maxBytes) { say(file.name + "：" + input.getAttribute("data-too-big")); return; }
        upload(file);
      });
      input.value = "";
    });
  }

  function noDoubleSubmit() {
    Array.prototype.forEach.call(document.querySelectorAll("form[method=post]"), function (f) {
      f.addEventListener("submit", function () {
        var b = f.querySelector("button[type=submit]");
        if (b) { setTimeout(function () { b.disabled = true; }, 0); }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    signIn();
    Array.prototype.forEach.call(document.querySelectorAll("[data-preview=amount], #foreign"), amountPreview);
    var company = document.querySelector("[data-check=company]");
    if (company) { companyCheck(company); }
    var files = document.getElementById("files");
    if (files && files.type === "file") { fileUploads(files); }
    noDoubleSubmit();
    if (csrf && window.Telegram && window.Telegram.WebApp && window.Telegram.WebApp.ready) { window.Telegram.WebApp.ready(); }
  });
})();
