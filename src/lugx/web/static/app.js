// Lugx store front: a little hand-written JavaScript where it helps; every page works without it.
(function () {
  "use strict";

  // Search as you type: suggestions under the header's box, arrows and Enter to pick one.
  function suggest(input) {
    var list = document.getElementById(input.getAttribute("aria-controls"));
    var timer = null, last = "", active = -1, controller = null;
    function close() { list.hidden = true; input.setAttribute("aria-expanded", "false"); active = -1; }
    function show(items) {
      list.textContent = "";
      items.forEach(function (item, i) {
        var li = document.createElement("li"), a = document.createElement("a");
        li.setAttribute("role", "option"); li.id = "sug-" + i; a.href = item.url;
        if (item.image) { var img = document.createElement("img"); img.src = item.image; img.alt = ""; a.appendChild(img); }
        var t = document.createElement("span"); t.textContent = item.title; a.appendChild(t);
        var p = document.createElement("span"); p.className = "p"; p.textContent = item.price; a.appendChild(p);
        li.appendChild(a); list.appendChild(li);
      });
      list.hidden = items.length === 0;
      input.setAttribute("aria-expanded", items.length ? "true" : "false");
    }
    function fetchFor(q) {
      if (controller) controller.abort();
      controller = new AbortController();
      fetch(input.dataset.suggest + "?q=" + encodeURIComponent(q), { signal: controller.signal, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { items: [] }; })
        .then(function (body) { if (input.value.trim() === q) show(body.items); })
        .catch(function () {});
    }
    function move(step) {
      var items = list.querySelectorAll("li");
      if (!items.length) return;
      if (active >= 0) items[active].removeAttribute("aria-selected");
      active = (active + step + items.length) % items.length;
      items[active].setAttribute("aria-selected", "true");
      input.setAttribute("aria-activedescendant", items[active].id);
    }
    input.addEventListener("input", function () {
      var q = input.value.trim();
      clearTimeout(timer);
      if (q.length < 2) { close(); return; }
      if (q === last) return;
      timer = setTimeout(function () { last = q; fetchFor(q); }, 120);
    });
    input.addEventListener("keydown", function (e) {
      if (list.hidden) return;
      if (e.key === "ArrowDown") { e.preventDefault(); move(1); }
      else if (e.key === "ArrowUp") { e.preventDefault(); move(-1); }
      else if (e.key === "Escape") { close(); }
      else if (e.key === "Enter" && active >= 0) {
        e.preventDefault(); window.location = list.querySelectorAll("li a")[active].href;
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  }

  // Live countdown of a sale: "ends in 2d 03:12:09".
  function countdowns() {
    var nodes = document.querySelectorAll(".countdown[data-ends]");
    if (!nodes.length) return;
    function pad(n) { return n < 10 ? "0" + n : "" + n; }
    function tick() {
      var now = Date.now();
      nodes.forEach(function (node) {
        var left = Math.floor((Date.parse(node.dataset.ends) - now) / 1000);
        if (isNaN(left)) return;
        if (left <= 0) { node.textContent = "Offer ended"; return; }
        var d = Math.floor(left / 86400), h = Math.floor(left % 86400 / 3600);
        var m = Math.floor(left % 3600 / 60), s = left % 60;
        node.textContent = "Ends in " + (d ? d + "d " : "") + pad(h) + ":" + pad(m) + ":" + pad(s);
      });
    }
    tick(); setInterval(tick, 1000);
  }

  // Close the account menu when clicking elsewhere.
  function menus() {
    document.addEventListener("click", function (e) {
      document.querySelectorAll("details.menu[open]").forEach(function (d) {
        if (!d.contains(e.target)) d.removeAttribute("open");
      });
    });
  }

  // Buttons that work without a reload (add to cart or wishlist, votes): the same form POST,
  // CSRF token included, answered in JSON; without the script the form posts and redirects.
  function ajaxForm(form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var data = new URLSearchParams(new FormData(form));
      var button = e.submitter || form.querySelector("button");
      if (button && button.name) data.set(button.name, button.value);
      if (button) button.disabled = true;
      fetch(form.action, {
        method: "POST", credentials: "same-origin", body: data,
        headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" }
      }).then(function (r) {
        return r.json().catch(function () { return { ok: false, message: "Something went wrong." }; });
      }).then(function (body) {
        if (body.login) { window.location = body.login; return; }
        var box = form.closest("[data-votes]");
        if (box && body.votes) {
          ["helpful", "funny"].forEach(function (k) {
            var n = box.querySelector('[data-count="' + k + '"]');
            if (n) n.textContent = body.votes[k];
          });
        }
        var status = document.querySelector(".ajax-status");
        if (box) status = box.querySelector(".counts");
        if (status && !box) status.textContent = body.message || "";
        if (body.ok && form.action.indexOf("/cart/add") >= 0 && button) {
          button.textContent = "In your cart";
        } else if (body.ok && form.action.indexOf("/wishlist/add") >= 0 && button) {
          button.textContent = "On your wishlist";
        } else if (button) { button.disabled = false; }
        if (!body.ok && status && box) { window.alert(body.message || "Not possible"); }
      }).catch(function () { if (button) button.disabled = false; form.submit(); });
    });
  }

  // A payment button sends once: a second click would only replay the same Idempotency-Key,
  // but it need not be sent at all.
  function once(button) {
    var form = button.form;
    if (!form) return;
    form.addEventListener("submit", function () {
      setTimeout(function () { button.disabled = true; }, 0);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-suggest]").forEach(suggest);
    document.querySelectorAll("form[data-ajax]").forEach(ajaxForm);
    document.querySelectorAll("button[data-once]").forEach(once);
    countdowns();
    menus();
  });
})();
