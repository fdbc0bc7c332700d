// Tells the presence check whether this agent is writing a reply, so that
// others who open the ticket see it before they start their own.
(function () {
  var body = document.getElementById("reply_body");
  var flag = document.getElementById("replying");
  if (!body || !flag) return;
  function update() { flag.value = body.value.trim() ? "1" : "0"; }
  body.addEventListener("input", update);
  update();
})();
