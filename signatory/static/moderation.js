// Keyboard moderation for the queue (progressive enhancement: every entry is
// an ordinary form that works without this file).
//   j / ↓ next, k / ↑ previous, a approve, r reject, h revise (type the
//   reason, then Ctrl+Enter), x tick for bulk approve, Esc leaves a field.
// Decisions are posted with fetch; in the "pending" list a decided entry
// leaves the list and the next one gets the focus.
(function () {
  "use strict";
  var queue = document.getElementById("queue");
  if (!queue || !window.fetch || !window.FormData) return;
  var section = document.querySelector(".moderation");
  var removeDecided = section && section.dataset.status === "pending";

  function entries() { return Array.prototype.slice.call(queue.querySelectorAll(".entry")); }
  function current() {
    var el = document.activeElement;
    return el && el.closest ? el.closest(".entry") : null;
  }
  function focusEntry(entry) {
    if (!entry) return;
    entries().forEach(function (e) { e.classList.remove("entry--current"); });
    entry.classList.add("entry--current");
    entry.focus({ preventScroll: true });
    entry.scrollIntoView({ block: "nearest", behavior: "auto" });
  }
  function move(step) {
    var list = entries();
    var index = list.indexOf(current());
    var next = list[index < 0 ? 0 : Math.min(list.length - 1, Math.max(0, index + step))];
    focusEntry(next);
  }
  function updateCounts(counts) {
    if (!counts) return;
    Object.keys(counts).forEach(function (key) {
      var el = document.querySelector('[data-count="' + key + '"]');
      if (el) el.textContent = counts[key];
    });
  }

  function submit(form, decision) {
    var entry = form.closest(".entry");
    var message = form.querySelector(".entry__message");
    var data = new FormData(form);
    data.set("decision", decision);
    entry.classList.add("entry--busy");
    fetch(form.action, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.json().catch(function () { return { ok: false, error: response.statusText }; });
    }).then(function (result) {
      entry.classList.remove("entry--busy");
      if (!result.ok) {
        message.textContent = result.error || "?";
        entry.classList.add("entry--error");
        return;
      }
      updateCounts(result.counts);
      var list = entries();
      var next = list[list.indexOf(entry) + 1] || list[list.indexOf(entry) - 1];
      if (removeDecided) {
        entry.remove();
        if (!entries().length) { window.location.reload(); return; }
        focusEntry(next);
      } else {
        message.textContent = result.message;
        entry.classList.add("entry--done");
        focusEntry(next || entry);
      }
      var status = document.getElementById("moderation-status");
      if (status) status.textContent = result.message;
    }).catch(function () {
      entry.classList.remove("entry--busy");
      form.submit();  // the network said no: fall back to a normal post
    });
  }

  // Buttons post through fetch too.
  queue.addEventListener("click", function (event) {
    var button = event.target.closest("button[name=decision]");
    if (!button) return;
    event.preventDefault();
    submit(button.form, button.value);
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var inField = target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT" && target.type === "text");
    var entry = current();
    if (inField) {
      if (event.key === "Escape") { focusEntry(entry); event.preventDefault(); }
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && entry) {
        event.preventDefault();
        var form = entry.querySelector(".entry__form");
        submit(form, form.dataset.pending || "reject");
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var key = event.key;
    if (key === "j" || key === "ArrowDown") { move(1); event.preventDefault(); return; }
    if (key === "k" || key === "ArrowUp") { move(-1); event.preventDefault(); return; }
    if (!entry) { if ("arhx".indexOf(key) >= 0) focusEntry(entries()[0]); entry = current(); if (!entry) return; }
    var form = entry.querySelector(".entry__form");
    if (!form) return;
    if (key === "a") { event.preventDefault(); submit(form, "approve"); }
    else if (key === "r" || key === "h") {
      event.preventDefault();
      form.dataset.pending = key === "r" ? "reject" : "revise";
      var reason = form.querySelector("textarea");
      reason.placeholder = key === "r" ? reason.dataset.rejectHint || "" : reason.dataset.reviseHint || "";
      reason.focus();
    } else if (key === "x") {
      var pick = entry.querySelector(".entry__pick");
      if (pick) { pick.checked = !pick.checked; event.preventDefault(); }
    }
  });

  focusEntry(entries()[0]);
})();
