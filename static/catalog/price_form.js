/* The price editor: show the fields the chosen pricing model needs, and keep the
   tier table numbered (first unit = previous last unit + 1; the last tier runs to ∞).
   Plain JavaScript, no build step; without it every field stays visible. */
(function () {
  "use strict";

  function selected(editor, selector) {
    var input = editor.querySelector(selector + ":checked") || editor.querySelector(selector);
    return input ? input.value : "";
  }

  function toggle(editor) {
    var model = selected(editor, "[data-pricing-model]");
    var period = editor.querySelector("select[name$='billing_period']");
    var recurring = !period || period.value !== "one_time";
    var usage = recurring ? selected(editor, "input[name$='usage_type']") : "licensed";
    editor.querySelectorAll("[data-models]").forEach(function (el) {
      el.hidden = el.getAttribute("data-models").split(" ").indexOf(model) === -1;
    });
    editor.querySelectorAll("[data-recurring-only]").forEach(function (el) {
      el.hidden = !recurring;
    });
    editor.querySelectorAll("[data-usage]").forEach(function (el) {
      el.hidden = el.getAttribute("data-usage") !== usage;
    });
    var currency = editor.querySelector("select[name$='currency']");
    if (currency) {
      editor.querySelectorAll("[data-currency-code]").forEach(function (el) {
        el.textContent = currency.value.toUpperCase();
      });
    }
  }

  function renumber(tiers) {
    var rows = tiers.querySelectorAll("[data-tier-rows] [data-tier-row]");
    var total = tiers.querySelector("input[name$='-TOTAL_FORMS']");
    var previous = null;
    rows.forEach(function (row, index) {
      row.querySelectorAll("input, select").forEach(function (input) {
        ["name", "id"].forEach(function (attr) {
          var value = input.getAttribute(attr);
          if (value) {
            input.setAttribute(attr, value.replace(/-tiers-(\d+|__prefix__)-/, "-tiers-" + index + "-"));
          }
        });
      });
      row.querySelector("[data-tier-number]").textContent = String(index + 1);
      var first = previous === null ? 0 : previous + 1;
      row.querySelector("[data-first-unit]").textContent =
        previous === null || !isNaN(previous) ? first.toLocaleString("en-US") : "—";
      var upTo = row.querySelector("input[name$='-up_to']");
      var last = index === rows.length - 1;
      upTo.placeholder = last ? "∞" : "last unit";
      previous = upTo.value === "" ? NaN : parseInt(upTo.value, 10);
      row.querySelector("[data-remove-tier]").disabled = rows.length === 1;
    });
    if (total) {
      total.value = String(rows.length);
    }
  }

  function setUpTiers(tiers) {
    var body = tiers.querySelector("[data-tier-rows]");
    var template = tiers.querySelector("[data-tier-template]");
    tiers.querySelector("[data-add-tier]").addEventListener("click", function () {
      var rows = body.querySelectorAll("[data-tier-row]");
      var row = template.content.firstElementChild.cloneNode(true);
      // A new tier goes before the last (∞) one: the table keeps ending at ∞.
      if (rows.length) {
        body.insertBefore(row, rows[rows.length - 1]);
      } else {
        body.appendChild(row);
      }
      renumber(tiers);
      row.querySelector("input[name$='-up_to']").focus();
    });
    body.addEventListener("click", function (event) {
      var button = event.target.closest("[data-remove-tier]");
      if (button && body.querySelectorAll("[data-tier-row]").length > 1) {
        button.closest("[data-tier-row]").remove();
        renumber(tiers);
      }
    });
    body.addEventListener("input", function () {
      renumber(tiers);
    });
    renumber(tiers);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-price-editor]").forEach(function (editor) {
      editor.addEventListener("change", function () {
        toggle(editor);
      });
      editor.querySelectorAll("[data-tier-editor]").forEach(setUpTiers);
      toggle(editor);
    });
  });
})();
