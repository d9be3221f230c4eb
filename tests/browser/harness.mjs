// Shared pieces of the real-browser tests (run.mjs) and the screenshots (screenshots.mjs):
// headless Debian chromium through puppeteer-core, `threadsock serve` started as a child
// process, `nc` users as plain TCP connections, chat-page helpers, and bounded waits.
// Everything talks to 127.0.0.1 only.
import puppeteer from "puppeteer-core";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

/** The official socket.io-client browser bundle, served by `serve --client-js`. */
export const CLIENT_JS = path.join(here, "node_modules/socket.io-client/dist/socket.io.min.js");

export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

/** Resolves after `ms` (only where no condition can be waited for). */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` (sync or async) every 50 ms until it returns a truthy value; throws after `ms`. */
export async function waitFor(cond, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** Launches headless chromium with a fresh profile; `close()` also removes the profile. */
export async function launchBrowser() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "threadsock-chromium-"));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    userDataDir: profile, // puppeteer passes it as --user-data-dir
    protocolTimeout: 30000,
  });
  // On an early exit (a failure or the global timeout) the profile goes too.
  process.on("exit", () => fs.rmSync(profile, { recursive: true, force: true, maxRetries: 2 }));
  return {
    browser,
    async close() {
      await browser.close().catch(() => {});
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Servers still running: killed if this process exits (a failure or the global timeout). */
const live = new Set();
process.on("exit", () => {
  for (const proc of live) proc.kill("SIGKILL");
});

/**
 * Starts `BIN serve --only chat,socketio` with `--client-js` and resolves with
 * `{ chatPort, sioPort, base, proc, stderr(), stop() }` once both listening lines are read.
 * Ports 0 (the default) pick free ones; pass the previous ports to restart on them.
 */
export function startServer(bin, { chatPort = 0, sioPort = 0, extra = [] } = {}) {
  const args = [
    "serve",
    "--only",
    "chat,socketio",
    "--chat-port",
    String(chatPort),
    "--socketio-port",
    String(sioPort),
    "--client-js",
    CLIENT_JS,
    ...extra,
  ];
  const proc = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  live.add(proc);
  let err = "";
  proc.stderr.on("data", (d) => {
    err += d;
    if (err.length > 100000) err = err.slice(-50000);
  });
  const exited = new Promise((r) =>
    proc.on("exit", (code, signal) => {
      live.delete(proc);
      r({ code, signal });
    })
  );
  return new Promise((resolve, reject) => {
    let out = "";
    const ports = {};
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`serve printed no listening lines within 10 s; stderr: ${err}`));
    }, 10000);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code ?? signal}) before listening; stderr: ${err}`));
    });
    proc.stdout.on("data", (d) => {
      out += d;
      for (const m of out.matchAll(/^listening (chat|socketio)\/tcp 127\.0\.0\.1:(\d+)$/gm)) {
        ports[m[1]] = Number(m[2]);
      }
      if (ports.chat && ports.socketio && !ports.done) {
        ports.done = true;
        clearTimeout(timer);
        resolve({
          chatPort: ports.chat,
          sioPort: ports.socketio,
          base: `http://127.0.0.1:${ports.socketio}`,
          proc,
          stderr: () => err,
          /** SIGTERM, and waits (bounded) for the exit; SIGKILL if it takes over 10 s. */
          async stop() {
            if (proc.exitCode !== null || proc.signalCode !== null) return;
            proc.kill("SIGTERM");
            const late = setTimeout(() => proc.kill("SIGKILL"), 10000);
            await exited;
            clearTimeout(late);
          },
        });
      }
    });
  });
}

/** An `nc` user: a TCP connection to the chat port, its received lines kept in `lines`. */
export class Nc {
  static connect(port) {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: "127.0.0.1", port });
      sock.setNoDelay(true);
      sock.once("error", reject);
      sock.once("connect", () => {
        sock.removeListener("error", reject);
        resolve(new Nc(sock));
      });
    });
  }

  constructor(sock) {
    this.sock = sock;
    this.lines = [];
    this.closed = false;
    let buf = "";
    sock.setEncoding("utf8");
    sock.on("data", (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        this.lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
    sock.on("error", () => {});
    sock.on("close", () => (this.closed = true));
  }

  send(line) {
    this.sock.write(line + "\n");
  }

  /**
   * Waits for a received line equal to `want` (string) or matching it (RegExp), among the
   * lines from index `from` on.
   */
  waitLine(want, ms = 10000, from = 0) {
    const ok = (l) => (want instanceof RegExp ? want.test(l) : l === want);
    return waitFor(
      () => this.lines.slice(from).find(ok),
      ms,
      `nc line ${want}`
    ).catch((e) => {
      throw new Error(`${e.message}; last lines ${JSON.stringify(this.lines.slice(-8))}`);
    });
  }

  /** The nick from the welcome line (`* welcome, you are guestN in lobby ...`). */
  async welcomeNick(ms = 10000) {
    const line = await this.waitLine(/^\* welcome, you are \S+ in /, ms);
    return /^\* welcome, you are (\S+) in /.exec(line)[1];
  }

  close() {
    this.sock.end();
    this.sock.destroy();
  }
}

/** Opens `n` nc clients (in parallel batches) and waits for each one's welcome line. */
export async function ncCrowd(port, n, ms = 20000) {
  const crowd = [];
  for (let i = 0; i < n; i += 25) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(25, n - i) }, () => Nc.connect(port))
    );
    crowd.push(...batch);
  }
  await Promise.all(crowd.map((c) => c.welcomeNick(ms)));
  return crowd;
}

/**
 * Opens the chat page in `context`, joins as `nick` through the nickname form, and waits for
 * `#status` to read `connected`. Returns the page; `page.dialogs` counts dialogs that opened
 * (each is dismissed), `page.problems` collects uncaught page errors.
 */
export async function openChat(context, base, nick, { width = 1100, height = 700, mobile = false } = {}) {
  const page = await context.newPage();
  page.dialogs = [];
  page.problems = [];
  page.on("dialog", (d) => {
    page.dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  page.on("pageerror", (e) => page.problems.push(String(e)));
  await page.setViewport({ width, height, isMobile: mobile, hasTouch: mobile });
  await page.goto(base + "/", { waitUntil: "load", timeout: 15000 });
  await page.waitForSelector("#nick-input", { visible: true, timeout: 10000 });
  await page.type("#nick-input", nick);
  await page.$eval("#nick-form", (f) => f.requestSubmit());
  await waitStatus(page, "connected");
  if (nick) await waitMyNick(page, nick);
  return page;
}

/** Waits until `#status` shows `state`. */
export function waitStatus(page, state, ms = 15000) {
  return page.waitForFunction(
    (s) => document.querySelector("#status")?.textContent.trim() === s,
    { timeout: ms, polling: 50 },
    state
  );
}

/** Waits until the page's own nick (`#my-nick`) is `nick`. */
export function waitMyNick(page, nick, ms = 10000) {
  return page.waitForFunction(
    (n) => document.querySelector("#my-nick")?.textContent.trim() === n,
    { timeout: ms, polling: 50 },
    nick
  );
}

/** Types `text` into `#input` and presses Enter. */
export async function say(page, text) {
  await page.focus("#input");
  await page.$eval("#input", (el) => (el.value = ""));
  await page.type("#input", text);
  await page.keyboard.press("Enter");
  // The composer empties the input once the line is sent.
  await page.waitForFunction(() => document.querySelector("#input").value === "", {
    timeout: 5000,
    polling: 50,
  });
}

/**
 * Waits for an `ol#messages > li` with class `cls` (any if null), `data-from` = `from`
 * (any if null) and a `span.text` equal to `text` (a string) or containing `contains`.
 */
export function waitLi(page, { cls = null, from = null, text = null, contains = null }, ms = 10000) {
  return page
    .waitForFunction(
      (cls, from, text, contains) =>
        [...document.querySelectorAll("ol#messages > li")].some((li) => {
          const t = li.querySelector("span.text")?.textContent ?? "";
          return (
            (cls === null || li.classList.contains(cls)) &&
            (from === null || li.dataset.from === from) &&
            (text === null || t === text) &&
            (contains === null || t.includes(contains))
          );
        }),
      { timeout: ms, polling: 50 },
      cls,
      from,
      text,
      contains
    )
    .catch(async (e) => {
      const seen = await lastLines(page).catch(() => []);
      const want = JSON.stringify({ cls, from, text, contains });
      throw new Error(`no message ${want} (${e.message}); last: ${JSON.stringify(seen)}`);
    });
}

/** The last `n` lines of `ol#messages` as "class|from|text". */
export function lastLines(page, n = 8) {
  return page.$$eval(
    "ol#messages > li",
    (lis, n) =>
      lis.slice(-n).map((li) => `${li.className}|${li.dataset.from ?? ""}|${li.querySelector("span.text")?.textContent ?? ""}`),
    n
  );
}
