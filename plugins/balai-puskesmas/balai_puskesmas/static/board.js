/* The display board, enhanced: fetches itself again in place every data-refresh
   seconds (without scripts a <noscript> meta refresh reloads the page), and plays a
   chime when a clinic calls a number, once someone pressed "Turn the sound on"
   (browsers play no sound before a person interacts with the page). */
(function () {
  "use strict";
  var live = document.getElementById("board-live");
  var button = document.getElementById("board-sound");
  if (!live || !window.fetch || !window.DOMParser) {
    return;
  }
  var seconds = parseInt(live.getAttribute("data-refresh"), 10) || 15;
  var audio = null;

  function calls(root) {
    var found = {};
    root.querySelectorAll("[data-called]").forEach(function (card, index) {
      found[index] = card.getAttribute("data-called");
    });
    return found;
  }

  function chime() {
    if (!audio) {
      return;
    }
    var start = audio.currentTime + 0.05;
    [[784, 0], [587, 0.45]].forEach(function (tone) {
      var oscillator = audio.createOscillator();
      var gain = audio.createGain();
      var at = start + tone[1];
      oscillator.type = "sine";
      oscillator.frequency.value = tone[0];
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.5, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 1.2);
      oscillator.connect(gain);
      gain.connect(audio.destination);
      oscillator.start(at);
      oscillator.stop(at + 1.3);
    });
  }

  if (button && (window.AudioContext || window.webkitAudioContext)) {
    button.hidden = false;
    button.addEventListener("click", function () {
      if (!audio) {
        audio = new (window.AudioContext || window.webkitAudioContext)();
      }
      audio.resume();
      button.setAttribute("aria-pressed", "true");
      button.textContent = button.getAttribute("data-on");
      chime();
    });
  }

  function update() {
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.text();
      })
      .then(function (text) {
        var fresh = new DOMParser().parseFromString(text, "text/html").getElementById("board-live");
        if (!fresh) {
          return;
        }
        var before = calls(live);
        var after = calls(fresh);
        live.replaceWith(fresh);
        live = fresh;
        var called = Object.keys(after).some(function (key) {
          return after[key] && after[key] !== before[key];
        });
        if (called) {
          chime();
        }
      })
      .catch(function () { /* offline for a moment: try again at the next turn */ })
      .then(function () {
        window.setTimeout(update, seconds * 1000);
      });
  }

  window.setTimeout(update, seconds * 1000);
})();
