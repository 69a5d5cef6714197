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
  // Module pages: a section counts as read once its end has been on screen; the button (which
  // works without JavaScript, with a reload) is sent in the background instead.
  var forms = document.querySelectorAll("form.mark-read:not([data-read])");
  var markRead = function (form) {
    if (form.hasAttribute("data-read") || form.hasAttribute("data-sending")) { return; }
    form.setAttribute("data-sending", "");
    window.fetch(form.action, {
      method: "POST",
      body: new window.FormData(form),
      headers: { "Accept": "application/json" },
      credentials: "same-origin"
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(function (data) {
      form.setAttribute("data-read", "");
      var done = document.createElement("p");
      done.className = "ok";
      done.setAttribute("role", "status");
      done.textContent = "\u2713 Marked as read.";
      var button = form.querySelector("button");
      if (button) { button.replaceWith(done); }
      var item = document.querySelector('[data-toc="' + data.section + '"]');
      if (item && !item.querySelector(".tick")) {
        var tick = document.createElement("span");
        tick.className = "tick";
        tick.innerHTML = ' <span aria-hidden="true">\u2713</span><span class="sr-only">read</span>';
        item.appendChild(tick);
      }
      var count = document.getElementById("read-count");
      if (count) { count.textContent = String(data.read.length); }
    }).catch(function () {
      form.removeAttribute("data-sending");  // the button still works as a plain form
    });
  };
  Array.prototype.forEach.call(forms, function (form) {
    form.addEventListener("submit", function (event) { event.preventDefault(); markRead(form); });
  });
  if (forms.length && "IntersectionObserver" in window) {
    var seen = new window.IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) { seen.unobserve(entry.target); markRead(entry.target); }
      });
    }, { threshold: 1.0 });
    Array.prototype.forEach.call(forms, function (form) { seen.observe(form); });
  }
  // Select the share link on focus so it is easy to copy with the keyboard.
  var share = document.getElementById("share-url");
  if (share) { share.addEventListener("focus", function () { share.select(); }); }
})();
