// kHubPage: the browser page the hub serves at GET /. Self-contained (no
// external scripts or styles): pick a name and a room, join, see the
// members and the messages live, send messages. It speaks the JSON form
// of proto/hub.proto over ws(s)://<same host>/ws, passing on a ?token=
// given in the page's own URL.
//
// Element ids the browser test drives: name, room, join, leave, status,
// members, messages, text, send.
#ifndef TROUPE_EXAMPLES_WEBSOCKET_HUB_PAGE_H_
#define TROUPE_EXAMPLES_WEBSOCKET_HUB_PAGE_H_

#include <string_view>

namespace troupe::hub {

inline constexpr std::string_view kHubPage = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>troupe hub</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 0; display: flex;
         flex-direction: column; height: 100vh; }
  header { padding: 8px 12px; background: #234; color: #fff; display: flex;
           gap: 8px; align-items: center; flex-wrap: wrap; }
  header input { width: 9em; }
  #status { margin-left: auto; font-size: 13px; opacity: .85; }
  main { flex: 1; display: flex; min-height: 0; }
  #members { width: 12em; border-right: 1px solid #ccc; margin: 0;
             padding: 8px 8px 8px 28px; overflow: auto; }
  #messages { flex: 1; margin: 0; padding: 8px 12px; overflow: auto;
              list-style: none; }
  #messages .presence, #messages .error { color: #777; font-style: italic; }
  #messages .error { color: #a00; }
  footer { display: flex; gap: 8px; padding: 8px 12px;
           border-top: 1px solid #ccc; }
  #text { flex: 1; }
</style>
</head>
<body>
<header>
  <label>name <input id="name" autocomplete="off"></label>
  <label>room <input id="room" value="lobby" autocomplete="off"></label>
  <button id="join">join</button>
  <button id="leave" disabled>leave</button>
  <span id="status">connecting</span>
</header>
<main>
  <ul id="members"></ul>
  <ul id="messages"></ul>
</main>
<footer>
  <input id="text" placeholder="message" autocomplete="off" disabled>
  <button id="send" disabled>send</button>
</footer>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.search).get("token");
const url = (location.protocol === "https:" ? "wss://" : "ws://") +
    location.host + "/ws" + (token ? "?token=" + encodeURIComponent(token) : "");
let ws = null, room = null, nextId = 1, members = [];

function line(text, kind) {
  const li = document.createElement("li");
  if (kind) li.className = kind;
  li.textContent = text;
  $("messages").appendChild(li);
  li.scrollIntoView({block: "end"});
}
function showMembers() {
  $("members").replaceChildren(...members.map((m) => {
    const li = document.createElement("li");
    li.textContent = m;
    return li;
  }));
}
function setJoined(name) {
  room = name;
  $("leave").disabled = $("text").disabled = $("send").disabled = !name;
  $("status").textContent = name ? "in " + name : "connected";
}
function send(frame) {
  frame.id = String(nextId++);
  ws.send(JSON.stringify(frame));
}
function showMessage(m) {
  line("#" + m.seq + " " + m.from + ": " + m.text, "message");
}
function connect() {
  ws = new WebSocket(url);
  ws.onopen = () => { $("status").textContent = "connected"; };
  ws.onclose = (e) => {
    setJoined(null);
    $("status").textContent = "disconnected (" + e.code + " " + e.reason + ")";
  };
  ws.onmessage = (e) => {
    const f = JSON.parse(e.data);
    if (f.joined) {
      $("messages").replaceChildren();
      members = (f.joined.members || []).concat([$("name").value]);
      showMembers();
      (f.joined.history || []).forEach(showMessage);
      setJoined(f.joined.room);
    } else if (f.message) {
      showMessage(f.message);
    } else if (f.presence) {
      const p = f.presence;
      if (p.event === "JOINED") members.push(p.name);
      else members = members.filter((m) => m !== p.name);
      showMembers();
      line(p.name + (p.event === "JOINED" ? " joined" : " left"), "presence");
    } else if (f.left) {
      members = [];
      showMembers();
      setJoined(null);
    } else if (f.error) {
      line(f.error.code + ": " + f.error.detail, "error");
    }
  };
}
$("join").onclick = () => {
  const name = $("name").value.trim(), target = $("room").value.trim();
  if (!name || !target) return;
  if (room) send({leave: {room}});
  send({join: {room: target, name}});
};
$("leave").onclick = () => { if (room) send({leave: {room}}); };
function sendText() {
  const text = $("text").value;
  if (!room || !text) return;
  send({publish: {room, text}});
  $("text").value = "";
}
$("send").onclick = sendText;
$("text").onkeydown = (e) => { if (e.key === "Enter") sendText(); };
connect();
</script>
</body>
</html>
)html";

}  // namespace troupe::hub

#endif  // TROUPE_EXAMPLES_WEBSOCKET_HUB_PAGE_H_
