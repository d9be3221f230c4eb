// The README's screenshots, taken with headless chromium against a fresh `threadsock serve`:
//
//   node tests/browser/screenshots.mjs target/release/threadsock examples/screenshots
//
// OUTDIR/chat.png: alice's chat page (1100x700) after alice, bob (pages) and carol (nc) talk;
// OUTDIR/chat-phone.png: bob's page, at phone width (360x740) all along;
// OUTDIR/server.png: the server page (900x700) after ~10 s of ~100 nc clients chatting.
import fs from "node:fs";
import path from "node:path";
import { Nc, launchBrowser, ncCrowd, openChat, say, sleep, startServer, waitLi } from "./harness.mjs";

const [bin, outdir] = process.argv.slice(2);
if (!bin || !outdir) {
  console.error("usage: node screenshots.mjs BIN OUTDIR");
  process.exit(2);
}
fs.mkdirSync(outdir, { recursive: true });
setTimeout(() => {
  console.error("screenshots: not done within 120 s");
  process.exit(1);
}, 120000).unref();

const server = await startServer(bin);
const chrome = await launchBrowser();
try {
  const context = await chrome.browser.createBrowserContext();

  // The chat: two pages and an nc user in lobby.
  const carol = await Nc.connect(server.chatPort);
  await carol.welcomeNick();
  carol.send("/nick carol");
  await carol.waitLine("* you are now carol");
  const alice = await openChat(context, server.base, "alice", { width: 1100, height: 700 });
  const bob = await openChat(context, server.base, "bob", { width: 360, height: 740, mobile: true });
  await carol.waitLine("* bob joined lobby").catch(() => {});
  await say(alice, "hi bob! carol is on nc, in the same room");
  await waitLi(bob, { from: "alice", contains: "hi bob" });
  carol.send("hello from the terminal, plain nc here");
  await waitLi(alice, { from: "carol", contains: "terminal" });
  await say(bob, "/me waves at carol");
  await waitLi(alice, { cls: "action", from: "bob" });
  await say(bob, "nice, one room for both");
  await waitLi(alice, { from: "bob", contains: "one room" });
  carol.send("/msg alice lunch at noon?");
  await waitLi(alice, { cls: "private", from: "carol" });
  await say(alice, "/msg carol sure, see you there");
  carol.send("the server page shows the threads: one per connection");
  await waitLi(alice, { from: "carol", contains: "threads" });
  await waitLi(bob, { from: "carol", contains: "threads" });
  await say(alice, "/who");
  await waitLi(alice, { cls: "notice", contains: "in lobby:" });
  await alice.screenshot({ path: path.join(outdir, "chat.png") });
  console.log(`wrote ${path.join(outdir, "chat.png")}`);

  // The same conversation on bob's phone.
  await bob.evaluate(() => {
    const m = document.querySelector("#messages");
    m.scrollTop = m.scrollHeight;
  });
  await bob.screenshot({ path: path.join(outdir, "chat-phone.png") });
  console.log(`wrote ${path.join(outdir, "chat-phone.png")}`);
  await alice.close();
  await bob.close();

  // The server page while ~100 nc clients connect and chat.
  const page = await context.newPage();
  await page.setViewport({ width: 900, height: 700 });
  await page.goto(server.base + "/server", { timeout: 15000 });
  await page.waitForSelector('#figures div.figure[data-figure="threads"]', { timeout: 10000 });
  await sleep(2000); // a baseline before the crowd arrives
  const crowd = await ncCrowd(server.chatPort, 100);
  crowd.forEach((c, i) => c.send(`/join ${["lobby", "games", "music", "rust"][i % 4]}`));
  let n = 0;
  const talk = setInterval(() => {
    for (let i = 0; i < 10; i++) crowd[(n * 10 + i) % crowd.length].send(`line ${n}.${i}`);
    n++;
  }, 100);
  await sleep(10000); // ten samples of the crowd (one a second)
  clearInterval(talk);
  await page.screenshot({ path: path.join(outdir, "server.png") });
  console.log(`wrote ${path.join(outdir, "server.png")}`);
  for (const c of crowd) c.close();
  carol.close();
  await context.close();
} finally {
  await chrome.close();
  await server.stop();
}
process.exit(0);
