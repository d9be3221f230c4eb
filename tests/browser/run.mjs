// Real-browser tests of threadsock's pages and Socket.IO server (run by tests/browser.rs):
//
//   node tests/browser/run.mjs BIN
//
// Each scenario starts its own `BIN serve --only chat,socketio` on free 127.0.0.1 ports and
// uses a fresh browser context of one headless chromium; `nc` users are TCP connections.
// Prints `ok <name>` or `FAILED <name>: <why>` per scenario; exits 0 only if all pass, 1 on
// a failure or after the global timeout. SCENARIOS=a,b runs only those (for debugging).
import http from "node:http";
import {
  Nc,
  lastLines,
  launchBrowser,
  ncCrowd,
  openChat,
  say,
  startServer,
  waitFor,
  waitLi,
  waitMyNick,
  waitStatus,
} from "./harness.mjs";

const bin = process.argv[2];
if (!bin) {
  console.error("usage: node run.mjs BIN");
  process.exit(2);
}
const GLOBAL_TIMEOUT_MS = 150000;
setTimeout(() => {
  console.log(`FAILED global: not done within ${GLOBAL_TIMEOUT_MS / 1000} s`);
  process.exit(1);
}, GLOBAL_TIMEOUT_MS).unref();

/** Waits for `#room-name` to read `room`. */
const waitRoom = (page, room) =>
  page.waitForFunction((r) => document.querySelector("#room-name")?.textContent === r, { timeout: 10000, polling: 50 }, room);

/** A notice line on `page` containing `text`. */
const waitNotice = (page, text) => waitLi(page, { cls: "notice", contains: text });

/** Fails if a page opened a dialog or threw an uncaught error. */
function clean(...pages) {
  for (const p of pages) {
    if (p.dialogs.length) throw new Error(`a dialog opened: ${JSON.stringify(p.dialogs)}`);
    if (p.problems.length) throw new Error(`page errors: ${JSON.stringify(p.problems)}`);
  }
}

/** An nc user with nick `nick` (waits for the server's confirmation). */
async function ncAs(port, nick) {
  const nc = await Nc.connect(port);
  await nc.welcomeNick();
  nc.send(`/nick ${nick}`);
  await nc.waitLine(`* you are now ${nick}`);
  return nc;
}

const scenarios = {
  /** Two chat pages and an nc user in one room: messages, nick changes, joins and leaves. */
  async "room: two pages and nc see each other"({ context, server }) {
    const nc = await ncAs(server.chatPort, "carol");
    nc.send("/join den");
    await nc.waitLine(/^\* you joined den /);
    const alice = await openChat(context, server.base, "alice");
    await say(alice, "/join den");
    await waitRoom(alice, "den");
    await nc.waitLine("* alice joined den");
    const bob = await openChat(context, server.base, "bob");
    await say(bob, "/join den");
    await waitRoom(bob, "den");
    await nc.waitLine("* bob joined den");
    await waitNotice(alice, "bob joined den");

    // Messages, each seen by the two others.
    await say(alice, "hi from alice");
    await waitLi(bob, { cls: "message", from: "alice", text: "hi from alice" });
    await nc.waitLine("-> alice: hi from alice");
    await say(bob, "hi from bob ☃");
    await waitLi(alice, { cls: "message", from: "bob", text: "hi from bob ☃" });
    await nc.waitLine("-> bob: hi from bob ☃");
    nc.send("hi from nc");
    await waitLi(alice, { cls: "message", from: "carol", text: "hi from nc" });
    await waitLi(bob, { cls: "message", from: "carol", text: "hi from nc" });

    // Nick changes, by nc and by a page.
    nc.send("/nick carl");
    await waitNotice(alice, "carol is now carl");
    await waitNotice(bob, "carol is now carl");
    await say(alice, "/nick alicia");
    await waitMyNick(alice, "alicia");
    await waitNotice(bob, "alice is now alicia");
    await nc.waitLine("* alice is now alicia");
    await say(alice, "renamed");
    await nc.waitLine("-> alicia: renamed");
    await waitLi(bob, { cls: "message", from: "alicia", text: "renamed" });

    // nc leaves and comes back; a page leaves; a page closes.
    nc.send("/join lobby");
    await waitNotice(alice, "carl left den");
    await waitNotice(bob, "carl left den");
    nc.send("/join den");
    await waitNotice(alice, "carl joined den");
    await waitNotice(bob, "carl joined den");
    await say(bob, "/join lobby");
    await waitRoom(bob, "lobby");
    await waitNotice(alice, "bob left den");
    await nc.waitLine("* bob left den");
    clean(alice, bob);
    await alice.close();
    await nc.waitLine("* alicia left den");
    nc.close();
    clean(bob);
  },

  /** /join from a page, /msg both ways, and reconnection after a restart on the same port. */
  async "room switch, /msg and reconnect after restart"({ context, server, restart }) {
    const nc = await ncAs(server.chatPort, "dave");
    const page = await openChat(context, server.base, "alice");
    await say(page, "/join games");
    await waitRoom(page, "games");
    await page.waitForSelector('ul#rooms > li[data-room="games"]', { timeout: 10000 });
    await say(page, "/msg dave psst");
    await nc.waitLine("-> [private] alice: psst");
    nc.send("/msg alice hush");
    await waitLi(page, { cls: "private", from: "dave", text: "hush" });
    nc.close();

    const again = await restart(); // SIGTERM, then the same ports
    await waitStatus(page, "reconnecting");
    await waitStatus(page, "connected", 30000);
    await waitMyNick(page, "alice");
    await waitRoom(page, "games");
    const erin = await ncAs(again.chatPort, "erin");
    erin.send("/join games");
    await erin.waitLine(/^\* you joined games /);
    // The page rejoins games on its own after the reconnection: ask until alice is there.
    await waitFor(
      async () => {
        const from = erin.lines.length;
        erin.send("/who");
        const line = await erin.waitLine(/^\* in games: /, 5000, from);
        return line.split(": ")[1].split(", ").includes("alice");
      },
      15000,
      "alice back in games"
    );
    erin.send("back again");
    await waitLi(page, { cls: "message", from: "erin", text: "back again" });
    await say(page, "welcome back");
    await erin.waitLine("-> alice: welcome back");
    erin.close();
    clean(page);
  },

  /** Markup from nc is shown as text: no element, no script, no dialog. */
  async "xss from nc shows as text"({ context, server }) {
    const page = await openChat(context, server.base, "viewer");
    const nc = await ncAs(server.chatPort, "mallory");
    const evil = "<img src=x onerror=alert(1)>";
    nc.send(evil);
    nc.send('<script>alert("s")</script>');
    nc.send("after");
    await waitLi(page, { cls: "message", from: "mallory", text: evil });
    await waitLi(page, { cls: "message", from: "mallory", text: "after" });
    const found = await page.evaluate(() => ({
      images: document.querySelectorAll("#messages img, #messages script").length,
      html: document.querySelector("#messages").innerHTML.includes("&lt;img src=x"),
    }));
    if (found.images !== 0) throw new Error("an img or script element was created");
    if (!found.html) throw new Error("the text is not escaped in #messages");
    nc.close();
    clean(page);
  },

  /** The official socket.io-client bundle, served at /socket.io/socket.io.js, in a page. */
  async "official socket.io-client bundle in a page"({ context, server }) {
    const nc = await ncAs(server.chatPort, "listener");
    const page = await context.newPage();
    page.dialogs = [];
    page.problems = [];
    page.on("dialog", (d) => page.dialogs.push(d.message()));
    page.on("pageerror", (e) => page.problems.push(String(e)));
    await page.goto(server.base + "/", { waitUntil: "load", timeout: 15000 });
    await page.addScriptTag({ url: "/socket.io/socket.io.js" });
    const modes = {
      upgrade: ["polling", "websocket"],
      polling: ["polling"],
      websocket: ["websocket"],
    };
    for (const [mode, transports] of Object.entries(modes)) {
      const nick = `bundle_${mode}`;
      const text = `hello over ${mode}`;
      const got = await page.evaluate(
        async (transports, nick, text, mode) => {
          const s = io({ transports, forceNew: true, reconnection: false, auth: { nick } });
          const within = (p, ms, what) =>
            Promise.race([p, new Promise((_, no) => setTimeout(() => no(new Error(`${what} timed out`)), ms))]);
          try {
            await within(
              new Promise((ok, no) => {
                s.on("connect", ok);
                s.on("connect_error", (e) => no(new Error(`connect_error ${e.message}`)));
              }),
              10000,
              "connect"
            );
            if (mode === "upgrade" && s.io.engine.transport.name !== "websocket") {
              await within(new Promise((ok) => s.io.engine.on("upgrade", ok)), 10000, "upgrade");
            }
            // The nick from auth is taken once the member has joined: ask who until it shows.
            let who = [];
            for (let i = 0; i < 50 && !who.includes(nick); i++) {
              who = await within(s.emitWithAck("who"), 5000, "who ack");
              if (!who.includes(nick)) await new Promise((r) => setTimeout(r, 100));
            }
            s.emit("message", text);
            return { who, transport: s.io.engine.transport.name };
          } finally {
            setTimeout(() => s.close(), 500);
          }
        },
        transports,
        nick,
        text,
        mode
      );
      if (!Array.isArray(got.who) || !got.who.includes(nick) || !got.who.includes("listener")) {
        throw new Error(`${mode}: who ack ${JSON.stringify(got.who)}`);
      }
      const wantTransport = mode === "polling" ? "polling" : "websocket";
      if (got.transport !== wantTransport) throw new Error(`${mode}: transport ${got.transport}`);
      await nc.waitLine(`-> ${nick}: ${text}`);
    }
    nc.close();
    clean(page);
  },

  /** A page of another origin cannot open a WebSocket to the server (403); its own can. */
  async "foreign origin cannot open a WebSocket"({ context, server }) {
    const target = `ws://127.0.0.1:${server.sioPort}/socket.io/?EIO=4&transport=websocket`;
    const html = `<!DOCTYPE html><title>probe</title><p id="r"></p><script>
      const ws = new WebSocket(${JSON.stringify(target)});
      const done = (w) => { if (!document.getElementById("r").textContent) document.getElementById("r").textContent = w; };
      ws.onopen = () => done("open");
      ws.onerror = () => done("error");
      ws.onclose = (e) => done("close " + e.code);
    </script>`;
    const foreign = http.createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(html);
    });
    await new Promise((r) => foreign.listen(0, "127.0.0.1", r));
    try {
      const page = await context.newPage();
      await page.goto(`http://127.0.0.1:${foreign.address().port}/`, { timeout: 15000 });
      await page.waitForFunction(() => document.getElementById("r").textContent !== "", { timeout: 10000 });
      const result = await page.$eval("#r", (el) => el.textContent);
      if (result === "open") throw new Error("the foreign page's WebSocket opened");
      // The control: the server's own page may open the same WebSocket.
      const own = await context.newPage();
      await own.goto(server.base + "/", { timeout: 15000 });
      const ownResult = await own.evaluate(
        (url) =>
          new Promise((ok) => {
            const ws = new WebSocket(url);
            ws.onopen = () => (ok("open"), ws.close());
            ws.onerror = () => ok("error");
            setTimeout(() => ok("timeout"), 10000);
          }),
        target
      );
      if (ownResult !== "open") throw new Error(`the same-origin WebSocket did not open: ${ownResult}`);
    } finally {
      foreign.close();
    }
  },

  /** /server's thread count follows 50 nc clients connecting and leaving. */
  async "server page counts threads"({ context, server }) {
    const page = await context.newPage();
    page.problems = [];
    page.on("pageerror", (e) => page.problems.push(String(e)));
    await page.goto(server.base + "/server", { timeout: 15000 });
    const sel = '#figures div.figure[data-figure="threads"] span.value';
    const threads = () => page.$eval(sel, (el) => (/^\d+$/.test(el.textContent.trim()) ? Number(el.textContent) : null)).catch(() => null);
    const start = await waitFor(threads, 10000, "a thread count on /server");
    const crowd = await ncCrowd(server.chatPort, 50);
    let high = 0;
    await waitFor(async () => (high = (await threads()) ?? 0) >= start + 50, 15000, `threads >= ${start + 50} (from ${start}; last ${high})`);
    for (const c of crowd) c.close();
    let low = high;
    await waitFor(async () => (low = (await threads()) ?? high) <= start + 5, 15000, `threads back near ${start} (last ${low})`);
    if (page.problems.length) throw new Error(`page errors: ${JSON.stringify(page.problems)}`);
  },
};

const only = process.env.SCENARIOS ? process.env.SCENARIOS.split(",") : null;
const chrome = await launchBrowser();
let failed = 0;
for (const [name, run] of Object.entries(scenarios)) {
  if (only && !only.some((o) => name.includes(o))) continue;
  let server = await startServer(bin);
  const context = await chrome.browser.createBrowserContext();
  const restart = async () => {
    const { chatPort, sioPort } = server;
    await server.stop();
    server = await startServer(bin, { chatPort, sioPort });
    return server;
  };
  const t0 = Date.now();
  try {
    await run({ context, server, restart });
    console.log(`ok ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    const pages = await context.pages().catch(() => []);
    const tails = await Promise.all(pages.map((p) => lastLines(p, 5).catch(() => [])));
    console.log(`FAILED ${name}: ${e && e.stack ? e.stack : e}`);
    console.log(`  pages' last lines: ${JSON.stringify(tails)}`);
    console.log(`  server stderr (tail): ${server.stderr().slice(-2000)}`);
  }
  await context.close().catch(() => {});
  await server.stop();
}
await chrome.close();
process.exit(failed ? 1 : 0);
