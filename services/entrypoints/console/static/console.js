// touchline console: the SLA board's live updates (server-sent events), without a framework.
(function () {
  "use strict";
  function connect(live) {
    var target = document.getElementById("alert-tables");
    var source = new EventSource(live.dataset.stream);
    source.addEventListener("alerts", function (event) {
      var focused = document.activeElement && document.activeElement.id;
      var typed = {};  // what someone is typing in an acknowledgement form survives the redraw
      target.querySelectorAll("input[id]").forEach(function (input) { typed[input.id] = input.value; });
      target.innerHTML = event.data;
      target.querySelectorAll("input[id]").forEach(function (input) {
        if (typed[input.id] && input.type !== "hidden") { input.value = typed[input.id]; }
      });
      if (window.htmx) { window.htmx.process(target); }
      if (focused && document.getElementById(focused)) { document.getElementById(focused).focus(); }
      live.dataset.updated = String(Date.now());
    });
    source.addEventListener("open", function () { live.dataset.connected = "true"; });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var live = document.getElementById("live");
    if (live && window.EventSource) { connect(live); }
  });
})();
