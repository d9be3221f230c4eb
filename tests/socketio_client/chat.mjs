// One side of tests/socketio_chat.rs: the official socket.io-client as a chat user, in a room
// with an `nc` user driven by the Rust test.
//
//   node chat.mjs URL MODE
//
// Joins room `games` as `webuser` and prints `ready`; when `ncuser` joins, says hello; waits
// for ncuser's answer; prints `done` and leaves. Exits 1 on any surprise or after 20 s.
import { io } from "socket.io-client";

const [url, mode] = process.argv.slice(2);
const transports = { polling: ["polling"], websocket: ["websocket"], upgrade: ["polling", "websocket"] }[mode];
const fail = (why) => {
  console.log(`FAILED ${why}`);
  process.exit(1);
};
setTimeout(() => fail("timed out"), 20000);

const s = io(url, { transports, reconnection: false, auth: { nick: "webuser" } });
s.on("connect_error", (e) => fail(`connect_error ${e.message}`));
s.on("joined", ({ room, nick }) => {
  if (room === "games" && nick === "ncuser") s.emit("message", "hello from the browser ☃");
});
s.on("message", ({ room, from, text }) => {
  if (room !== "games" || from !== "ncuser") fail(`unexpected message ${JSON.stringify({ room, from, text })}`);
  if (text !== "hello from nc") fail(`unexpected text ${text}`);
  console.log("done");
  s.close();
  setTimeout(() => process.exit(0), 100);
});
s.on("connect", async () => {
  const joined = await s.emitWithAck("join", "games");
  if (joined.room !== "games" || !joined.members.includes("webuser")) fail(`join ack ${JSON.stringify(joined)}`);
  const who = await s.emitWithAck("who");
  if (JSON.stringify(who) !== JSON.stringify(["webuser"])) fail(`who ack ${JSON.stringify(who)}`);
  const taken = await s.emitWithAck("nick", "ncuser");
  if (taken.error !== "nickname ncuser is taken") fail(`nick ack ${JSON.stringify(taken)}`);
  console.log("ready");
});
