//! A small line-chart renderer that writes standalone SVG 1.1 text (std only).
//!
//! [`render`] stacks [`Panel`]s vertically in one document. Each panel has a title, axes,
//! grid lines, tick labels, one polyline with point markers per [`Series`], and a legend.
//! Colours come from the Okabe–Ito colour-blind-friendly palette and are assigned by series
//! name in first-seen order across all panels, so a series has the same colour everywhere.
//! The y axis runs from 0 to a "nice" maximum; the x axis is linear from 0 or logarithmic.

use std::fmt::Write;

/// Width of the document and of each panel, in px.
const PANEL_W: f64 = 640.0;
/// Height of each panel, in px.
const PANEL_H: f64 = 300.0;
/// Left edge of the plot area; room for the y tick labels and the y axis label.
const PLOT_L: f64 = 70.0;
/// Right edge of the plot area; the legend sits to its right.
const PLOT_R: f64 = 500.0;
/// Top edge of the plot area, below the title.
const PLOT_T: f64 = 36.0;
/// Bottom edge of the plot area, above the x tick labels and the x axis label.
const PLOT_B: f64 = 250.0;
/// Okabe–Ito colours, assigned in order to series names and then reused cyclically.
const PALETTE: [&str; 7] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
];

/// One line on a chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label, e.g. "threadsock".
    pub name: String,
    /// (x, y) points in any order. Points with a non-finite or negative coordinate, or with
    /// x <= 0 on a logarithmic axis, are not plotted.
    pub points: Vec<(f64, f64)>,
}

/// One chart panel.
#[derive(Debug, Clone)]
pub struct Panel {
    /// Heading above the plot.
    pub title: String,
    /// Caption under the x axis.
    pub x_label: String,
    /// Caption beside the y axis.
    pub y_label: String,
    /// Whether the x axis is logarithmic (ticks at the data's x values).
    pub log_x: bool,
    /// The lines to draw.
    pub series: Vec<Series>,
}

/// Renders `panels` stacked vertically, each 640x300 px, into one standalone SVG document.
pub fn render(panels: &[Panel]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for s in panels.iter().flat_map(|p| &p.series) {
        if !names.contains(&s.name.as_str()) {
            names.push(&s.name);
        }
    }
    let h = PANEL_H * panels.len() as f64;
    // Writing to a String cannot fail, so the `fmt::Result`s below are ignored.
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{PANEL_W}" height="{h}" viewBox="0 0 {PANEL_W} {h}" font-family="sans-serif" font-size="11">"#
    );
    out.push_str("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    for (i, panel) in panels.iter().enumerate() {
        let _ = writeln!(
            out,
            r#"<g transform="translate(0,{})">"#,
            PANEL_H * i as f64
        );
        render_panel(&mut out, panel, &names);
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
    out
}

/// Maps data values on one axis to pixel positions.
struct Axis {
    /// Data values at the two ends of the axis (lo < hi; both > 0 when `log`).
    range: (f64, f64),
    /// Pixel positions of `range.0` and `range.1`.
    px: (f64, f64),
    /// Whether positions are proportional to ln(value).
    log: bool,
}

impl Axis {
    /// An axis showing data `range` at pixels `px`.
    fn new(range: (f64, f64), px: (f64, f64), log: bool) -> Self {
        Axis { range, px, log }
    }

    /// The pixel position of data value `v`.
    fn map(&self, v: f64) -> f64 {
        let f = |v: f64| if self.log { v.ln() } else { v };
        let t = (f(v) - f(self.range.0)) / (f(self.range.1) - f(self.range.0));
        self.px.0 + t * (self.px.1 - self.px.0)
    }
}

/// Appends one panel (at the origin) to `out`; `names` fixes each series' colour.
fn render_panel(out: &mut String, panel: &Panel, names: &[&str]) {
    let plottable = |&(x, y): &(f64, f64)| {
        x.is_finite() && y.is_finite() && y >= 0.0 && if panel.log_x { x > 0.0 } else { x >= 0.0 }
    };
    let lines: Vec<(&str, Vec<(f64, f64)>)> = panel
        .series
        .iter()
        .map(|s| {
            let mut pts: Vec<(f64, f64)> = s.points.iter().copied().filter(plottable).collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            (s.name.as_str(), pts)
        })
        .collect();
    let mut xs: Vec<f64> = lines.iter().flat_map(|l| l.1.iter().map(|p| p.0)).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let y_max = lines
        .iter()
        .flat_map(|l| l.1.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    let y = Axis::new((0.0, nice_max(y_max)), (PLOT_B, PLOT_T), false);
    let (x, x_ticks) = x_axis(&xs, panel.log_x);
    let _ = writeln!(
        out,
        r#"<text x="{PLOT_L}" y="22" font-size="14" font-weight="bold">{}</text>"#,
        escape(&panel.title)
    );
    for t in nice_ticks(y.range.1) {
        let py = y.map(t);
        let _ = writeln!(
            out,
            r##"<line x1="{PLOT_L}" y1="{py:.1}" x2="{PLOT_R}" y2="{py:.1}" stroke="#e4e4e4"/><text x="{PLOT_L}" y="{py:.1}" dx="-6" dy="4" text-anchor="end">{}</text>"##,
            compact(t)
        );
    }
    for t in x_ticks {
        let px = x.map(t);
        let _ = writeln!(
            out,
            r##"<line x1="{px:.1}" y1="{PLOT_T}" x2="{px:.1}" y2="{PLOT_B}" stroke="#e4e4e4"/><text x="{px:.1}" y="{PLOT_B}" dy="16" text-anchor="middle">{}</text>"##,
            compact(t)
        );
    }
    let (mid_x, mid_y) = ((PLOT_L + PLOT_R) / 2.0, (PLOT_T + PLOT_B) / 2.0);
    let _ = writeln!(
        out,
        r##"<path d="M{PLOT_L} {PLOT_T}V{PLOT_B}H{PLOT_R}" fill="none" stroke="#333"/>
<text x="{mid_x}" y="{PLOT_B}" dy="38" text-anchor="middle">{}</text>
<text transform="translate(18,{mid_y}) rotate(-90)" text-anchor="middle">{}</text>"##,
        escape(&panel.x_label),
        escape(&panel.y_label)
    );
    if xs.is_empty() {
        let _ = writeln!(
            out,
            r##"<text x="{mid_x}" y="{mid_y}" text-anchor="middle" font-size="14" fill="#888">no data</text>"##
        );
    }
    for (i, (name, pts)) in lines.iter().enumerate() {
        let c = PALETTE[names.iter().position(|n| n == name).unwrap_or(0) % PALETTE.len()];
        let pix: Vec<(f64, f64)> = pts.iter().map(|&(px, py)| (x.map(px), y.map(py))).collect();
        if pix.len() > 1 {
            let coords: Vec<String> = pix
                .iter()
                .map(|(cx, cy)| format!("{cx:.1},{cy:.1}"))
                .collect();
            let _ = writeln!(
                out,
                r#"<polyline points="{}" fill="none" stroke="{c}" stroke-width="2" stroke-linejoin="round"/>"#,
                coords.join(" ")
            );
        }
        for (cx, cy) in pix {
            let _ = writeln!(
                out,
                r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="3" fill="{c}" stroke="white"/>"#
            );
        }
        let ly = PLOT_T + 8.0 + 18.0 * i as f64;
        let _ = writeln!(
            out,
            r#"<g transform="translate({PLOT_R},{ly})"><line x1="14" x2="34" stroke="{c}" stroke-width="2"/><circle cx="24" r="3" fill="{c}"/><text x="40" y="4">{}</text></g>"#,
            escape(name)
        );
    }
}

/// The x axis for the distinct, sorted x values `xs`, and the values to put ticks at.
fn x_axis(xs: &[f64], log: bool) -> (Axis, Vec<f64>) {
    if log {
        // Pad the range by 4% of its log width on each side so markers clear the axes.
        let (lo, hi) = match (xs.first(), xs.last()) {
            (Some(&lo), Some(&hi)) if hi > lo => (lo, hi),
            (Some(&v), _) => (v / 2.0, v * 2.0),
            _ => (1.0, 10.0),
        };
        let pad = (hi / lo).powf(0.04);
        let x = Axis::new((lo / pad, hi * pad), (PLOT_L, PLOT_R), true);
        // Tick at each distinct x, skipping any closer than 36 px to the previous tick.
        let mut ticks: Vec<f64> = Vec::new();
        for &v in if xs.is_empty() { &[1.0, 10.0][..] } else { xs } {
            if !ticks.last().is_some_and(|&t| x.map(v) - x.map(t) < 36.0) {
                ticks.push(v);
            }
        }
        (x, ticks)
    } else {
        // From 0 to the first multiple of a nice step (3 to 5 steps) that covers the data.
        let max = xs.last().copied().unwrap_or(0.0);
        let step = nice_max(max / 5.0);
        let n = (max / step - 1e-9).ceil().max(1.0) as u32;
        let ticks = (0..=n).map(|k| step * f64::from(k)).collect();
        let hi = step * f64::from(n);
        (Axis::new((0.0, hi), (PLOT_L, PLOT_R), false), ticks)
    }
}

/// The smallest value of the form {1, 2, 2.5, 5} × 10^k that is >= `v`; 1 if `v` is not a
/// positive finite number.
pub fn nice_max(v: f64) -> f64 {
    if !(v.is_finite() && v > 0.0) {
        return 1.0;
    }
    let base = 10f64.powi(v.log10().floor() as i32);
    let m = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .find(|&m| v <= m * base * (1.0 + 1e-9))
        .unwrap_or(10.0);
    m * base
}

/// Tick values from 0 to `hi` (a [`nice_max`] result): 4 intervals when `hi` is 2 × 10^k,
/// otherwise 5.
fn nice_ticks(hi: f64) -> Vec<f64> {
    let mantissa = hi / 10f64.powi(hi.log10().floor() as i32);
    let n = if (mantissa - 2.0).abs() < 1e-6 { 4 } else { 5 };
    (0..=n).map(|k| hi * f64::from(k) / f64::from(n)).collect()
}

/// Formats `v` with about three significant digits and a k/M/G suffix, e.g. 0.5, 850, 1.2k,
/// 35k, 1.5M.
pub fn compact(v: f64) -> String {
    let a = v.abs();
    // Switch unit at 999.5 so that e.g. 999.7 reads "1k" rather than "1000".
    let (div, suffix) = [(1e9, "G"), (1e6, "M"), (1e3, "k")]
        .into_iter()
        .find(|&(d, _)| a >= d * 0.9995)
        .unwrap_or((1.0, ""));
    let s = a / div;
    let decimals = if s > 0.0 {
        (2 - s.log10().floor() as i32).clamp(0, 6)
    } else {
        0
    };
    let mut num = format!("{:.*}", decimals as usize, s);
    if num.contains('.') {
        num = num.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    let sign = if v < 0.0 && num != "0" { "-" } else { "" };
    format!("{sign}{num}{suffix}")
}

/// Escapes the characters that are special in SVG text and attribute values.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel(log_x: bool, points: Vec<(f64, f64)>) -> Panel {
        Panel {
            title: "a <b> & \"c\"".into(),
            x_label: "connections".into(),
            y_label: "round trips/s".into(),
            log_x,
            series: vec![Series {
                name: "threadsock".into(),
                points,
            }],
        }
    }

    #[test]
    fn well_formed_and_escaped() {
        let svg = render(&[
            panel(true, vec![(1.0, 10.0), (100.0, 2500.0), (10.0, 900.0)]),
            panel(false, vec![(2.0, 0.5)]),
        ]);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<g ").count(), svg.matches("</g>").count());
        assert_eq!(svg.matches("<g transform=\"translate(0,").count(), 2);
        assert!(svg.contains("a &lt;b&gt; &amp; &quot;c&quot;"));
        assert!(!svg.contains("<b>"));
        assert!(svg.contains("#0072B2"));
    }

    #[test]
    fn nice_max_values() {
        let inputs = [
            0.0,
            0.3,
            1.0,
            1.2,
            2.1,
            3.0,
            7.0,
            35e3,
            1.5e6,
            f64::NAN,
            -4.0,
        ];
        let wanted = [1.0, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0, 50e3, 2e6, 1.0, 1.0];
        for (v, want) in inputs.into_iter().zip(wanted) {
            assert!((nice_max(v) - want).abs() < 1e-9 * want, "nice_max({v})");
        }
        assert_eq!(nice_ticks(2000.0), [0.0, 500.0, 1000.0, 1500.0, 2000.0]);
        assert_eq!(nice_ticks(5000.0).len(), 6);
    }

    #[test]
    fn compact_numbers() {
        let inputs = [
            0.0,
            0.5,
            0.6000000000000001,
            999.0,
            1200.0,
            35e3,
            1.5e6,
            999_999.0,
        ];
        let wanted = ["0", "0.5", "0.6", "999", "1.2k", "35k", "1.5M", "1M"];
        for (v, want) in inputs.into_iter().zip(wanted) {
            assert_eq!(compact(v), want);
        }
        assert_eq!(compact(-2500.0), "-2.5k");
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        let nan = vec![(1.0, f64::NAN), (f64::NAN, 2.0), (0.0, 5.0), (-1.0, 1.0)];
        let cases = [vec![], vec![(0.0, 0.0), (5.0, 0.0)], vec![(3.0, 7.0)], nan];
        for log_x in [true, false] {
            for pts in &cases {
                let svg = render(&[panel(log_x, pts.clone())]);
                assert!(svg.trim_end().ends_with("</svg>"));
            }
        }
        assert!(render(&[panel(true, vec![])]).contains("no data"));
        assert!(render(&[]).starts_with("<svg"));
    }
}
