//! Against real messages of `@socket.io/redis-adapter` 8.3.0 (tests/redis_adapter/captures.txt,
//! recorded from Node.js nodes): every one decodes, and every broadcast we would write for the
//! same values is the same bytes.

use super::*;
use crate::codec::json::Value as Json;

const CAPTURES: &str = include_str!("../../../tests/redis_adapter/captures.txt");

/// (name, channel, payload) of every capture.
fn captures() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    CAPTURES
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.split_whitespace();
            let (name, channel, hex) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap_or(""),
            );
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            (name, channel, bytes)
        })
        .collect()
}

#[test]
fn every_captured_broadcast_decodes_and_encodes_back_to_the_same_bytes() {
    let mut seen = 0;
    for (name, channel, bytes) in captures() {
        if !channel.starts_with("socket.io#") {
            continue;
        }
        let b = decode_broadcast(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(b.channel(), channel, "{name}");
        assert_eq!(b.nsp, "/");
        assert_eq!(b.uid.len(), 6, "{name}");
        if name != "flags" {
            // We always write empty flags.
            assert_eq!(encode_broadcast(&b), bytes, "{name}");
        }
        seen += 1;
    }
    assert!(seen >= 15, "{seen}");
}

#[test]
fn a_binary_broadcast_keeps_its_bytes_inline() {
    let (_, _, bytes) = captures()
        .into_iter()
        .find(|(n, _, _)| *n == "room_binary")
        .unwrap();
    let b = decode_broadcast(&bytes).unwrap();
    assert_eq!(b.event(), Some("binary"));
    assert_eq!(
        b.args()[0].get("data"),
        Some(&Json::Binary(vec![0x00, 0x01, 0xff]))
    );
    assert_eq!(b.rooms, ["lobby"]);
    assert_eq!(b.except, ["BNnrVNnb1IU9CqcwAAAA"]);
}

#[test]
fn a_chat_message_broadcast_is_what_the_node_app_writes() {
    let b = Broadcast {
        uid: "kQ0kwV".into(),
        nsp: "/".into(),
        data: Json::array([
            Json::from("message"),
            Json::object([
                ("room", Json::from("games")),
                ("from", Json::from("alice")),
                ("text", Json::from("hello bob")),
            ]),
        ]),
        rooms: vec!["games".into()],
        except: vec!["JIeguUcT0dP_TY0DAAAA".into()],
    };
    let (_, channel, bytes) = captures()
        .into_iter()
        .find(|(n, _, _)| *n == "chat_message")
        .unwrap();
    assert_eq!(b.channel(), channel);
    assert_eq!(encode_broadcast(&b), bytes);
}

#[test]
fn requests_of_every_kind_are_told_apart() {
    for (name, channel, bytes) in captures() {
        if channel != "socket.io-request#/#" {
            continue;
        }
        let r = decode_request(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        match name {
            "all_rooms" | "chat_all_rooms" => {
                assert!(matches!(r, AdapterRequest::AllRooms { .. }), "{name}")
            }
            "fetch_sockets" => assert_eq!(
                r,
                AdapterRequest::Fetch {
                    uid: "PO62g0".into(),
                    request_id: "S3FEjX".into(),
                    rooms: vec!["lobby".into()],
                    except: vec![],
                }
            ),
            "chat_fetch_sockets" => assert!(matches!(r, AdapterRequest::Fetch { .. }), "{name}"),
            "broadcast_ack" => {
                let AdapterRequest::BroadcastWithAck {
                    request_id,
                    broadcast,
                } = r
                else {
                    panic!("{r:?}")
                };
                assert_eq!(request_id, "odZaul");
                assert_eq!(broadcast.event(), Some("ping?"));
                assert_eq!(broadcast.args()[0].to_json(), "1.5");
            }
            _ => assert!(matches!(r, AdapterRequest::Other { .. }), "{name}: {r:?}"),
        }
    }
}

#[test]
fn responses_are_read_and_ours_have_the_fields_node_reads() {
    for (name, channel, bytes) in captures() {
        if channel != "socket.io-response#/#" {
            continue;
        }
        let r = decode_response(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        if name == "fetch_sockets" {
            let AdapterResponse::Sockets { sockets, .. } = &r else {
                panic!("{r:?}")
            };
            assert_eq!(sockets[0].id, "7j5hY4KGtY7J4xcMAAAB");
            assert_eq!(sockets[0].rooms, ["7j5hY4KGtY7J4xcMAAAB", "lobby"]);
        }
        if name == "all_rooms" {
            assert!(matches!(r, AdapterResponse::Rooms { ref rooms, .. } if rooms.len() == 4));
        }
    }
    let socket = RemoteSocket {
        id: "ts-1".into(),
        rooms: vec!["ts-1".into(), "lobby".into()],
        data: Json::object([("nick", Json::from("ann")), ("room", Json::from("Lobby"))]),
    };
    let ours = encode_fetch_response("abc123", std::slice::from_ref(&socket));
    assert_eq!(
        decode_response(&ours).unwrap(),
        AdapterResponse::Sockets {
            request_id: "abc123".into(),
            sockets: vec![socket],
        }
    );
    let rooms = encode_rooms_response("r1", &["lobby".into()]);
    assert_eq!(
        String::from_utf8(rooms).unwrap(),
        r#"{"requestId":"r1","rooms":["lobby"]}"#
    );
    let ask = encode_fetch_request("u", "r", &["lobby".into()]);
    assert!(
        matches!(decode_request(&ask).unwrap(), AdapterRequest::Fetch { rooms, .. } if rooms == ["lobby"])
    );
    let count = encode_client_count("odZaul", 0);
    assert_eq!(
        String::from_utf8(count).unwrap(),
        r#"{"type":8,"requestId":"odZaul","clientCount":0}"#
    );
}

#[test]
fn numbers_cross_as_javascript_numbers() {
    let n = |t: &str| to_msgpack(&crate::codec::json::parse(t.as_bytes()).unwrap());
    assert_eq!(n("3"), Pack::Int(3));
    assert_eq!(n("3.0"), Pack::Int(3));
    assert_eq!(n("-1e3"), Pack::Int(-1000));
    assert_eq!(n("1.5"), Pack::Float(1.5));
    assert_eq!(from_msgpack(&Pack::Float(1.5)).unwrap().to_json(), "1.5");
    assert_eq!(
        from_msgpack(&Pack::Float(1e300)).unwrap().to_json(),
        "1e300"
    );
    assert_eq!(from_msgpack(&Pack::Float(f64::NAN)).unwrap(), Json::Null);
    assert!(from_msgpack(&Pack::Ext(-1, vec![0; 4])).is_err());
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    for bad in [
        &b""[..],
        b"\x93",
        b"\x93\xa1a",
        b"\xc1",
        b"{not json",
        b"\x92\xa1a\x80",
        b"\x93\xa1a\x83\xa4type\x03\xa4data\x90\xa3nsp\xa1/\x80",
    ] {
        assert!(decode_broadcast(bad).is_err(), "{bad:?}");
        let _ = decode_request(bad);
        let _ = decode_response(bad);
    }
}
