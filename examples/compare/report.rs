//! The comparison's output: Markdown tables with ratios, and the SVG chart.

use super::svg;
use super::{Env, Row, Run, TARGETS};
use std::collections::HashMap;
use std::fmt::Write as _;

pub fn human(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

pub type Results = HashMap<(usize, &'static str), Result<Row, String>>;

fn cell(results: &Results, i: usize, target: &str, run: &Run) -> String {
    match results.get(&(i, target_key(target))) {
        None => "n/a".into(),
        Some(Err(e)) => format!("failed: {}", e.chars().take(40).collect::<String>()),
        Some(Ok(r)) => {
            let mut s = r.value(run).map_or("?".into(), human);
            if r.errors > 0 {
                let _ = write!(s, " ({} err)", r.errors);
            }
            s
        }
    }
}

fn target_key(t: &str) -> &'static str {
    TARGETS.iter().copied().find(|x| *x == t).unwrap_or("?")
}

fn ratio(results: &Results, i: usize, a: &str, b: &str, run: &Run) -> String {
    let get = |t: &str| match results.get(&(i, target_key(t))) {
        Some(Ok(r)) => r.value(run),
        _ => None,
    };
    match (get(a), get(b)) {
        (Some(x), Some(y)) if y > 0.0 => format!("{:.2}", x / y),
        _ => "–".into(),
    }
}

pub fn tables(runs: &[Run], results: &Results, env: &Env) -> String {
    let mut s = String::from(
        "| scenario | metric | threadsock | tokio | node | threadsock/tokio | threadsock/node |\n\
         | --- | --- | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for (i, run) in runs.iter().enumerate() {
        let node = if env.node {
            cell(results, i, "node", run)
        } else {
            "node not found".into()
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {node} | {} | {} |",
            run.label(),
            run.metric(),
            cell(results, i, "threadsock", run),
            cell(results, i, "tokio", run),
            ratio(results, i, "threadsock", "tokio", run),
            ratio(results, i, "threadsock", "node", run),
        );
    }
    s.push_str("\nLatency p99 (µs) and server threads / RSS:\n\n| scenario | threadsock | tokio | node |\n| --- | ---: | ---: | ---: |\n");
    for (i, run) in runs.iter().enumerate() {
        let c = |t: &str| match results.get(&(i, target_key(t))) {
            Some(Ok(r)) if run.scenario == "idle" => format!(
                "{} threads, {} MiB",
                r.threads.map_or("?".into(), |t| format!("{t:.0}")),
                r.rss_kb
                    .map_or("?".into(), |k| format!("{:.1}", k / 1024.0))
            ),
            Some(Ok(r)) => r.p99_us.map_or("–".into(), |p| format!("{p:.0}")),
            _ => "–".into(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            run.label(),
            c("threadsock"),
            c("tokio"),
            c("node")
        );
    }
    s
}

pub fn chart(runs: &[Run], results: &Results, targets: &[&'static str]) -> String {
    let panel =
        |title: &str, y: &str, scenario: &str, value: &dyn Fn(&Row) -> Option<f64>| svg::Panel {
            title: title.into(),
            x_label: if scenario == "chat" {
                "clients"
            } else {
                "connections"
            }
            .into(),
            y_label: y.into(),
            log_x: true,
            series: targets
                .iter()
                .map(|t| svg::Series {
                    name: (*t).to_string(),
                    points: runs
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| r.scenario == scenario)
                        .filter_map(|(i, r)| match results.get(&(i, *t)) {
                            Some(Ok(row)) => value(row).map(|v| (r.conns as f64, v)),
                            _ => None,
                        })
                        .collect(),
                })
                .collect(),
        };
    svg::render(&[
        panel(
            "Echo ping-pong 64 B: round trips/s",
            "round trips/s",
            "echo",
            &|r| Some(r.ops_per_s),
        ),
        panel("Echo ping-pong 64 B: p99 latency", "µs", "echo", &|r| {
            r.p99_us
        }),
        panel("Idle connections: server RSS", "MiB", "idle", &|r| {
            r.rss_kb.map(|k| k / 1024.0)
        }),
        panel("Chat fan-out: lines delivered/s", "lines/s", "chat", &|r| {
            Some(r.ops_per_s)
        }),
    ])
}
