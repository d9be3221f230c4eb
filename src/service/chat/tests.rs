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

/// A batch as text, one string per delivery: an `nc` packet may hold a run of lines.
fn deliveries(batch: &[Packet]) -> Vec<String> {
    batch
        .iter()
        .flat_map(|p| {
            let text = String::from_utf8_lossy(p).into_owned();
            let lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
            assert!(lines.len() == p.lines() || p.lines() == 1, "{p:?}");
            lines
        })
        .collect()
}

/// Deliveries as text until one equals `want` (which is returned last).
fn until(outbox: &Outbox, want: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for _ in 0..10_000 {
        for s in deliveries(&batch(outbox)) {
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
    assert!(text_packets
        .windows(2)
        .all(|w| Packet::ptr_eq(&w[0], &w[1])));
    let want = r#"Message { room: "lobby", from: "guest1", named: false, text: "once" }"#;
    let same_packets: Vec<Packet> = same.iter().map(|(_, o)| last(o, want)).collect();
    assert!(Packet::ptr_eq(&same_packets[0], &same_packets[1]));
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
        .flatten()
        .map(|p| p.lines())
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

/// A speaker (with its outbox, kept: a member whose outbox is gone leaves), then a listener
/// whose outbox has been read up to its welcome: what it gets next is what the speaker says.
fn speaker_and_listener(chat: &Chat) -> ((Member, Outbox), Member, Outbox) {
    let (speaker, speaker_out) = join_text(chat);
    let (listener, out) = join_text(chat);
    until(
        &out,
        &format!(
            "* welcome, you are guest{} in lobby (2 here); /help lists commands\n",
            speaker.id() + 1
        ),
    );
    ((speaker, speaker_out), listener, out)
}

#[test]
fn lines_said_together_reach_each_member_in_one_batch_in_order() {
    let chat = chat(1024);
    let ((speaker, _out), _listener, out) = speaker_and_listener(&chat);
    let lines: Vec<String> = (0..300).map(|i| format!("line {i}")).collect();
    speaker.say_all(lines.clone()).unwrap();
    let got = batch(&out);
    let want: Vec<String> = lines.iter().map(|l| format!("-> {l}\n")).collect();
    // Lines need no framing: the run is one packet that counts as 300 lines.
    assert_eq!(got.len(), 1);
    assert_eq!(got.iter().map(Packet::lines).sum::<usize>(), 300);
    assert_eq!(deliveries(&got), want, "one batch, every line, in order");
    // Every reserved line was given back once the hub applied them.
    assert_eq!(chat.flow.in_transit(), 0);
}

#[test]
fn a_run_longer_than_one_request_is_split_and_kept_in_order() {
    let chat = chat(4096);
    let ((speaker, _out), _listener, out) = speaker_and_listener(&chat);
    let n = super::outbox::LINES_PER_REQUEST * 2 + 7;
    speaker
        .say_all((0..n).map(|i| format!("{i}")).collect())
        .unwrap();
    let seen = until(&out, &format!("-> {}\n", n - 1));
    let want: Vec<String> = (0..n).map(|i| format!("-> {i}\n")).collect();
    assert_eq!(seen, want);
}

#[test]
fn a_run_of_long_lines_is_split_by_bytes_and_a_longer_line_goes_alone() {
    use super::outbox::BYTES_PER_REQUEST;
    let chat = chat(4096);
    let ((speaker, _out), _listener, out) = speaker_and_listener(&chat);
    let line = |i: usize, len: usize| format!("{i:04}{}", "x".repeat(len - 4));
    let mut lines: Vec<String> = (0..30).map(|i| line(i, 1000)).collect();
    lines.insert(12, line(12_000, BYTES_PER_REQUEST + 1));
    speaker.say_all(lines.clone()).unwrap();
    // One packet per request: the hub renders each request's run of lines as one packet.
    let mut packets = Vec::new();
    for _ in 0..1000 {
        if packets.iter().map(Packet::lines).sum::<usize>() == lines.len() {
            break;
        }
        packets.extend(batch(&out));
    }
    for p in &packets {
        let text: usize = deliveries(std::slice::from_ref(p))
            .iter()
            .map(|d| d.len() - "-> \n".len())
            .sum();
        assert!(
            text <= BYTES_PER_REQUEST || p.lines() == 1,
            "{} lines",
            p.lines()
        );
    }
    assert!(packets
        .iter()
        .any(|p| p.len() > BYTES_PER_REQUEST && p.lines() == 1));
    let want: Vec<String> = lines.iter().map(|l| format!("-> {l}\n")).collect();
    assert_eq!(deliveries(&packets), want, "every line, in order");
    assert_eq!(chat.flow.in_transit(), 0);
}

#[test]
fn presence_notices_linger_and_go_with_the_next_message_in_order() {
    let chat = chat(1024);
    let (watcher, out) = join_text(&chat);
    until(
        &out,
        &format!(
            "* welcome, you are guest{} in lobby (1 here); /help lists commands\n",
            watcher.id()
        ),
    );
    // Joins alone arrive together, at most LINGER later, as one batch.
    let newcomers: Vec<(Member, Outbox)> = (0..5).map(|_| join_text(&chat)).collect();
    let mut notices = Vec::new();
    while notices.len() < 5 {
        notices.extend(batch(&out));
    }
    assert_eq!(notices.len(), 5);
    // A presence notice followed by a message: the message takes the notice along, first.
    let (late, _late_out) = join_text(&chat);
    newcomers[0].0.say("after the join".into()).unwrap();
    let seen = until(&out, "-> after the join\n");
    assert_eq!(
        seen,
        vec![
            format!("* guest{} joined lobby\n", late.id()),
            "-> after the join\n".to_string()
        ]
    );
}

#[test]
fn the_budget_of_lines_in_transit_waits_and_is_given_back() {
    use super::outbox::{Flow, LINES_IN_TRANSIT};
    let flow = Flow::new();
    flow.reserve(LINES_IN_TRANSIT, WAIT);
    assert_eq!(flow.in_transit(), LINES_IN_TRANSIT);
    // Full: a second reservation waits until lines are given back.
    let waiter = {
        let flow = Arc::clone(&flow);
        thread::spawn(move || {
            flow.reserve(10, WAIT);
            flow.in_transit()
        })
    };
    flow.release(LINES_IN_TRANSIT);
    assert_eq!(waiter.join().unwrap(), 10);
    // A request larger than the whole budget goes when nothing else is in transit.
    flow.release(10);
    flow.reserve(LINES_IN_TRANSIT * 2, Duration::ZERO);
    assert_eq!(flow.in_transit(), LINES_IN_TRANSIT * 2);
    // After its wait, a reservation goes anyway rather than hold its sender for ever.
    flow.reserve(1, Duration::from_millis(10));
    assert_eq!(flow.in_transit(), LINES_IN_TRANSIT * 2 + 1);
}

/// An uplink that records what the hub told it, one line per delivery.
#[derive(Debug, Default)]
struct Recorded(std::sync::Mutex<Vec<String>>);

impl super::Uplink for Recorded {
    fn broadcast(&self, key: &str, ds: &[Delivery<'_>]) {
        let mut seen = self.0.lock().unwrap();
        seen.extend(ds.iter().map(|d| format!("{key}: {d:?}")));
    }
}

#[test]
fn room_broadcasts_go_up_and_remote_ones_come_down_to_the_room_only() {
    let uplink = Arc::new(Recorded::default());
    let chat = Chat::start_with(ChatConfig::default(), Some(uplink.clone())).unwrap();
    let (a, _out_a) = join_text(&chat);
    let (_b, out_b) = join_text(&chat);
    a.say("hello".into()).unwrap();
    until(&out_b, "-> hello\n");
    // A broadcast from elsewhere reaches the room here and is not sent up again.
    let message = super::Remote::Message {
        room: "lobby".into(),
        from: "bob".into(),
        text: "hi from node B".into(),
    };
    assert!(chat.remote("lobby".into(), message));
    // The nc format takes no foreign packets, and the other room's news is not for lobby.
    let foreign = super::Remote::Foreign(vec![Packet::from(&b"42[\"x\"]"[..])]);
    assert!(chat.remote("lobby".into(), foreign));
    let joined = super::Remote::Joined {
        room: "elsewhere".into(),
        nick: "carol".into(),
    };
    assert!(chat.remote("elsewhere".into(), joined));
    a.say("last".into()).unwrap();
    let seen = until(&out_b, "-> last\n");
    assert_eq!(seen, ["-> bob: hi from node B\n", "-> last\n"]);
    let up = uplink.0.lock().unwrap().clone();
    let said = |t: &str| up.iter().filter(|l| l.contains(t)).count();
    assert_eq!(said("text: \"hello\""), 1, "{up:?}");
    assert_eq!(said("text: \"last\""), 1, "{up:?}");
    assert_eq!(said("node B") + said("carol"), 0, "{up:?}");
    assert!(up[0].starts_with("lobby: Joined"), "{up:?}");
}

#[test]
fn a_burst_ends_once_it_holds_its_bytes() {
    use super::hub::{HubStats, MAX_BURST_BYTES};
    use super::outbox::{outbox, Flow, Marks, BYTES_PER_REQUEST};
    use super::{Hub, Request};
    let flow = Flow::new();
    let marks = Marks::for_outbox(1 << 20, 0);
    let (alive, _writers_done) = crossbeam_channel::bounded::<()>(0);
    let (speaker, _speaker_out) = outbox(&flow, marks, alive.clone());
    let (listener, out) = outbox(&flow, marks, alive);
    // Everything is waiting before the hub starts: it could take it all in one burst.
    let (requests, inbox) = crossbeam_channel::unbounded();
    for (id, outbox) in [(1, speaker), (2, listener)] {
        let render: Arc<dyn Render> = Arc::new(text::Text);
        requests.send(Request::Join { id, render, outbox }).unwrap();
    }
    let per_burst = MAX_BURST_BYTES.div_ceil(BYTES_PER_REQUEST);
    let sent = per_burst * 2 + 1;
    for i in 0..sent {
        let lines = vec![format!("{i:04}{}", "x".repeat(BYTES_PER_REQUEST - 4))];
        requests.send(Request::Say { id: 1, lines }).unwrap();
    }
    let hub = Hub::new(marks, WAIT, Arc::new(HubStats::default()), flow);
    let hub = thread::spawn(move || hub.run(&inbox));
    // One batch per burst: the listener's welcome and messages of the first, then the rest.
    let mut sizes = Vec::new();
    while sizes.iter().sum::<usize>() < sent {
        let messages = deliveries(&batch(&out))
            .iter()
            .filter(|d| d.starts_with("-> "))
            .count();
        sizes.push(messages);
    }
    assert_eq!(sizes, [per_burst, per_burst, 1]);
    drop(requests);
    hub.join().unwrap();
}
