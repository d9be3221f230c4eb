//! The first seed's own Node.js clients (examples/node/) against the files service, unchanged.
//! Skipped where `node` is missing, except under CI (`CI` set), where that is a failure;
//! .ci/run installs node.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use support::*;
use threadsock::server::Limits;
use threadsock::service::files::FilesConfig;

/// Runs `node script args...` to completion, bounded by WAIT.
fn node(script: &str, args: &[&str]) -> Output {
    let child = Command::new("node")
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("examples/node")
                .join(script),
        )
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start node");
    finish(child, &format!("node {script}"))
}

fn setup(tag: &str) -> (threadsock::server::Server, PathBuf, PathBuf, Vec<u8>) {
    let base = std::env::temp_dir().join(format!("threadsock-node-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&base);
    let dir = base.join("server_files");
    let mut opts = options(&["files"]);
    opts.files = FilesConfig {
        dir: dir.clone(),
        max_file: 1 << 30,
    };
    let server = start_with(&opts, Limits::default());
    fs::create_dir_all(base.join("client_files")).unwrap();
    let input = base.join("client_files/client.txt");
    let content: Vec<u8> = (0..40_000u32).map(|i| (i * 31 % 251) as u8).collect();
    fs::write(&input, &content).unwrap();
    (server, dir, input, content)
}

fn stored(dir: &Path) -> Vec<Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .map(|p| fs::read(p).unwrap())
        .collect()
}

#[test]
fn the_seeds_tcp_client_uploads_a_file() {
    if !require_tool("node") {
        return;
    }
    let (server, dir, input, content) = setup("tcp");
    let port = tcp_addr(&server, "files").port().to_string();
    let out = node(
        "tcp_client.js",
        &[&port, "127.0.0.1", input.to_str().unwrap()],
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(printed.contains("conectado ao servidor"), "{printed}");
    assert!(printed.contains("saved server_"), "{printed}");
    assert!(printed.contains("conexao encerrada"), "{printed}");
    assert!(server.wait_connections_finished(1, WAIT));
    assert_eq!(stored(&dir), vec![content]);
    fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[test]
fn the_seeds_udp_client_drops_a_file() {
    if !require_tool("node") {
        return;
    }
    let (server, dir, input, content) = setup("udp");
    let addr = udp_addr(&server, "files");
    let out = node(
        "udp_client.js",
        &[
            &addr.port().to_string(),
            "127.0.0.1",
            input.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // One thread serves the socket in order: once our own datagram is answered, the seed
    // client's (sent before) has been handled.
    let probe = udp_client();
    probe.send_to(b"marker", addr).unwrap();
    let mut buf = [0u8; 256];
    let (n, _) = probe.recv_from(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"saved "));
    let mut files = stored(&dir);
    files.sort_by_key(|f| f.len());
    assert_eq!(files, vec![b"marker".to_vec(), content]);
    fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

/// Does nothing unless run as the child of the test below, which names a tool to require.
#[test]
fn require_tool_child() {
    if let Some(tool) = std::env::var_os("THREADSOCK_REQUIRE_TOOL") {
        let found = require_tool(tool.to_str().unwrap());
        println!("require_tool returned {found}");
    }
}

#[test]
fn a_missing_tool_skips_locally_and_fails_under_ci() {
    let run = |ci: &str| {
        let child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "require_tool_child", "--nocapture"])
            .env("THREADSOCK_REQUIRE_TOOL", "threadsock-no-such-tool")
            .env("CI", ci)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = finish(child, "the require_tool child");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), all)
    };
    let (ok, text) = run("");
    assert!(ok && text.contains("require_tool returned false"), "{text}");
    assert!(
        text.contains("skipped: `threadsock-no-such-tool`"),
        "{text}"
    );
    let (ok, text) = run("1");
    assert!(!ok, "a missing tool must fail under CI: {text}");
    assert!(text.contains("is required under CI"), "{text}");
}
