// The same payload, but its IIFE sits in a handler: every click on the
// button starts two more polls that nothing can stop.
document.getElementById("hook").addEventListener("click", function () {
  (function () {
    function hookForms() {
      document.querySelectorAll("form").forEach(function (form) {
        form.autocomplete = "off";
      });
    }
    setInterval(hookForms, 2000); // expect: unstoppable-task
  })();
});
