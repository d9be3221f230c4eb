//! Real-browser tests: headless Debian chromium (puppeteer-core, npm, `tests/browser/`) drives
//! the chat page (`/`), the server page (`/server`) and the official socket.io-client bundle
//! against `threadsock serve`, with `nc` users on the chat port. The scenarios are in
//! `tests/browser/run.mjs`, which starts and restarts the server itself; each prints `ok` or
//! `FAILED`. And the cluster example (`tests/browser/cluster.mjs`). Skipped locally without
//! chromium (or redis-server and nginx) or `npm ci` in `tests/browser`; under CI a failure.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;
use support::*;

/// How many scenarios run.mjs has (each prints one `ok ` line when it passes).
const SCENARIOS: usize = 6;

/// Runs `tests/browser/<script> BIN` (bounded by `limit`); its stdout if it exited 0.
fn run_script(script: &str, limit: Duration) -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser");
    let child = Command::new("node")
        .current_dir(dir)
        .args([script, env!("CARGO_BIN_EXE_threadsock")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node");
    let out = finish_within(child, limit, script);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(out.status.success(), "{script} failed:\n{stdout}\n{stderr}");
    stdout
}

#[test]
fn pages_and_socketio_in_a_real_browser() {
    if !require_tool("chromium") || !require_node_packages("browser") {
        return;
    }
    let stdout = run_script("run.mjs", Duration::from_secs(180));
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        SCENARIOS,
        "{stdout}"
    );
}

/// The cluster example (`examples/cluster/run.sh`: Redis, two nodes, nginx), driven by
/// `tests/browser/cluster.mjs`: a browser on the nginx port chats with `nc` users on both nodes.
#[test]
fn the_cluster_example_in_a_real_browser() {
    if !require_tool("chromium")
        || !require_tool("redis-server")
        || support::nginx::binary().is_none()
        || !require_node_packages("browser")
    {
        return;
    }
    let stdout = run_script("cluster.mjs", Duration::from_secs(150));
    assert!(stdout.lines().any(|l| l == "ok cluster"), "{stdout}");
}
