// Subscribes to one room of the push table 'leaderboard' over Server-Sent
// Events and keeps a copy of the room's board: every message upserts (+I,
// +U) or removes (-U, -D) the row of one place (rn). Query parameters:
// room (default 42), table (default leaderboard), access_token (the job
// manager's bearer token, when it has one).
(function () {
  "use strict";
  var params = new URLSearchParams(location.search);
  var room = params.get("room") || "42";
  var table = params.get("table") || "leaderboard";
  var token = params.get("access_token");
  var board = {}; // rn -> row
  var messages = 0;
  document.getElementById("room").textContent = room;
  var status = document.getElementById("status");

  function render(changed) {
    var body = document.getElementById("board");
    var places = Object.keys(board).map(Number).sort(function (a, b) { return a - b; });
    body.textContent = "";
    places.forEach(function (rn) {
      var r = board[rn];
      var tr = document.createElement("tr");
      tr.dataset.rn = rn;
      if (changed[rn]) tr.className = "changed";
      [rn, r.user_id, r.total, r.gifts].forEach(function (v) {
        var td = document.createElement("td");
        td.textContent = v;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    document.body.dataset.messages = String(messages);
  }

  var url = "/v1/streams/" + encodeURIComponent(table) + "?key=" + encodeURIComponent(room);
  if (token) url += "&access_token=" + encodeURIComponent(token);
  var es = new EventSource(url);
  var pending = {};
  var scheduled = false;
  es.onopen = function () {
    status.className = "";
    status.textContent = "live";
  };
  es.onmessage = function (ev) {
    var m = JSON.parse(ev.data);
    if (m.kind === "error") {
      // The stream cannot resume (the buffer moved on, or the job manager
      // restarted): start over from the current board.
      es.close();
      status.className = "error";
      status.textContent = m.error + " (reloading)";
      setTimeout(function () { location.reload(); }, 2000);
      return;
    }
    messages++;
    var rn = m.row.rn;
    if (m.kind === "+I" || m.kind === "+U") {
      board[rn] = m.row;
    } else {
      delete board[rn]; // the table's key is (room_id, rn): -U and -D free the place
    }
    pending[rn] = true;
    if (!scheduled) {
      // Render once per animation frame, not per message.
      scheduled = true;
      requestAnimationFrame(function () {
        scheduled = false;
        var changed = pending;
        pending = {};
        render(changed);
      });
    }
  };
  es.onerror = function () {
    if (es.readyState === EventSource.CLOSED) {
      status.className = "error";
      status.textContent = "disconnected";
    } else {
      status.textContent = "reconnecting…";
    }
  };
})();
