//! The report as SVG charts, drawn with `plotters`' SVG backend:
//! `time.svg` (median wall time per plan, one bar per mode, min–max error
//! bars), `pauses.svg` (pause p50 / p90 / p99 / p99.9 / max, one row
//! per configuration, log scale) and, for live-sweep, `live.svg` (a full
//! collection's pause, and GC time per collection while allocating,
//! against live data, one line per configuration; the other two charts
//! show its largest step).

use crate::report::{is_peer, per_collection};
use crate::results::Configuration;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

type Drawn = Result<(), Box<dyn std::error::Error>>;

/// The labels in first-seen order.
fn distinct<'a>(it: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut v: Vec<&str> = Vec::new();
    for s in it {
        if !v.contains(&s) {
            v.push(s);
        }
    }
    v
}

/// A plan label short enough for an axis: `gen. (latency)`,
/// `capgc.h: semispace`, `C: malloc`.
fn short(plan: &str) -> String {
    plan.replace("C on capgc.h: ", "capgc.h: ")
        .replace("C peer: ", "C: ")
        .replace("generational", "gen.")
}

/// Median wall time per plan (groups) and mode (bars), with min–max; a
/// group's bars are centred on it whatever modes it has.
fn time(path: &Path, configs: &[Configuration], title: &str) -> Drawn {
    let groups = distinct(configs.iter().map(|c| c.plan.as_str()));
    let modes = distinct(configs.iter().map(|c| c.mode.as_str()));
    let top = configs
        .iter()
        .filter_map(|c| c.summary.max.get("wall_ms"))
        .fold(1.0f64, |a, b| a.max(*b));
    let root = SVGBackend::new(path, (240 + 130 * groups.len() as u32, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = builder(&root, title)
        .build_cartesian_2d(-0.5f64..groups.len() as f64 - 0.5, 0.0..top * 1.35)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(groups.len())
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                groups.get(i as usize).map_or(String::new(), |g| short(g))
            } else {
                String::new()
            }
        })
        .y_desc("wall ms (median, min–max)")
        .draw()?;
    let per_group: Vec<Vec<&str>> = groups
        .iter()
        .map(|g| {
            distinct(
                configs
                    .iter()
                    .filter(|c| c.plan == *g)
                    .map(|c| c.mode.as_str()),
            )
        })
        .collect();
    let most = per_group.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let width = 0.8 / most as f64;
    for (mi, mode) in modes.iter().enumerate() {
        let color = Palette99::pick(mi).to_rgba();
        let bars: Vec<(f64, &Configuration)> = configs
            .iter()
            .filter(|c| c.mode == *mode)
            .filter_map(|c| {
                let g = groups.iter().position(|g| *g == c.plan)?;
                let here = &per_group[g];
                let k = here.iter().position(|m| m == mode)?;
                let left = g as f64 - width * here.len() as f64 / 2.0;
                Some((left + width * (k as f64 + 0.5), c))
            })
            .collect();
        chart
            .draw_series(bars.iter().map(|(x, c)| {
                let y = c.summary.get("wall_ms");
                Rectangle::new(
                    [(x - width * 0.45, 0.0), (x + width * 0.45, y)],
                    color.filled(),
                )
            }))?
            .label(*mode)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
        chart.draw_series(bars.iter().map(|(x, c)| {
            let s = &c.summary;
            ErrorBar::new_vertical(
                *x,
                s.min["wall_ms"],
                s.get("wall_ms"),
                s.max["wall_ms"],
                BLACK.stroke_width(1),
                6,
            )
        }))?;
    }
    finish(&mut chart, &root, SeriesLabelPosition::UpperLeft)
}

/// A chart's frame: its title, margin and axis label areas.
fn builder<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    title: &str,
) -> ChartBuilder<'a, 'b, SVGBackend<'b>> {
    let mut b = ChartBuilder::on(root);
    b.caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(60);
    b
}

type Chart<'a, X, Y> = ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>;

/// Draws series `i` of a line chart: its line, its points, its legend entry.
fn line<X, Y>(
    chart: &mut Chart<'_, X, Y>,
    i: usize,
    label: String,
    points: Vec<(f64, f64)>,
) -> Drawn
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let color = Palette99::pick(i).to_rgba();
    chart
        .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
        .label(label)
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 14, y)], color.stroke_width(2)));
    chart.draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled())))?;
    Ok(())
}

/// Draws the legend at `at` and writes the file.
fn finish<X, Y>(
    chart: &mut Chart<'_, X, Y>,
    root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    at: SeriesLabelPosition,
) -> Drawn
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    chart
        .configure_series_labels()
        .position(at)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// The pause percentiles the charts plot, with their figure names.
const QUANTILES: [(&str, &str); 5] = [
    ("p50", "p50_ms"),
    ("p90", "p90_ms"),
    ("p99", "p99_ms"),
    ("p99.9", "p999_ms"),
    ("max", "max_ms"),
];

/// The pause distribution of every CapGC configuration, one row each: a
/// line from p50 to the longest pause on a log axis, a marker at each of
/// [`QUANTILES`] (the C peers have no pauses to show).
fn pauses(path: &Path, configs: &[Configuration], title: &str) -> Drawn {
    let configs: Vec<&Configuration> = configs.iter().filter(|c| !is_peer(c)).collect();
    let floor = 1e-3;
    let value = |c: &Configuration, k: &str| c.summary.get(k).max(floor);
    let top = configs
        .iter()
        .flat_map(|c| QUANTILES.iter().map(|(_, k)| value(c, k)))
        .fold(floor * 10.0, f64::max);
    let rows = configs.len().max(1);
    let root = SVGBackend::new(path, (1000, 110 + 26 * rows as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(300)
        .build_cartesian_2d((floor..top * 2.0).log_scale(), -0.5f64..rows as f64 - 0.5)?;
    let names: Vec<String> = configs
        .iter()
        .map(|c| format!("{} {}", c.plan, c.mode))
        .collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(rows)
        .y_label_formatter(&|y| {
            let i = y.round();
            if (y - i).abs() < 1e-6 && i >= 0.0 {
                names
                    .get(rows - 1 - i as usize)
                    .cloned()
                    .unwrap_or_default()
            } else {
                String::new()
            }
        })
        .x_desc("pause ms (median over rounds; log scale)")
        .draw()?;
    let y = |i: usize| (rows - 1 - i) as f64;
    chart.draw_series(configs.iter().enumerate().map(|(i, c)| {
        PathElement::new(
            [(value(c, "p50_ms"), y(i)), (value(c, "max_ms"), y(i))],
            BLACK.mix(0.5).stroke_width(1),
        )
    }))?;
    for (qi, (label, key)) in QUANTILES.iter().enumerate() {
        let color = Palette99::pick(qi).to_rgba();
        chart
            .draw_series(
                configs
                    .iter()
                    .enumerate()
                    .map(|(i, c)| Circle::new((value(c, key), y(i)), 5, color.filled())),
            )?
            .label(*label)
            .legend(move |(x, y)| Circle::new((x + 5, y), 5, color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// One panel of `live.svg`: `figure` of every plan and mode against
/// live MiB, log–log (a step where `figure` is `None`, no data, is left
/// out of its line).
fn live_panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    configs: &[Configuration],
    title: &str,
    y_desc: &str,
    figure: fn(&Configuration) -> Option<f64>,
) -> Drawn {
    let lines = distinct(configs.iter().map(|c| c.plan.as_str()))
        .into_iter()
        .flat_map(|p| {
            distinct(configs.iter().map(|c| c.mode.as_str()))
                .into_iter()
                .map(move |m| (p, m))
        })
        .collect::<Vec<_>>();
    let floor = 1e-3;
    let top = configs
        .iter()
        .filter_map(figure)
        .fold(floor * 10.0, f64::max);
    let right = configs
        .iter()
        .map(|c| c.summary.get("live_mib"))
        .fold(2.0, f64::max);
    let mut chart = builder(area, title).build_cartesian_2d(
        (0.5f64..right * 1.5).log_scale(),
        (floor..top * 2.0).log_scale(),
    )?;
    chart
        .configure_mesh()
        .x_desc("live data, MiB (after a full collection)")
        .y_desc(y_desc)
        .draw()?;
    for (i, (plan, mode)) in lines.iter().enumerate() {
        let mut points: Vec<(f64, f64)> = configs
            .iter()
            .filter(|c| c.plan == *plan && c.mode == *mode)
            .filter_map(|c| Some((c.summary.get("live_mib").max(0.5), figure(c)?.max(floor))))
            .collect();
        if points.is_empty() {
            continue;
        }
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        line(&mut chart, i, format!("{plan} {mode}"), points)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// live-sweep, two panels against live MiB: a full collection's pause
/// (forced after the allocation phase; it must grow with live data), and
/// the allocation phase's GC time per collection (for Generational, minor
/// collections, which should not).
fn live(path: &Path, configs: &[Configuration], title: &str) -> Drawn {
    let root = SVGBackend::new(path, (1400, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(700);
    live_panel(
        &left,
        configs,
        &format!("{title}: one full collection"),
        "full collection ms (median)",
        |c| Some(c.summary.get("forced_full_ms")),
    )?;
    live_panel(
        &right,
        configs,
        "same allocation volume: GC ms per collection",
        "GC ms per collection while allocating (median; none: left out)",
        // A step whose allocation phase collected nothing (the heap grew
        // to hold it) has no figure, not a zero one.
        |c| (c.summary.get("sweep_collections") > 0.0).then(|| per_collection(&c.summary, false)),
    )?;
    root.present()?;
    Ok(())
}

/// Draws the charts for `configs` into `dir`; the paths written.
pub fn draw(
    dir: &Path,
    configs: &[Configuration],
    label: &str,
    sweep: bool,
) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    // live-sweep's time and pause charts show its largest step (one bar
    // per plan and mode); live.svg shows every step.
    let largest = configs.iter().map(|c| c.size).max().unwrap_or(0);
    let last: Vec<Configuration> = configs
        .iter()
        .filter(|c| !sweep || c.size == largest)
        .cloned()
        .collect();
    let mut one = |file: &str,
                   f: fn(&Path, &[Configuration], &str) -> Drawn,
                   configs: &[Configuration],
                   title: String| {
        let path = dir.join(file);
        f(&path, configs, &title).map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path);
        Ok::<(), String>(())
    };
    let label = if sweep {
        format!("{label} at {largest} MiB")
    } else {
        label.to_string()
    };
    one("time.svg", time, &last, format!("{label}: wall time"))?;
    one(
        "pauses.svg",
        pauses,
        &last,
        format!("{label}: pause percentiles"),
    )?;
    if sweep {
        one("live.svg", live, configs, "live-sweep".to_string())?;
    }
    Ok(written)
}
