//! The comparison's tables: per group of servers, the median over the rounds of each cell with
//! its spread (min–max), and ratios of medians; then p99 latency, or threads and RSS for the
//! idle runs.

use super::plan::{Den, Group, Run};
use super::runner::Row;
use std::collections::HashMap;
use std::fmt::Write as _;

/// Every round's outcome of (run index, target), in round order. An `Err` starting with
/// [`ABSENT`] means the target could not run at all (e.g. Node not installed).
pub type Results = HashMap<(usize, &'static str), Vec<Result<Row, String>>>;

/// The prefix of an outcome for a target that is not available.
pub const ABSENT: &str = "n/a: ";

pub use threadsock::client::bench::progress::human;

/// The median, min and max of some figures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stat {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// `None` for no figures; the median of an even count is the mean of the middle two.
pub fn stat(mut v: Vec<f64>) -> Option<Stat> {
    v.retain(|x| x.is_finite());
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = match n {
        0 => return None,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    };
    Some(Stat {
        median,
        min: v[0],
        max: v[n - 1],
    })
}

/// The successful rows of a cell.
fn rows<'a>(results: &'a Results, i: usize, target: &'static str) -> Vec<&'a Row> {
    results
        .get(&(i, target))
        .map(|v| v.iter().filter_map(|r| r.as_ref().ok()).collect())
        .unwrap_or_default()
}

/// The statistics of `f` over a cell's successful rounds.
pub fn cell_stat(
    results: &Results,
    i: usize,
    target: &'static str,
    f: impl Fn(&Row) -> Option<f64>,
) -> Option<Stat> {
    stat(rows(results, i, target).into_iter().filter_map(f).collect())
}

/// `median (min–max)` of `f`, the errors summed over rounds, and failed rounds.
fn cell(
    results: &Results,
    i: usize,
    target: &'static str,
    f: &dyn Fn(&Row) -> Option<f64>,
) -> String {
    let Some(outcomes) = results.get(&(i, target)) else {
        return "–".into();
    };
    let failures: Vec<&String> = outcomes.iter().filter_map(|r| r.as_ref().err()).collect();
    if let Some(why) = failures.first().and_then(|w| w.strip_prefix(ABSENT)) {
        return format!("n/a ({why})");
    }
    let mut s = match cell_stat(results, i, target, f) {
        None if !failures.is_empty() => {
            let why: String = failures[0].chars().take(60).collect();
            return format!("failed: {}", why.replace(['|', '\n'], " "));
        }
        None => "?".into(),
        Some(st) if st.min == st.max => human(st.median),
        Some(st) => format!("{} ({}–{})", human(st.median), human(st.min), human(st.max)),
    };
    let errors: u64 = rows(results, i, target).iter().map(|r| r.errors).sum();
    if errors > 0 {
        let _ = write!(s, " ({errors} err)");
    }
    if !failures.is_empty() {
        let _ = write!(s, " ({} of {} failed)", failures.len(), outcomes.len());
    }
    s
}

/// A ratio of medians, and for [`Den::Faster`] the target that was faster.
fn ratio(
    results: &Results,
    i: usize,
    run: &Run,
    num: &'static str,
    den: Den,
) -> (String, Option<&'static str>) {
    let median = |t: &'static str| cell_stat(results, i, t, |r| r.value(run)).map(|s| s.median);
    let (den_value, faster) = match den {
        Den::Target(t) => (median(t), None),
        Den::Faster(ts) => {
            let best = ts
                .iter()
                .filter_map(|&t| median(t).map(|m| (t, m)))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            (best.map(|b| b.1), best.map(|b| b.0))
        }
    };
    match (median(num), den_value) {
        (Some(x), Some(y)) if y > 0.0 => (format!("{:.2}", x / y), faster),
        _ => ("–".into(), faster),
    }
}

/// One group's two tables, for the runs of that group; `targets` are the ones that ran.
pub fn group_tables(
    group: Group,
    runs: &[Run],
    results: &Results,
    targets: &[&'static str],
) -> String {
    let ratios = group.ratios();
    let has_faster = ratios.iter().any(|r| matches!(r.den, Den::Faster(_)));
    let mut s = format!("### {}\n\n| scenario | metric |", group.title());
    for t in targets {
        let _ = write!(s, " {t} |");
    }
    for r in ratios {
        let _ = write!(s, " {} |", r.header);
    }
    if has_faster {
        s.push_str(" faster node |");
    }
    s.push_str("\n| --- | --- |");
    let columns = targets.len() + ratios.len() + usize::from(has_faster);
    s.push_str(&" ---: |".repeat(columns));
    s.push('\n');
    let mine: Vec<(usize, &Run)> = runs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.group == group)
        .collect();
    for &(i, run) in &mine {
        let _ = write!(s, "| {} | {} |", run.label(), run.metric());
        for &t in targets {
            let _ = write!(s, " {} |", cell(results, i, t, &|r| r.value(run)));
        }
        let mut faster = None;
        for r in ratios {
            let (text, f) = ratio(results, i, run, r.num, r.den);
            faster = faster.or(f);
            let _ = write!(s, " {text} |");
        }
        if has_faster {
            let _ = write!(s, " {} |", faster.unwrap_or("–"));
        }
        s.push('\n');
    }
    s.push_str(
        "\nLatency p99 (µs; for chat runs also the time from the first connect until every receiver \
         had joined and seen the sender's line), or for idle runs server threads and RSS \
         (medians):\n\n| scenario |",
    );
    for t in targets {
        let _ = write!(s, " {t} |");
    }
    s.push_str("\n| --- |");
    s.push_str(&" ---: |".repeat(targets.len()));
    s.push('\n');
    for &(i, run) in &mine {
        let _ = write!(s, "| {} |", run.label());
        for &t in targets {
            let p99 = cell_stat(results, i, t, |r| r.p99_us);
            let text = if run.holds() {
                let threads = cell_stat(results, i, t, |r| r.threads);
                let rss = cell_stat(results, i, t, |r| r.rss_kb.map(|k| k / 1024.0));
                match (threads, rss) {
                    (Some(th), Some(m)) => format!("{:.0} threads, {:.1} MiB", th.median, m.median),
                    _ => "–".into(),
                }
            } else {
                let joined = cell_stat(results, i, t, |r| r.joined_s);
                match (p99, joined) {
                    (Some(p), Some(j)) => format!("{:.0} (joined in {:.2} s)", p.median, j.median),
                    (Some(p), None) => format!("{:.0}", p.median),
                    _ => "–".into(),
                }
            };
            let _ = write!(s, " {text} |");
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_spreads() {
        assert_eq!(stat(vec![]), None);
        let one = stat(vec![3.0]).unwrap();
        assert_eq!((one.median, one.min, one.max), (3.0, 3.0, 3.0));
        let two = stat(vec![4.0, 2.0]).unwrap();
        assert_eq!((two.median, two.min, two.max), (3.0, 2.0, 4.0));
        let three = stat(vec![9.0, 1.0, 2.0, f64::NAN]).unwrap();
        assert_eq!((three.median, three.min, three.max), (2.0, 1.0, 9.0));
    }
}
