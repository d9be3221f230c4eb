// threadsock chat page (/): the Socket.IO namespace "/" is the chat shared with nc users.
// Every piece of text from users or the server goes in with textContent, never innerHTML.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const nickForm = $("nick-form");
  const nickInput = $("nick-input");
  const nickError = $("nick-error");
  const chat = $("chat");
  const statusEl = $("status");
  const roomNameEl = $("room-name");
  const roomsEl = $("rooms");
  const membersEl = $("members");
  const myNickEl = $("my-nick");
  const messagesEl = $("messages");
  const composer = $("composer");
  const input = $("input");

  /** Lines kept in #messages; older ones are removed. */
  const MAX_LINES = 1000;
  /** How often the room list is refreshed while connected. */
  const ROOMS_EVERY_MS = 5000;

  const HELP = [
    "commands:",
    "  /nick NAME      take a nickname (1-32 of A-Z a-z 0-9 _ -)",
    "  /join ROOM      leave this room for ROOM (everyone starts in lobby)",
    "  /rooms          list rooms and how many are in each",
    "  /who            list who is in this room",
    "  /msg NICK TEXT  private message",
    "  /me ACTION      tell the room what you are doing",
    "  /help           this text",
    "  //text          send a line that starts with /",
    "click a room in the list to join it",
  ];

  /** Notices that are the server refusing something (shown as errors). */
  const REFUSAL = /^(nickname \S+ is (taken|reserved)|you are already |no such nickname|that is you|invalid name|unknown command|usage: |line too long)/;

  // ---- state ----
  let wantedNick = ""; // what the user asked for (auth on every connect); "" = guest
  let myNick = ""; // the nick the server gave us
  let room = ""; // the room we are in
  let wantedRoom = ""; // the room to be back in after a reconnection
  let roomsTimer = null;

  const io = new SioClient("/", {
    // The nick the user chose (not a guestN name the server gave, which is reserved).
    auth: () => (wantedNick ? { nick: wantedNick } : {}),
  });
  bindStatus(io, statusEl);

  // ---- output ----

  /** True when #messages is scrolled to (near) its end. */
  function atBottom() {
    return messagesEl.scrollHeight - messagesEl.scrollTop - messagesEl.clientHeight < 40;
  }

  function span(cls, text) {
    const s = document.createElement("span");
    s.className = cls;
    s.textContent = text;
    return s;
  }

  /**
   * Adds one line to #messages. kind: message, action, private, notice or error; from: the
   * sender (messages, actions, private ones) or null; label: what span.from shows.
   */
  function addLine(kind, text, from = null, label = from) {
    const stick = atBottom();
    const li = document.createElement("li");
    li.className = kind;
    const now = new Date();
    const time = span("time", hhmm(now));
    time.title = now.toLocaleString();
    li.append(time);
    if (from !== null) {
      li.dataset.from = from;
      li.append(span("from", label));
    }
    li.append(span("text", text));
    messagesEl.append(li);
    while (messagesEl.childElementCount > MAX_LINES) messagesEl.firstElementChild.remove();
    if (stick) messagesEl.scrollTop = messagesEl.scrollHeight;
  }

  const notice = (text) => addLine("notice", text);
  const error = (text) => addLine("error", text);

  function setMyNick(nick) {
    myNick = nick;
    myNickEl.textContent = nick;
  }

  function setRoom(name) {
    room = name;
    wantedRoom = name;
    roomNameEl.textContent = name;
    document.title = name + " - threadsock chat";
    markCurrentRoom();
  }

  function markCurrentRoom() {
    for (const li of roomsEl.children) {
      const current = li.dataset.room.toLowerCase() === room.toLowerCase();
      li.classList.toggle("current", current);
      if (current) li.setAttribute("aria-current", "true");
      else li.removeAttribute("aria-current");
    }
  }

  /** Fills ul#members with nicks (sorted as the server sends them). */
  function showMembers(nicks) {
    const items = nicks.map((nick) => {
      const li = document.createElement("li");
      li.textContent = nick;
      if (nick === myNick) li.classList.add("self");
      return li;
    });
    membersEl.replaceChildren(...items);
  }

  /** Fills ul#rooms with [{name, members}]: one li per room, "name (N)", click to join. */
  function showRooms(list) {
    const items = list.map(({ name, members }) => {
      const li = document.createElement("li");
      li.dataset.room = name;
      li.textContent = name + " (" + members + ")";
      li.tabIndex = 0;
      li.setAttribute("role", "button");
      li.title = "join " + name;
      return li;
    });
    roomsEl.replaceChildren(...items);
    markCurrentRoom();
  }

  // ---- asking the server ----

  function refreshMembers() {
    io.emitWithAck("who").then(
      (nicks) => Array.isArray(nicks) && showMembers(nicks),
      () => {} // disconnected or slow: the next refresh will do
    );
  }

  function refreshRooms() {
    io.emitWithAck("rooms").then(
      (list) => Array.isArray(list) && showRooms(list),
      () => {}
    );
  }

  /** Asks to move to `name`; updates the room, members and room list on success. */
  function join(name, quiet = false) {
    return io.emitWithAck("join", name).then(
      (ack) => {
        if (ack && ack.error) {
          if (!quiet) error(ack.error);
          return;
        }
        setRoom(ack.room);
        showMembers(ack.members || []);
        notice("you joined " + ack.room + " (" + (ack.members || []).length + " here)");
        refreshRooms();
      },
      (e) => error("join " + name + ": " + e.message)
    );
  }

  /** Emits and shows an error if the server acknowledges with {"error":..} (no ack: fine). */
  function emitChecked(event, ...args) {
    io.emitWithAck(event, ...args).then(
      (ack) => ack && ack.error && error(ack.error),
      () => {} // no acknowledgement means it was accepted
    );
  }

  /**
   * After a reconnection the old session may still hold our nick for a moment (the server
   * has not noticed it is gone yet): ask for it again a few times.
   */
  function reclaimNick(tries) {
    setTimeout(() => {
      if (!wantedNick || !io.connected || tries <= 0) return;
      if (myNick.toLowerCase() === wantedNick.toLowerCase()) return;
      io.emitWithAck("nick", wantedNick).then(
        (ack) => {
          if (ack && ack.ok) {
            setMyNick(wantedNick);
            notice("you are " + wantedNick + " again");
            refreshMembers();
          } else {
            reclaimNick(tries - 1);
          }
        },
        () => reclaimNick(tries - 1)
      );
    }, 2000);
  }

  // ---- the composer ----

  /** Runs one line typed by the user; returns false when it could not be sent. */
  function run(line) {
    if (line.startsWith("//")) return say(line.slice(1));
    if (!line.startsWith("/")) return say(line);
    const m = /^\/(\S+)\s*(.*)$/.exec(line);
    const verb = m ? m[1].toLowerCase() : "";
    const rest = m ? m[2].trim() : "";
    if (verb === "help") {
      HELP.forEach(notice);
      return true;
    }
    if (!io.connected) return notConnected();
    switch (verb) {
      case "nick":
        if (!rest) return usage("/nick NAME");
        io.emitWithAck("nick", rest).then(
          (ack) => {
            if (ack && ack.error) return error(ack.error);
            wantedNick = rest;
            setMyNick(rest);
            notice("you are now " + rest);
            refreshMembers();
          },
          (e) => error("nick: " + e.message)
        );
        return true;
      case "join":
        if (!rest) return usage("/join ROOM");
        join(rest);
        return true;
      case "msg": {
        const mm = /^(\S+)\s+(.+)$/.exec(rest);
        if (!mm) return usage("/msg NICK TEXT");
        emitChecked("msg", mm[1], mm[2]);
        addLine("private", mm[2], myNick, "→ " + mm[1]);
        return true;
      }
      case "me":
        if (!rest) return usage("/me ACTION");
        emitChecked("act", rest);
        addLine("action", rest, myNick);
        return true;
      case "who":
        io.emitWithAck("who").then(
          (nicks) => {
            if (!Array.isArray(nicks)) return error((nicks && nicks.error) || "who failed");
            showMembers(nicks);
            notice("in " + room + ": " + nicks.join(", "));
          },
          (e) => error("who: " + e.message)
        );
        return true;
      case "rooms":
        io.emitWithAck("rooms").then(
          (list) => {
            if (!Array.isArray(list)) return error((list && list.error) || "rooms failed");
            showRooms(list);
            notice("rooms: " + list.map((r) => r.name + " (" + r.members + ")").join(", "));
          },
          (e) => error("rooms: " + e.message)
        );
        return true;
      default:
        error("unknown command /" + verb + " (/help lists them; //text sends a line starting with /)");
        return true;
    }
  }

  function say(text) {
    if (!io.connected) return notConnected();
    emitChecked("message", text);
    addLine("message", text, myNick);
    return true;
  }

  function usage(text) {
    error("usage: " + text);
    return true;
  }

  function notConnected() {
    error("not connected (" + io.state + "): not sent, your text is kept");
    return false;
  }

  composer.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const line = input.value;
    if (line.trim() === "") return;
    if (run(line)) input.value = "";
    input.focus();
  });

  // Clicking (or Enter/Space on) a room joins it; the focus goes back to the input.
  function roomActivated(ev) {
    const li = ev.target.closest("li[data-room]");
    if (!li) return;
    ev.preventDefault();
    if (li.dataset.room.toLowerCase() !== room.toLowerCase()) {
      if (io.connected) join(li.dataset.room);
      else notConnected();
    }
    input.focus();
  }
  roomsEl.addEventListener("click", roomActivated);
  roomsEl.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" || ev.key === " ") roomActivated(ev);
  });

  // ---- the nickname form ----

  nickForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    wantedNick = nickInput.value.trim();
    nickError.textContent = "";
    io.connect(); // no-op when already trying: the new nick is used on the next attempt
  });

  // ---- server events ----

  io.onConnect((sid, first) => {
    if (first) {
      nickForm.hidden = true;
      chat.hidden = false;
      input.focus();
    } else {
      notice("reconnected");
      reclaimNick(3);
    }
    // A new session starts in lobby: go back to the room we were in.
    if (wantedRoom && wantedRoom.toLowerCase() !== "lobby") {
      join(wantedRoom, true);
    } else if (!room) {
      setRoom("lobby");
    }
    refreshMembers();
    refreshRooms();
    clearInterval(roomsTimer);
    roomsTimer = setInterval(() => io.connected && refreshRooms(), ROOMS_EVERY_MS);
  });

  io.onState((state) => {
    if (state !== "connected") clearInterval(roomsTimer);
    if (state === "reconnecting" && !chat.hidden) error("connection lost; reconnecting…");
  });

  io.onError((text) => {
    if (chat.hidden) nickError.textContent = text;
    else error(text);
  });

  io.on("message", (m) => {
    if (!m || typeof m.text !== "string") return;
    addLine(m.action ? "action" : "message", m.text, String(m.from));
  });

  io.on("private", (m) => {
    if (!m || typeof m.text !== "string") return;
    addLine("private", m.text, String(m.from)); // chat.css marks it "[private]"
  });

  io.on("joined", (e) => {
    notice(e.nick + " joined " + e.room);
    refreshMembers();
    refreshRooms();
  });

  io.on("left", (e) => {
    notice(e.nick + " left " + e.room + (e.reason ? " (" + e.reason + ")" : ""));
    refreshMembers();
    refreshRooms();
  });

  io.on("renamed", (e) => {
    notice(e.from + " is now " + e.to);
    if (e.from === myNick) setMyNick(e.to);
    refreshMembers();
  });

  io.on("notice", (e) => {
    const text = String((e && e.text) || "");
    // What the server says about us: "welcome, you are guest3 in lobby (2 here); ..." and
    // "you are now alice" (a nick from the auth payload).
    const welcome = /^welcome, you are (\S+) in (\S+) /.exec(text);
    if (welcome) {
      setMyNick(welcome[1]);
      room = welcome[2];
      roomNameEl.textContent = welcome[2];
      markCurrentRoom();
    }
    const named = /^you are now (\S+)$/.exec(text);
    if (named) {
      setMyNick(named[1]);
      refreshMembers();
    }
    if (REFUSAL.test(text)) error(text);
    else notice(text);
  });

  nickInput.focus();
})();
