//! The comparison's charts, one SVG file per topic, each point a median over the rounds:
//! echo throughput and p99 against connections, chat fan-out against clients, the Socket.IO
//! scenarios against clients, and server memory per idle connection.

use super::plan::{Group, Run};
use super::report::{cell_stat, Results};
use super::runner::Row;
use super::svg;

/// A panel's series: for each target, the median of `value` at each run of `scenario` in
/// `group`, against the run's connection count.
fn panel(
    (runs, results, targets): (&[Run], &Results, &[&'static str]),
    (group, scenario): (Group, &str),
    (title, y_label): (&str, &str),
    value: &dyn Fn(&Row) -> Option<f64>,
) -> svg::Panel {
    let x_label = runs
        .iter()
        .find(|r| r.group == group && r.scenario == scenario)
        .map_or("connections", Run::x_label);
    let series = group
        .targets()
        .iter()
        .filter(|t| targets.contains(t))
        .map(|&t| svg::Series {
            name: t.to_string(),
            points: runs
                .iter()
                .enumerate()
                .filter(|(_, r)| r.group == group && r.scenario == scenario)
                .filter_map(|(i, r)| {
                    cell_stat(results, i, t, value).map(|s| (r.conns as f64, s.median))
                })
                .collect(),
        })
        .collect();
    svg::Panel {
        title: title.into(),
        x_label: x_label.into(),
        y_label: y_label.into(),
        log_x: true,
        series,
    }
}

/// (file name, SVG text) for each chart that has data.
pub fn charts(
    runs: &[Run],
    results: &Results,
    targets: &[&'static str],
) -> Vec<(&'static str, String)> {
    let d = (runs, results, targets);
    let ops = |r: &Row| Some(r.ops_per_s);
    let per_conn = |r: &Row| r.kib_per_conn;
    let echo = vec![
        panel(
            d,
            (Group::Tcp, "echo"),
            ("Echo ping-pong 64 B: round trips/s", "round trips/s"),
            &ops,
        ),
        panel(
            d,
            (Group::Tcp, "echo"),
            ("Echo ping-pong 64 B: p99 latency", "µs"),
            &|r| r.p99_us,
        ),
    ];
    let chat = vec![panel(
        d,
        (Group::Chat, "chat"),
        ("Chat fan-out: lines delivered/s", "lines/s"),
        &ops,
    )];
    let socketio = vec![
        panel(
            d,
            (Group::SocketIo, "sio-ack"),
            ("Socket.IO emit with ack: acks/s", "acks/s"),
            &ops,
        ),
        panel(
            d,
            (Group::SocketIo, "sio-fanout"),
            ("Socket.IO room fan-out: messages delivered/s", "messages/s"),
            &ops,
        ),
        panel(
            d,
            (Group::SocketIo, "sio-connect"),
            ("Socket.IO sessions opened and closed/s", "sessions/s"),
            &ops,
        ),
    ];
    let idle = vec![
        panel(
            d,
            (Group::Tcp, "idle"),
            ("Idle TCP connections: server RSS per connection", "KiB"),
            &per_conn,
        ),
        panel(
            d,
            (Group::SocketIo, "sio-idle"),
            ("Idle Socket.IO clients: server RSS per client", "KiB"),
            &per_conn,
        ),
    ];
    [
        ("chart-echo.svg", echo),
        ("chart-chat.svg", chat),
        ("chart-socketio.svg", socketio),
        ("chart-idle.svg", idle),
    ]
    .into_iter()
    .filter(|(_, panels)| {
        panels
            .iter()
            .flat_map(|p| &p.series)
            .any(|s| !s.points.is_empty())
    })
    .map(|(name, panels)| (name, svg::render(&panels)))
    .collect()
}
