// Drag and drop on the deals board. Each card carries the URL that moves it
// and the version the board showed; the "Move to" form on the card does the
// same without a mouse or without this script.
(function () {
  "use strict";

  function csrfToken() {
    var input = document.querySelector('input[name="csrfmiddlewaretoken"]');
    return input ? input.value : "";
  }

  function say(text, kind) {
    var status = document.getElementById("board-status");
    if (!status) { return; }
    status.innerHTML = "";
    var line = document.createElement("p");
    line.className = "message message-" + kind;
    line.textContent = text;
    status.appendChild(line);
  }

  function reloadColumn(column) {
    if (!column) { return Promise.resolve(); }
    return fetch(column.getAttribute("data-column-url"), {
      headers: {"HX-Request": "true"}, credentials: "same-origin"
    }).then(function (response) {
      return response.text();
    }).then(function (html) {
      var holder = document.createElement("div");
      holder.innerHTML = html.trim();
      var fresh = holder.querySelector(".board-column");
      if (fresh) {
        column.replaceWith(fresh);
        if (window.htmx) { window.htmx.process(fresh); }
      }
    });
  }

  function move(card, target) {
    var source = card.closest(".board-column");
    var data = new FormData();
    data.append("stage", target.getAttribute("data-stage"));
    data.append("version", card.getAttribute("data-version"));
    data.append("next", window.location.pathname + window.location.search);
    fetch(card.getAttribute("data-move-url"), {
      method: "POST", body: data, credentials: "same-origin",
      headers: {"X-CSRFToken": csrfToken(), "HX-Request": "true"}
    }).then(function (response) {
      if (response.status === 204) {
        return Promise.all([reloadColumn(source), reloadColumn(target)]);
      }
      if (response.status === 409) {
        return response.text().then(function (text) {
          say(text, "error");
          return Promise.all([reloadColumn(source), reloadColumn(target)]);
        });
      }
      if (response.status === 422) {
        // The move needs a reason or missing fields: the form asks for them.
        var query = new URLSearchParams({
          stage: target.getAttribute("data-stage"),
          next: window.location.pathname + window.location.search
        });
        window.location.assign(card.getAttribute("data-move-url") + "?" + query.toString());
        return null;
      }
      var board = card.closest(".board");
      say(board ? board.getAttribute("data-move-failed") : "", "error");
      return null;
    });
  }

  var dragged = null;

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".card[draggable]");
    if (!card) { return; }
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-deal"));
  });

  document.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("dragging"); }
    document.querySelectorAll(".board-column.drop-target").forEach(function (column) {
      column.classList.remove("drop-target");
    });
  });

  document.addEventListener("dragover", function (event) {
    var column = dragged && event.target.closest && event.target.closest(".board-column");
    if (!column) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    column.classList.add("drop-target");
  });

  document.addEventListener("dragleave", function (event) {
    var column = event.target.closest && event.target.closest(".board-column");
    if (column && !column.contains(event.relatedTarget)) {
      column.classList.remove("drop-target");
    }
  });

  document.addEventListener("drop", function (event) {
    var column = dragged && event.target.closest && event.target.closest(".board-column");
    if (!column) { return; }
    event.preventDefault();
    column.classList.remove("drop-target");
    var card = dragged;
    dragged = null;
    if (card.closest(".board-column") === column) { return; }
    move(card, column);
  });
}());
