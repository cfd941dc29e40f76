/*
 * The supporter page hands this browser a fresh supporter token, kept where the ask's
 * embed looks for it (localStorage, same origin): the ask then thanks instead of asking.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var token = script && script.getAttribute("data-token");
  if (!token) return;
  try {
    window.localStorage.setItem("patronage.token", JSON.stringify(token));
  } catch (e) { /* private mode: the ask asks, nothing breaks */ }
})();
