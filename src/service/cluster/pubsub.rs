//! What a subscribed connection receives, read from a [`Reply`]: messages, pattern messages,
//! subscription confirmations and PING answers ([`PubSub`]).

use crate::codec::resp::Reply;

/// The kind of a subscription confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubKind {
    /// `subscribe`: a channel was added.
    Subscribe,
    /// `psubscribe`: a pattern was added.
    PSubscribe,
    /// `unsubscribe`: a channel was removed.
    Unsubscribe,
    /// `punsubscribe`: a pattern was removed.
    PUnsubscribe,
}

/// One push (or reply) on a subscribed connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PubSub {
    /// `message`: `payload` published on a subscribed `channel`.
    Message {
        /// The channel it was published on.
        channel: Vec<u8>,
        /// What was published.
        payload: Vec<u8>,
    },
    /// `pmessage`: `payload` published on `channel`, which matched a subscribed `pattern`.
    PMessage {
        /// The pattern subscribed to.
        pattern: Vec<u8>,
        /// The channel it was published on.
        channel: Vec<u8>,
        /// What was published.
        payload: Vec<u8>,
    },
    /// A confirmation of (un)subscribing `channel` (empty when Redis sends null), after which
    /// the connection has `count` subscriptions.
    Subscribed {
        /// What was done.
        kind: SubKind,
        /// The channel or pattern.
        channel: Vec<u8>,
        /// Channels and patterns subscribed now.
        count: i64,
    },
    /// The answer to PING: `["pong", ""]` in subscribe mode, `+PONG` outside it.
    Pong,
    /// Anything else, as it came (error replies included).
    Other(Reply),
}

impl PubSub {
    /// Reads `reply` as a push; what matches no known shape is [`PubSub::Other`].
    pub fn from_reply(reply: Reply) -> PubSub {
        let items = match reply {
            Reply::Array(Some(items)) => items,
            Reply::Simple(s) if s.eq_ignore_ascii_case("PONG") => return PubSub::Pong,
            other => return PubSub::Other(other),
        };
        let is_bulk = |r: &Reply| matches!(r, Reply::Bulk(Some(_)));
        let kind = items.first().and_then(Reply::as_bytes).unwrap_or_default();
        let shape = match kind {
            b"message" if items.len() == 3 && items[1..].iter().all(is_bulk) => Shape::Message,
            b"pmessage" if items.len() == 4 && items[1..].iter().all(is_bulk) => Shape::PMessage,
            b"pong" if items.len() <= 2 => Shape::Pong,
            b"subscribe" | b"psubscribe" | b"unsubscribe" | b"punsubscribe"
                if items.len() == 3
                    && matches!(items[1], Reply::Bulk(_))
                    && matches!(items[2], Reply::Integer(_)) =>
            {
                Shape::Subscribed(match kind {
                    b"subscribe" => SubKind::Subscribe,
                    b"psubscribe" => SubKind::PSubscribe,
                    b"unsubscribe" => SubKind::Unsubscribe,
                    _ => SubKind::PUnsubscribe,
                })
            }
            _ => return PubSub::Other(Reply::Array(Some(items))),
        };
        let mut rest = items.into_iter().skip(1);
        match shape {
            Shape::Message => PubSub::Message {
                channel: next_bytes(&mut rest),
                payload: next_bytes(&mut rest),
            },
            Shape::PMessage => PubSub::PMessage {
                pattern: next_bytes(&mut rest),
                channel: next_bytes(&mut rest),
                payload: next_bytes(&mut rest),
            },
            Shape::Pong => PubSub::Pong,
            Shape::Subscribed(kind) => PubSub::Subscribed {
                kind,
                channel: next_bytes(&mut rest),
                count: match rest.next() {
                    Some(Reply::Integer(n)) => n,
                    _ => 0,
                },
            },
        }
    }
}

/// The bytes of the next bulk string (empty for anything else: the shape was checked).
fn next_bytes(items: &mut impl Iterator<Item = Reply>) -> Vec<u8> {
    match items.next() {
        Some(Reply::Bulk(Some(b))) => b,
        _ => Vec::new(),
    }
}

/// The shape of a push, checked before its parts are moved out.
enum Shape {
    Message,
    PMessage,
    Pong,
    Subscribed(SubKind),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Reply {
        Reply::bulk(s.as_bytes())
    }

    fn arr(items: Vec<Reply>) -> Reply {
        Reply::Array(Some(items))
    }

    #[test]
    fn shapes() {
        assert_eq!(
            PubSub::from_reply(arr(vec![b("message"), b("ch"), b("hi")])),
            PubSub::Message {
                channel: b"ch".to_vec(),
                payload: b"hi".to_vec()
            }
        );
        assert_eq!(
            PubSub::from_reply(arr(vec![b("pmessage"), b("c*"), b("ch"), b("hi")])),
            PubSub::PMessage {
                pattern: b"c*".to_vec(),
                channel: b"ch".to_vec(),
                payload: b"hi".to_vec()
            }
        );
        assert_eq!(
            PubSub::from_reply(arr(vec![b("psubscribe"), b("c*"), Reply::Integer(2)])),
            PubSub::Subscribed {
                kind: SubKind::PSubscribe,
                channel: b"c*".to_vec(),
                count: 2
            }
        );
        assert_eq!(
            PubSub::from_reply(arr(vec![
                b("unsubscribe"),
                Reply::Bulk(None),
                Reply::Integer(0)
            ])),
            PubSub::Subscribed {
                kind: SubKind::Unsubscribe,
                channel: Vec::new(),
                count: 0
            }
        );
        assert_eq!(
            PubSub::from_reply(arr(vec![b("pong"), b("")])),
            PubSub::Pong
        );
        assert_eq!(
            PubSub::from_reply(Reply::Simple("PONG".into())),
            PubSub::Pong
        );
    }

    #[test]
    fn anything_else_is_kept_as_it_came() {
        for reply in [
            Reply::Error("ERR oops".into()),
            Reply::Integer(3),
            Reply::Array(None),
            arr(vec![]),
            arr(vec![b("message"), b("ch")]),
            arr(vec![b("message"), b("ch"), Reply::Integer(1)]),
            arr(vec![b("subscribe"), b("ch"), b("1")]),
            arr(vec![b("smessage"), b("ch"), b("hi")]),
            arr(vec![Reply::Integer(1), b("ch"), b("hi")]),
        ] {
            assert_eq!(PubSub::from_reply(reply.clone()), PubSub::Other(reply));
        }
    }
}
