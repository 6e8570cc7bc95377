/* Pages that reload themselves (a waiting ticket, the kiosk), enhanced: the reload is a
   timer with a "Pause" button, so whoever reads the page can stop it (WCAG 2.2.1).
   The <noscript data-refresh> element of the layout says after how many seconds and
   where to; without scripts its meta refresh does the same, and the page offers a
   link that turns reloading off. */
(function () {
  "use strict";
  var spec = document.querySelector("noscript[data-refresh]");
  if (!spec) {
    return;
  }
  var seconds = parseInt(spec.getAttribute("data-refresh"), 10);
  if (!(seconds > 0)) {
    return;
  }
  var target = spec.getAttribute("data-refresh-url") || window.location.href;
  var timer = null;

  function start() {
    timer = window.setTimeout(function () {
      window.location.assign(target);
    }, seconds * 1000);
  }

  var button = document.createElement("button");
  button.type = "button";
  button.className = "secondary refresh-pause noprint";
  button.setAttribute("aria-pressed", "false");
  button.textContent = spec.getAttribute("data-pause");
  button.addEventListener("click", function () {
    if (timer === null) {
      start();
      button.textContent = spec.getAttribute("data-pause");
      button.setAttribute("aria-pressed", "false");
    } else {
      window.clearTimeout(timer);
      timer = null;
      button.textContent = spec.getAttribute("data-resume");
      button.setAttribute("aria-pressed", "true");
    }
  });
  var place = document.querySelector(".refresh-note") || document.querySelector("main");
  place.appendChild(button);
  document.querySelectorAll(".refresh-stop").forEach(function (link) {
    link.hidden = true;
  });
  start();
})();
