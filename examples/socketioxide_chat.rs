//! Comparison server: threadsock's default Socket.IO app (the chat on namespace `/`) on
//! [socketioxide](https://docs.rs/socketioxide) 0.18 behind axum, written the way socketioxide's
//! own chat example is: handlers with extractors, the nickname and room as socket extensions,
//! shared state through `State`, one Socket.IO room per chat room.
//!
//! ```sh
//! cargo run --release --example socketioxide_chat -- 9003     # port 0 (the default) lets the OS pick
//! ```
//!
//! Prints `listening socketio/tcp 127.0.0.1:PORT` on stdout once bound, then runs until killed.
//! With `CHAT_ANNOUNCE=0` in the environment nobody is told of joins and leaves (no `joined` or
//! `left` events): the comparison's sio-idle and sio-connect runs use it, since announcing each
//! of N clients joining the lobby to all the others costs N²/2 events.
//!
//! Client to server: `nick` (name; ack `{"ok":true}` or `{"error":..}`), `join` (room; ack
//! `{"room":..,"members":[..]}` or `{"error":..}`), `message` (text), `act` (text), `msg`
//! (nick, text), `who` (ack: the nicks), `rooms` (ack: `[{"name":..,"members":N}]`), and
//! `message-with-ack` (for the acknowledgement benchmark: acknowledged with its argument, as
//! socketioxide's own conformance server does; a `Data<Value>` extractor takes the first
//! argument only, so a multi-argument emit is acked with its first argument). Server to client: `message` `{"room","from","text"}`,
//! `private` `{"from","text"}`, `joined`/`left` `{"room","nick"}`, `renamed` `{"from","to"}`,
//! `notice` `{"text"}`. The auth payload may carry `{"nick":..}`. Everyone starts in `lobby`;
//! names compare ignoring ASCII case.

use serde::Serialize;
use serde_json::{json, Value};
use socketioxide::extract::{AckSender, Data, SocketRef, State, TryData};
use socketioxide::socket::Sid;
use socketioxide::SocketIo;
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const LOBBY: &str = "lobby";
const MAX_NAME: usize = 32;
const MAX_LINE: usize = 4096;

/// The chat's shared state: who holds which nickname, and the rooms' names as first written.
#[derive(Clone)]
struct Chat {
    /// Lowercased nickname to its holder.
    nicks: Arc<Mutex<HashMap<String, Sid>>>,
    /// Room key (lowercased) to its displayed name.
    rooms: Arc<Mutex<HashMap<String, String>>>,
    next_guest: Arc<AtomicU64>,
    /// Whether joins and leaves are announced to the room (`CHAT_ANNOUNCE=0`: not).
    announce: bool,
}

impl Default for Chat {
    fn default() -> Self {
        Chat {
            nicks: Arc::default(),
            rooms: Arc::new(Mutex::new(HashMap::from([(
                LOBBY.to_string(),
                LOBBY.to_string(),
            )]))),
            next_guest: Arc::new(AtomicU64::new(1)),
            announce: std::env::var("CHAT_ANNOUNCE").map_or(true, |v| v != "0"),
        }
    }
}

impl Chat {
    fn room_name(&self, key: &str) -> String {
        let rooms = self.rooms.lock().unwrap();
        rooms.get(key).cloned().unwrap_or_else(|| key.to_string())
    }
}

/// A socket's nickname.
#[derive(Clone)]
struct Nick(String);

/// The key of the room a socket is in.
#[derive(Clone)]
struct Room(String);

#[derive(Serialize)]
struct Message<'a> {
    room: &'a str,
    from: &'a str,
    text: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    action: bool,
}

#[derive(Serialize)]
struct RoomNick<'a> {
    room: &'a str,
    nick: &'a str,
}

fn valid_name(name: &str) -> bool {
    (1..=MAX_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn reserved(name: &str) -> bool {
    name.to_ascii_lowercase()
        .strip_prefix("guest")
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

fn invalid(name: &str) -> Value {
    json!({ "error": format!("invalid name '{name}': use 1-{MAX_NAME} of A-Z a-z 0-9 _ -") })
}

fn nick_of(s: &SocketRef) -> String {
    s.extensions.get::<Nick>().map(|n| n.0).unwrap_or_default()
}

fn room_of(s: &SocketRef) -> String {
    s.extensions.get::<Room>().map(|r| r.0).unwrap_or_default()
}

/// The nicknames in room `key`, sorted.
fn members(s: &SocketRef, key: &str) -> Vec<String> {
    let mut nicks: Vec<String> = s
        .within(key.to_string())
        .sockets()
        .iter()
        .filter_map(|s| s.extensions.get::<Nick>().map(|n| n.0))
        .collect();
    nicks.sort();
    nicks
}

async fn enter_room(s: &SocketRef, chat: &Chat, name: &str) {
    let key = name.to_ascii_lowercase();
    let room = {
        let mut rooms = chat.rooms.lock().unwrap();
        rooms
            .entry(key.clone())
            .or_insert_with(|| name.to_string())
            .clone()
    };
    s.extensions.insert(Room(key.clone()));
    s.join(key.clone());
    if !chat.announce {
        return;
    }
    let nick = nick_of(s);
    let _ = s
        .to(key)
        .emit(
            "joined",
            &RoomNick {
                room: &room,
                nick: &nick,
            },
        )
        .await;
}

async fn leave_room(s: &SocketRef, chat: &Chat) {
    let key = room_of(s);
    let room = chat.room_name(&key);
    s.leave(key.clone());
    if chat.announce {
        let nick = nick_of(s);
        let _ = s
            .to(key.clone())
            .emit(
                "left",
                &RoomNick {
                    room: &room,
                    nick: &nick,
                },
            )
            .await;
    }
    let empty = s.within(key.clone()).sockets().iter().all(|o| o.id == s.id);
    if key != LOBBY && empty {
        chat.rooms.lock().unwrap().remove(&key);
    }
}

async fn on_connect(s: SocketRef, TryData(auth): TryData<Value>, chat: State<Chat>) {
    let wanted = auth
        .ok()
        .and_then(|a| a.get("nick").and_then(Value::as_str).map(str::to_string));
    let nick = {
        let mut nicks = chat.nicks.lock().unwrap();
        let nick = match wanted {
            Some(n)
                if valid_name(&n)
                    && !reserved(&n)
                    && !nicks.contains_key(&n.to_ascii_lowercase()) =>
            {
                n
            }
            _ => format!("guest{}", chat.next_guest.fetch_add(1, Ordering::Relaxed)),
        };
        nicks.insert(nick.to_ascii_lowercase(), s.id);
        nick
    };
    s.extensions.insert(Nick(nick));

    s.on("nick", on_nick);
    s.on("join", on_join);
    s.on("who", async |s: SocketRef, ack: AckSender| {
        let _ = ack.send(&members(&s, &room_of(&s)));
    });
    s.on(
        "rooms",
        async |s: SocketRef, ack: AckSender, chat: State<Chat>| {
            let rooms: Vec<Value> = chat
                .rooms
                .lock()
                .unwrap()
                .iter()
                .map(|(key, name)| {
                    let n = s.within(key.clone()).sockets().len();
                    json!({ "name": name, "members": n })
                })
                .collect();
            let _ = ack.send(&rooms);
        },
    );
    s.on(
        "message",
        async |s: SocketRef, ack: AckSender, chat: State<Chat>, Data::<String>(text)| {
            say(s, text, ack, chat, false).await
        },
    );
    s.on(
        "act",
        async |s: SocketRef, ack: AckSender, chat: State<Chat>, Data::<String>(text)| {
            say(s, text, ack, chat, true).await
        },
    );
    s.on("msg", on_msg);
    s.on(
        "message-with-ack",
        async |ack: AckSender, Data::<Value>(data)| {
            let _ = ack.send(&data);
        },
    );
    s.on_disconnect(async |s: SocketRef, chat: State<Chat>| {
        leave_room(&s, &chat).await;
        chat.nicks
            .lock()
            .unwrap()
            .remove(&nick_of(&s).to_ascii_lowercase());
    });
    enter_room(&s, &chat, LOBBY).await;
}

async fn say(s: SocketRef, text: String, ack: AckSender, chat: State<Chat>, action: bool) {
    if text.is_empty() {
        return;
    }
    if text.len() > MAX_LINE {
        let error = format!("line too long (over {MAX_LINE} bytes), not sent");
        let _ = ack.send(&json!({ "error": error }));
        return;
    }
    let key = room_of(&s);
    let room = chat.room_name(&key);
    let from = nick_of(&s);
    let message = Message {
        room: &room,
        from: &from,
        text: &text,
        action,
    };
    let _ = s.to(key).emit("message", &message).await;
}

async fn on_nick(s: SocketRef, ack: AckSender, chat: State<Chat>, TryData(name): TryData<String>) {
    let Ok(name) = name else {
        let _ = ack.send(&json!({ "error": "usage: nick NAME" }));
        return;
    };
    let from = nick_of(&s);
    let refusal = if !valid_name(&name) {
        Some(invalid(&name))
    } else if reserved(&name) {
        Some(json!({ "error": format!("nickname {name} is reserved") }))
    } else {
        let mut nicks = chat.nicks.lock().unwrap();
        match nicks.get(&name.to_ascii_lowercase()) {
            Some(&holder) if holder == s.id && from == name => {
                Some(json!({ "error": format!("you are already {name}") }))
            }
            Some(&holder) if holder != s.id => {
                Some(json!({ "error": format!("nickname {name} is taken") }))
            }
            _ => {
                nicks.remove(&from.to_ascii_lowercase());
                nicks.insert(name.to_ascii_lowercase(), s.id);
                None
            }
        }
    };
    let reply = match refusal {
        Some(refusal) => refusal,
        None => {
            s.extensions.insert(Nick(name.clone()));
            let renamed = json!({ "from": from, "to": name });
            let _ = s.to(room_of(&s)).emit("renamed", &renamed).await;
            json!({ "ok": true })
        }
    };
    let _ = ack.send(&reply);
}

async fn on_join(s: SocketRef, ack: AckSender, chat: State<Chat>, TryData(name): TryData<String>) {
    let Ok(name) = name else {
        let _ = ack.send(&json!({ "error": "usage: join ROOM" }));
        return;
    };
    if !valid_name(&name) {
        let _ = ack.send(&invalid(&name));
        return;
    }
    let key = name.to_ascii_lowercase();
    if key == room_of(&s) {
        let room = chat.room_name(&key);
        let _ = ack.send(&json!({ "error": format!("you are already in {room}") }));
        return;
    }
    leave_room(&s, &chat).await;
    enter_room(&s, &chat, &name).await;
    let room = chat.room_name(&key);
    let _ = ack.send(&json!({ "room": room, "members": members(&s, &key) }));
}

async fn on_msg(
    s: SocketRef,
    io: SocketIo,
    ack: AckSender,
    chat: State<Chat>,
    TryData(args): TryData<(String, String)>,
) {
    let (to, text) = match args {
        Ok((to, text)) if !text.is_empty() && text.len() <= MAX_LINE => (to, text),
        _ => {
            let _ = ack.send(&json!({ "error": "usage: msg NICK TEXT" }));
            return;
        }
    };
    let target = chat
        .nicks
        .lock()
        .unwrap()
        .get(&to.to_ascii_lowercase())
        .copied();
    let notice = |text: String| {
        let _ = s.emit("notice", &json!({ "text": text }));
    };
    match target {
        None => notice(format!("no such nickname: {to}")),
        Some(id) if id == s.id => notice("that is you: /msg sends to someone else".into()),
        Some(id) => {
            if let Some(target) = io.get_socket(id) {
                let _ = target.emit("private", &json!({ "from": nick_of(&s), "text": text }));
            }
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::args().nth(1) {
        Some(p) => p.parse()?,
        None => 0,
    };
    let (layer, io) = SocketIo::builder()
        .with_state(Chat::default())
        .build_layer();
    io.ns("/", on_connect);
    let app = axum::Router::new().layer(layer);

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening socketio/tcp {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    axum::serve(listener, app).await?;
    Ok(())
}
