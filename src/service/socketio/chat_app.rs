//! The default Socket.IO app: the seed's chat, on the same rooms as the `nc` chat. Each
//! socket of namespace `/` is a chat [`Member`]; its deliveries are rendered as Socket.IO
//! events straight into the client's outbox, once per broadcast for every Socket.IO member.
//!
//! Client to server: `nick` (name; ack `{"ok":true}` or `{"error":..}`), `join` (room; ack
//! `{"room":..,"members":[..]}` or `{"error":..}`), `message` (text), `msg` (nick, text),
//! `act` (text, for `/me`), `who` (ack: the nicks), `rooms` (ack: `[{"name":..,"members":N}]`),
//! `binary` (bytes, or text taken as bytes).
//! Server to client:
//! `message` `{"room","from","text"}`, `private` `{"from","text"}`, `joined`/`left`
//! `{"room","nick"}`, `renamed` `{"from","to"}`, `notice` `{"text"}`, `binary`
//! `{"room","from","data"}` (data as a binary attachment). The auth payload may
//! carry `{"nick":..}`.

use super::namespace::socket::{Ack, Args};
use super::SocketIo;
use crate::codec::json::Value;
use crate::codec::socketio;
use crate::service::chat::{
    text, Chat, Delivery, Departure, Member, Packet, Question, Remote, Render, Reply,
};
use std::sync::{Arc, Mutex};

/// Renders chat deliveries as Socket.IO events of namespace `/`, as Engine.IO packets.
#[derive(Debug, Clone, Copy, Default)]
pub struct SioRender;

impl Render for SioRender {
    /// The event's text packet (a delivery with bytes needs [`Render::render_into`]).
    fn render(&self, d: &Delivery<'_>) -> Packet {
        let mut out = Vec::with_capacity(1);
        self.render_into(d, &mut out);
        out.swap_remove(0)
    }

    /// The event's packets: its text, then its binary attachment if it carries bytes.
    fn render_into(&self, d: &Delivery<'_>, out: &mut Vec<Packet>) {
        let (event, payload) = event_of(d);
        let packet = socketio::event("/", event, vec![payload], None);
        out.extend(super::namespace::socket::encode(&packet));
    }

    /// Another node's Socket.IO packets, already Engine.IO packets of namespace `/`.
    fn foreign(&self, packets: &[Packet]) -> Vec<Packet> {
        packets.to_vec()
    }
}

/// The Socket.IO event (name and its one argument) the chat app sends for `d`.
pub fn event_of(d: &Delivery<'_>) -> (&'static str, Value) {
    match *d {
        Delivery::Message {
            room, from, text, ..
        } => (
            "message",
            obj(&[("room", room), ("from", from), ("text", text)]),
        ),
        Delivery::Action { room, from, text } => {
            let mut v = obj(&[("room", room), ("from", from), ("text", text)]);
            if let Value::Object(members) = &mut v {
                members.push(("action".into(), Value::Bool(true)));
            }
            ("message", v)
        }
        Delivery::Private { from, text } => ("private", obj(&[("from", from), ("text", text)])),
        Delivery::Binary { room, from, data } => (
            "binary",
            Value::object([
                ("room", Value::from(room)),
                ("from", Value::from(from)),
                ("data", Value::Binary(data.to_vec())),
            ]),
        ),
        Delivery::Joined { room, nick } => ("joined", obj(&[("room", room), ("nick", nick)])),
        Delivery::Left { room, nick, why } => {
            let mut v = obj(&[("room", room), ("nick", nick)]);
            if why == Departure::TooSlow {
                if let Value::Object(members) = &mut v {
                    members.push(("reason".into(), Value::from("too slow")));
                }
            }
            ("left", v)
        }
        Delivery::Renamed { from, to, .. } => ("renamed", obj(&[("from", from), ("to", to)])),
        // Everything else is a notice, in the same words `nc` users read.
        _ => {
            let mut line = String::new();
            text::encode(d, &mut line);
            let words = line.trim_end().get(2..).unwrap_or("").to_string();
            ("notice", obj(&[("text", &words)]))
        }
    }
}

/// What another node's chat event (`event` with its arguments) is to the chat here: a
/// message, an action or a presence notice; `None` for any other event (it travels as it is,
/// see [`Remote::Foreign`]).
pub fn remote_of(event: &str, args: &[Value]) -> Option<Remote> {
    let p = args.first()?;
    let field = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_string);
    Some(match event {
        "message" => {
            let (room, from, text) = (field("room")?, field("from")?, field("text")?);
            if p.get("action") == Some(&Value::Bool(true)) {
                Remote::Action { room, from, text }
            } else {
                Remote::Message { room, from, text }
            }
        }
        "binary" => Remote::Binary {
            room: field("room")?,
            from: field("from")?,
            data: match p.get("data")? {
                Value::Binary(b) => b.clone(),
                _ => return None,
            },
        },
        "joined" => Remote::Joined {
            room: field("room")?,
            nick: field("nick")?,
        },
        "left" => Remote::Left {
            room: field("room")?,
            nick: field("nick")?,
        },
        "renamed" => Remote::Renamed {
            from: field("from")?,
            to: field("to")?,
        },
        _ => return None,
    })
}

fn obj(pairs: &[(&str, &str)]) -> Value {
    Value::object(pairs.iter().map(|(k, v)| (*k, Value::from(*v))))
}

/// Serves the chat on `io`'s namespace `/`.
pub fn install(io: &SocketIo, chat: Arc<Chat>) {
    let render: Arc<dyn Render> = Arc::new(SioRender);
    io.of("/").on_connect(move |socket, auth| {
        // The member joins once the CONNECT answer is out, so its welcome comes after it.
        let member = Arc::new(Mutex::new(None::<Member>));
        let (chat_j, render_j, member_j) =
            (Arc::clone(&chat), Arc::clone(&render), Arc::clone(&member));
        let nick = auth.get("nick").and_then(Value::as_str).map(str::to_string);
        socket.after_connect(move |socket| {
            let Ok(m) = chat_j.join_outbox(render_j, socket.session().outbox_sender()) else {
                socket.disconnect();
                return;
            };
            if let Some(nick) = nick {
                let _ = m.nick(nick);
            }
            *member_j.lock().unwrap_or_else(|e| e.into_inner()) = Some(m);
        });
        let max_line = chat.max_line();
        let on = |event: &str, f: fn(&Member, Args, Option<Ack>, usize)| {
            let member = Arc::clone(&member);
            socket.on(event, move |_, args, ack| {
                if let Some(m) = member.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                    f(m, args, ack, max_line);
                }
            });
        };
        on("nick", |m, args, ack, _| match first_str(&args) {
            Some(name) => answer(ack, m.ask(Question::Nick(name))),
            None => refuse(ack, "usage: nick NAME"),
        });
        on("join", |m, args, ack, _| match first_str(&args) {
            Some(room) => answer(ack, m.ask(Question::Join(room))),
            None => refuse(ack, "usage: join ROOM"),
        });
        on("who", |m, _, ack, _| answer(ack, m.ask(Question::Who)));
        on("rooms", |m, _, ack, _| answer(ack, m.ask(Question::Rooms)));
        on("message", |m, args, ack, max| match first_str(&args) {
            Some(t) if t.len() > max => {
                refuse(ack, &format!("line too long (over {max} bytes), not sent"))
            }
            Some(t) if !t.is_empty() => {
                let _ = m.say(text::decode(t.as_bytes()));
            }
            _ => {}
        });
        on("act", |m, args, ack, max| match first_str(&args) {
            Some(t) if t.len() > max => {
                refuse(ack, &format!("line too long (over {max} bytes), not sent"))
            }
            Some(t) if !t.is_empty() => {
                let _ = m.act(text::decode(t.as_bytes()));
            }
            _ => {}
        });
        on("binary", |m, args, _, _| match args.first() {
            Some(Value::Binary(b)) => {
                let _ = m.binary(b.clone());
            }
            Some(Value::String(s)) if !s.is_empty() => {
                let _ = m.binary(s.as_bytes().to_vec());
            }
            _ => {}
        });
        on("msg", |m, args, ack, max| {
            match (first_str(&args), args.get(1).and_then(Value::as_str)) {
                (Some(to), Some(t)) if t.len() <= max && !t.is_empty() => {
                    let _ = m.whisper(to, text::decode(t.as_bytes()));
                }
                _ => refuse(ack, "usage: msg NICK TEXT"),
            }
        });
        let member = Arc::clone(&member);
        socket.on_disconnect(move |_, _| {
            // Dropping the member leaves the chat.
            member.lock().unwrap_or_else(|e| e.into_inner()).take();
        });
        Ok(())
    });
}

fn first_str(args: &Args) -> Option<String> {
    args.first().and_then(Value::as_str).map(str::to_string)
}

fn refuse(ack: Option<Ack>, why: &str) {
    if let Some(ack) = ack {
        ack.send(vec![Value::object([("error", Value::from(why))])]);
    }
}

/// Acknowledges with the hub's answer.
fn answer(ack: Option<Ack>, reply: Result<Reply, crate::service::chat::ChatClosed>) {
    let Some(ack) = ack else {
        return;
    };
    let value = match reply {
        Ok(Reply::Done) => Value::object([("ok", Value::Bool(true))]),
        Ok(Reply::Refused(why)) => Value::object([("error", Value::from(why))]),
        Ok(Reply::Joined { room, members }) => Value::object([
            ("room", Value::from(room)),
            ("members", Value::array(members)),
        ]),
        Ok(Reply::Who { nicks, .. }) => Value::array(nicks),
        Ok(Reply::Rooms(rooms)) => Value::array(rooms.into_iter().map(|(name, n)| {
            Value::object([("name", Value::from(name)), ("members", Value::from(n))])
        })),
        Err(_) => Value::object([("error", Value::from("the chat has stopped"))]),
    };
    ack.send(vec![value]);
}

/// Another node's event (`data`: its name and arguments, binary inline) as the Engine.IO
/// packets a Socket.IO client here gets: one text packet, then any attachments.
pub fn packets_of(data: &Value) -> Vec<Packet> {
    let mut packet = socketio::event("/", "", Vec::new(), None);
    packet.data = Some(data.clone());
    super::namespace::socket::encode(&packet)
}
