// Keyboard shortcut: "/" focuses the global search unless the user is typing.
document.addEventListener("keydown", function (event) {
  var target = event.target;
  var typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
    var box = document.getElementById("global-search");
    if (box) { event.preventDefault(); box.focus(); box.select(); }
  }
  if (event.key === "Escape" && target && target.id === "global-search") {
    var results = document.getElementById("global-search-results");
    if (results) { results.innerHTML = ""; }
  }
});
// "Select all" checkboxes for bulk actions: <input type="checkbox" data-select-all="name">.
document.addEventListener("change", function (event) {
  var name = event.target.getAttribute && event.target.getAttribute("data-select-all");
  if (!name) { return; }
  document.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (box) {
    box.checked = event.target.checked;
  });
});
