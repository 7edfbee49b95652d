// Progressive enhancement for the signing form; the form works without it.
// 1. A live estimate of the paragraph's lines, asked of the server, which
//    typesets it exactly as the document will (DESIGN §4): no guessing here.
// 2. The organisation field only shows when signing for an organisation.
(function () {
  "use strict";
  var form = document.querySelector("form[data-lines-url]");
  if (!form) return;

  var textarea = form.querySelector("#paragraph");
  var output = form.querySelector("#paragraph-lines");
  var timer = null;
  var latest = 0;

  function fill(template, lines, max) {
    return template.replace("{lines}", lines).replace("{max}", max);
  }

  function show(result) {
    var over = !result.fits;
    output.textContent = result.lines === 0 ? "" :
      fill(over ? output.dataset.tooLong : output.dataset.template, result.lines, result.max);
    output.classList.toggle("line-estimate--over", over);
  }

  function ask() {
    var ticket = ++latest;
    fetch(form.dataset.linesUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: textarea.value }),
      credentials: "same-origin"
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (result) {
      if (result && ticket === latest) show(result);
    }).catch(function () { /* the server checks on submit anyway */ });
  }

  if (textarea && output) {
    textarea.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 250);
    });
    if (textarea.value) ask();
  }

  var organisation = form.querySelector(".organisation-fields");
  var radios = form.querySelectorAll("input[name=kind]");
  function toggleOrganisation() {
    var chosen = form.querySelector("input[name=kind]:checked");
    var isOrganisation = chosen && chosen.value === "organisation";
    var hasError = organisation.querySelector(".field--error");
    organisation.classList.toggle("js-hidden", !isOrganisation && !hasError);
  }
  if (organisation && radios.length) {
    Array.prototype.forEach.call(radios, function (radio) {
      radio.addEventListener("change", toggleOrganisation);
    });
    toggleOrganisation();
  }

  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();
