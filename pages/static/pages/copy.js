/* Copy buttons: <button type="button" data-copy="ID"> copies the text of the element #ID and says
   so in the status element #ID-status (a live region). The text stays selectable for browsers
   without the clipboard API (or a page served over plain http on another host). No inline script:
   loaded as a file from the platform. */
(function () {
  "use strict";

  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function say(id, text) {
    var status = document.getElementById(id + "-status");
    if (status) { status.textContent = text; }
  }

  function copy(button) {
    var id = button.getAttribute("data-copy");
    var source = document.getElementById(id);
    if (!source) { return; }
    var text = source.textContent.trim();
    selectText(source);
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { say(id, "Copied."); },
        function () { say(id, "Selected: press Ctrl+C (or ⌘+C) to copy."); }
      );
      return;
    }
    var done = false;
    try { done = document.execCommand("copy"); } catch (error) { done = false; }
    say(id, done ? "Copied." : "Selected: press Ctrl+C (or ⌘+C) to copy.");
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (button) { copy(button); }
  });
})();
