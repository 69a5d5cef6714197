// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // Exam countdown. The server decides what counts; this only shows the time left.
  var clock = document.getElementById("time-left");
  if (clock) {
    var end = Date.now() + Number(clock.getAttribute("data-seconds")) * 1000;
    var tick = function () {
      var left = Math.max(0, Math.round((end - Date.now()) / 1000));
      var m = Math.floor(left / 60), s = left % 60;
      clock.textContent = m + ":" + (s < 10 ? "0" : "") + s;
      if (left > 0) { window.setTimeout(tick, 1000); }
    };
    tick();
  }
  // Select the share link on focus so it is easy to copy with the keyboard.
  var share = document.getElementById("share-url");
  if (share) { share.addEventListener("focus", function () { share.select(); }); }
})();
