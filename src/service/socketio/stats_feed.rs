//! The namespace `/server`: once a second, the figures of `--stats` (threads, connections per
//! service, chat members and rooms, Socket.IO sessions per transport, RSS, lines per second)
//! as one `stats` event to everyone connected there. Read-only: clients may connect, and what
//! they send is ignored.

use super::Namespace;
use crate::codec::json::Value;
use crate::server::{figures, ProcessFigures, Sampler};
use crossbeam_channel::{RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Time between two `stats` events.
const PERIOD: Duration = Duration::from_secs(1);

/// Starts the feed on `ns` from `sampler`; it ends when the returned sender is dropped.
pub fn start(sampler: Sampler, ns: Namespace) -> std::io::Result<Sender<()>> {
    ns.on_connect(|_, _| Ok(()));
    let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
    thread::Builder::new()
        .name("sio-stats".into())
        .stack_size(128 * 1024)
        .spawn(move || {
            let mut before = sampler.sample();
            loop {
                match stopped.recv_timeout(PERIOD) {
                    Err(RecvTimeoutError::Timeout) => {}
                    _ => return,
                }
                let now = sampler.sample();
                if !ns.sockets().is_empty() {
                    ns.emit(
                        "stats",
                        vec![event(&figures(&before, &now, ProcessFigures::read()))],
                    );
                }
                before = now;
            }
        })?;
    Ok(stop)
}

/// `{"t": <ms since the epoch>, "<figure>": <value>, ...}`.
fn event(figures: &[(String, u64)]) -> Value {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut members = vec![("t".to_string(), Value::from(t))];
    members.extend(figures.iter().map(|(k, v)| (k.clone(), Value::from(*v))));
    Value::Object(members)
}
