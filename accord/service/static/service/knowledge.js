// "Insert link" beside a suggested article appends the article's public
// address to the reply being written (#reply_body), on a line of its own.
(function () {
  // The suggestions fragment may be on a page more than once; one listener serves all.
  if (window.accordKnowledgeLinks) return;
  window.accordKnowledgeLinks = true;
  document.addEventListener("click", function (event) {
    var button = event.target.closest(".kb-insert-link");
    if (!button) return;
    var reply = document.getElementById("reply_body");
    if (!reply) return;
    var text = reply.value;
    if (text && !/\n$/.test(text)) text += "\n";
    reply.value = text + button.dataset.url + "\n";
    reply.dispatchEvent(new Event("input", { bubbles: true }));
    reply.focus();
  });
})();
