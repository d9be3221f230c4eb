// The cluster example in a real browser (run by tests/browser.rs):
//
//   node tests/browser/cluster.mjs BIN
//
// Starts `examples/cluster/run.sh` (Redis, two threadsock nodes, nginx) with BIN on free
// ports, opens the chat page through nginx in headless chromium, and chats with one `nc` user
// on each node: each line is seen by the two others. Prints `ok cluster` or
// `FAILED cluster: <why>`; exits 0 only if it passed. Stops run.sh (TERM) in any case.
import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Nc, launchBrowser, openChat, say, waitFor, waitLi } from "./harness.mjs";

const bin = process.argv[2];
if (!bin) {
  console.error("usage: node cluster.mjs BIN");
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));
const runSh = path.join(here, "../../examples/cluster/run.sh");
setTimeout(() => {
  console.log("FAILED cluster: not done within 120 s");
  process.exit(1);
}, 120000).unref();

/** A free loopback port (closed again: run.sh binds it next). */
const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** True once something accepts on `port`. */
const accepts = (port) =>
  new Promise((resolve) => {
    const c = net.connect({ host: "127.0.0.1", port });
    c.once("connect", () => (c.destroy(), resolve(true)));
    c.once("error", () => resolve(false));
  });

const ports = {};
for (const name of ["NGINX_PORT", "SIO_A", "SIO_B", "CHAT_A", "CHAT_B", "REDIS_PORT"]) {
  ports[name] = await freePort();
}
const cluster = spawn("bash", [runSh], {
  env: { ...process.env, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])), THREADSOCK: bin },
  stdio: ["ignore", "pipe", "pipe"],
});
let output = "";
cluster.stdout.on("data", (d) => (output += d));
cluster.stderr.on("data", (d) => (output += d));
const stop = () => {
  try {
    cluster.kill("SIGTERM");
  } catch {}
};

let browser;
try {
  for (const p of [ports.NGINX_PORT, ports.CHAT_A, ports.CHAT_B]) {
    await waitFor(() => accepts(p), 60000, `port ${p}`);
  }
  browser = await launchBrowser();
  const context = await browser.browser.createBrowserContext();
  const page = await openChat(context, `http://127.0.0.1:${ports.NGINX_PORT}`, "alice");
  const nodeA = await Nc.connect(ports.CHAT_A);
  const nodeB = await Nc.connect(ports.CHAT_B);
  nodeA.send("/nick anna");
  nodeB.send("/nick bert");
  await nodeA.waitLine("* you are now anna");
  await nodeB.waitLine("* you are now bert");
  // A link just made may miss the first lines: say hello until the other node hears it.
  await waitFor(
    async () => {
      nodeA.send("warm-up");
      return nodeB.lines.includes("-> anna: warm-up");
    },
    20000,
    "the nodes to hear each other"
  );
  await say(page, "hello from the browser");
  await nodeA.waitLine("-> alice: hello from the browser");
  await nodeB.waitLine("-> alice: hello from the browser");
  nodeA.send("hello from node A");
  await waitLi(page, { cls: "message", from: "anna", text: "hello from node A" });
  await nodeB.waitLine("-> anna: hello from node A");
  nodeB.send("hello from node B");
  await waitLi(page, { cls: "message", from: "bert", text: "hello from node B" });
  await nodeA.waitLine("-> bert: hello from node B");
  if (page.problems.length) throw new Error(`page errors: ${page.problems.join("; ")}`);
  nodeA.close();
  nodeB.close();
  console.log("ok cluster");
} catch (e) {
  console.log(`FAILED cluster: ${e.message}\n${output.split("\n").slice(-20).join("\n")}`);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  stop();
}
await new Promise((resolve) => cluster.once("exit", resolve));
process.exit(process.exitCode ?? 0);
