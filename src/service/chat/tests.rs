//! The chat without sockets: members joined through handles, deliveries read from their
//! outboxes as a writer would, two wire formats in one room, flow control, and `Drop`.

use super::outbox::{Batch, Outbox};
use super::{text, Chat, ChatConfig, Delivery, Member, Packet, Render};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

/// A second wire format: the delivery's debug form, one per packet.
#[derive(Debug)]
struct Debugged;

impl Render for Debugged {
    fn render(&self, d: &Delivery<'_>) -> Packet {
        Packet::from(format!("{d:?}").into_bytes())
    }
}

fn chat(outbox_lines: usize) -> Arc<Chat> {
    Chat::start(ChatConfig {
        outbox_lines,
        ..ChatConfig::default()
    })
    .unwrap()
}

/// The next batch, acknowledged as written.
fn batch(outbox: &Outbox) -> Batch {
    let b = outbox.recv_timeout(WAIT).expect("a delivery");
    outbox.written(&b);
    b
}

/// Packets as text until one equals `want` (which is returned last).
fn until(outbox: &Outbox, want: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for _ in 0..10_000 {
        for p in batch(outbox) {
            let s = String::from_utf8_lossy(&p).into_owned();
            let done = s == want;
            seen.push(s);
            if done {
                return seen;
            }
        }
    }
    panic!("no {want:?} in {seen:?}");
}

fn join_text(chat: &Chat) -> (Member, Outbox) {
    chat.join(Arc::clone(&chat.text)).unwrap()
}

#[test]
fn members_join_talk_and_leave_through_handles() {
    let chat = chat(1024);
    let (a, out_a) = join_text(&chat);
    let (b, out_b) = chat.join(Arc::new(Debugged)).unwrap();
    let label_a = format!("guest{}", a.id());
    let label_b = format!("guest{}", b.id());
    until(&out_a, &format!("* {label_b} joined lobby\n"));
    b.say("hi from the other format".into()).unwrap();
    until(&out_a, "-> hi from the other format\n");
    a.nick("alice".into()).unwrap();
    until(&out_a, "* you are now alice\n");
    until(
        &out_b,
        r#"Renamed { room: "lobby", from: "guest1", to: "alice" }"#,
    );
    a.say("hello".into()).unwrap();
    until(
        &out_b,
        r#"Message { room: "lobby", from: "alice", named: true, text: "hello" }"#,
    );
    // Leaving is `Drop`: no code path can leak a member.
    drop(b);
    until(&out_a, &format!("* {label_b} left lobby\n"));
    assert!(label_a.starts_with("guest"));
}

#[test]
fn a_broadcast_is_rendered_once_per_format_and_shared() {
    let chat = chat(1024);
    let (speaker, _out) = join_text(&chat);
    let texts: Vec<(Member, Outbox)> = (0..3).map(|_| join_text(&chat)).collect();
    let debugged: Vec<(Member, Outbox)> = (0..2)
        .map(|_| chat.join(Arc::new(Debugged)).unwrap())
        .collect();
    // Each Debugged member has its own renderer instance; share one to share packets.
    let shared: Arc<dyn Render> = Arc::new(Debugged);
    let same: Vec<(Member, Outbox)> = (0..2)
        .map(|_| chat.join(Arc::clone(&shared)).unwrap())
        .collect();
    speaker.say("once".into()).unwrap();
    let last = |outbox: &Outbox, want: &str| -> Packet {
        loop {
            for p in batch(outbox) {
                if String::from_utf8_lossy(&p) == want {
                    return p;
                }
            }
        }
    };
    let text_packets: Vec<Packet> = texts.iter().map(|(_, o)| last(o, "-> once\n")).collect();
    assert!(text_packets.windows(2).all(|w| Arc::ptr_eq(&w[0], &w[1])));
    let want = r#"Message { room: "lobby", from: "guest1", named: false, text: "once" }"#;
    let same_packets: Vec<Packet> = same.iter().map(|(_, o)| last(o, want)).collect();
    assert!(Arc::ptr_eq(&same_packets[0], &same_packets[1]));
    for (_, o) in &debugged {
        last(o, want);
    }
}

#[test]
fn a_member_that_never_reads_is_dropped_and_the_others_get_everything() {
    let chat = chat(64);
    let (sender, _sender_out) = join_text(&chat);
    let (reader, reader_out) = join_text(&chat);
    let (stuck, stuck_out) = join_text(&chat);
    let stuck_label = format!("guest{}", stuck.id());
    let _ = (
        reader.id(),
        until(&reader_out, &format!("* {stuck_label} joined lobby\n")),
    );
    // The reader drains like a writer thread; the stuck member's outbox is never touched.
    let lines = 5_000;
    let drain = thread::spawn(move || {
        let mut got = Vec::new();
        let mut dropped = false;
        while got.len() < lines || !dropped {
            for p in batch(&reader_out) {
                let s = String::from_utf8_lossy(&p).into_owned();
                if let Some(n) = s.strip_prefix("-> line ") {
                    got.push(n.trim_end().parse::<usize>().unwrap());
                } else if s == format!("* {stuck_label} left lobby (too slow)\n") {
                    dropped = true;
                }
            }
        }
        got
    });
    for i in 0..lines {
        sender.say(format!("line {i}")).unwrap();
    }
    let got = drain.join().unwrap();
    assert_eq!(got, (0..lines).collect::<Vec<_>>(), "every line, in order");
    assert!(stuck_out.is_kicked());
    let queued: usize = std::iter::from_fn(|| stuck_out.try_recv())
        .map(|b| b.len())
        .sum();
    assert!(
        queued <= chat.marks.hard,
        "the stuck outbox stayed bounded: {queued}"
    );
    assert_eq!(
        chat.stats
            .slow_dropped
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    drop(stuck);
}

#[test]
fn a_gone_writer_removes_its_member_and_shutdown_reaches_everyone() {
    let chat = chat(1024);
    let (a, out_a) = join_text(&chat);
    let (b, out_b) = join_text(&chat);
    let label_b = format!("guest{}", b.id());
    until(&out_a, &format!("* {label_b} joined lobby\n"));
    // b's writer dies (its outbox dropped) while b itself has not left yet.
    drop(out_b);
    for i in 0..3 {
        a.say(format!("anyone {i}")).unwrap();
    }
    until(&out_a, &format!("* {label_b} left lobby\n"));
    chat.shutdown(Duration::from_millis(500));
    until(&out_a, "* server shutting down\n");
    assert!(
        out_a.recv_timeout(WAIT).is_err(),
        "dropped after the farewell"
    );
    assert!(
        chat.join(Arc::new(text::Text)).is_err(),
        "no joins once stopped"
    );
    drop(b);
}
