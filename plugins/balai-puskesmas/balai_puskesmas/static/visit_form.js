/* The visit form's ICD-10 autocomplete (progressive enhancement).
 *
 * Each diagnosis input (data-icd10) becomes a combobox in the ARIA 1.2 pattern: typing
 * a code, an Indonesian term (demam, ISPA) or English words lists matching codes from
 * the form's data-icd10-source (JSON); ArrowDown/ArrowUp move through them, Enter or
 * a click puts the code in the input, Escape closes the list. A live region says how
 * many codes were found. Without this script the form's own search button does the
 * same by posting the form.
 */
(function () {
  "use strict";

  var form = document.querySelector("form[data-icd10-source]");
  if (!form || !window.fetch) {
    return;
  }
  var source = form.getAttribute("data-icd10-source");
  var texts = {
    none: form.getAttribute("data-icd10-none") || "",
    found: form.getAttribute("data-icd10-found") || "{n}",
    error: form.getAttribute("data-icd10-error") || ""
  };
  var status = document.createElement("p");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  form.appendChild(status);

  function enhance(input, index) {
    var listId = "icd10-list-" + index;
    var list = document.createElement("ul");
    list.id = listId;
    list.className = "icd10-options";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    input.parentNode.classList.add("combobox");
    input.insertAdjacentElement("afterend", list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    input.removeAttribute("maxlength"); // a term may be longer than a code

    var timer = null;
    var pending = null;
    var active = -1;
    var options = [];

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(position) {
      options.forEach(function (option, n) {
        option.setAttribute("aria-selected", n === position ? "true" : "false");
      });
      active = position;
      if (position >= 0) {
        input.setAttribute("aria-activedescendant", options[position].id);
        options[position].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function choose(position) {
      var option = options[position];
      if (!option) {
        return;
      }
      input.value = option.getAttribute("data-code");
      close();
      input.focus();
    }

    function show(results) {
      list.textContent = "";
      options = results.map(function (result, n) {
        var option = document.createElement("li");
        option.id = listId + "-" + n;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.setAttribute("data-code", result.code);
        var code = document.createElement("code");
        code.textContent = result.code;
        option.appendChild(code);
        option.appendChild(document.createTextNode(" " + result.description));
        if (result.term) {
          var term = document.createElement("span");
          term.className = "muted";
          term.textContent = " (" + result.term + ")";
          option.appendChild(term);
        }
        option.addEventListener("mousedown", function (event) {
          event.preventDefault(); // keep the focus in the input
          choose(n);
        });
        list.appendChild(option);
        return option;
      });
      active = -1;
      list.hidden = options.length === 0;
      input.setAttribute("aria-expanded", options.length ? "true" : "false");
      status.textContent = options.length
        ? texts.found.replace("{n}", String(options.length))
        : texts.none;
    }

    function lookUp() {
      var query = input.value.trim();
      if (query.length < 2) {
        close();
        return;
      }
      if (pending) {
        pending.abort();
      }
      pending = window.AbortController ? new AbortController() : null;
      var url = source + (source.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(query);
      fetch(url, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        signal: pending ? pending.signal : undefined
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error(String(response.status));
          }
          return response.json();
        })
        .then(function (body) {
          if (input.value.trim() === query) {
            show(body.results || []);
          }
        })
        .catch(function (error) {
          if (error.name !== "AbortError") {
            close();
            status.textContent = texts.error;
          }
        });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(lookUp, 200);
    });
    input.addEventListener("keydown", function (event) {
      var open = !list.hidden && options.length > 0;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (!open) {
          lookUp();
        } else {
          highlight(active + 1 < options.length ? active + 1 : 0);
        }
      } else if (event.key === "ArrowUp" && open) {
        event.preventDefault();
        highlight(active > 0 ? active - 1 : options.length - 1);
      } else if (event.key === "Enter" && open && active >= 0) {
        event.preventDefault(); // choose, do not send the form
        choose(active);
      } else if (event.key === "Escape" && open) {
        event.preventDefault();
        close();
      }
    });
    input.addEventListener("blur", function () {
      window.setTimeout(close, 100);
    });
  }

  Array.prototype.forEach.call(form.querySelectorAll("input[data-icd10]"), enhance);
})();
