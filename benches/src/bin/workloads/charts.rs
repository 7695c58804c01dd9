//! The report as SVG charts, drawn with `plotters`' SVG backend:
//! `time.svg` (median wall time per plan, one bar per mode, min–max error
//! bars), `pauses.svg` (pause p50 / p90 / p99 / p99.9 / max per
//! configuration, log scale) and, for live-sweep, `live.svg` (GC time per
//! collection against live data, one line per configuration).

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

/// Median wall time per plan (groups) and mode (bars), with min–max.
fn time(path: &Path, configs: &[Configuration], title: &str) -> Drawn {
    let groups = distinct(configs.iter().map(|c| c.plan.as_str()));
    let modes = distinct(configs.iter().map(|c| c.mode.as_str()));
    let top = configs
        .iter()
        .filter_map(|c| c.summary.max.get("wall_ms"))
        .fold(1.0f64, |a, b| a.max(*b));
    let root = SVGBackend::new(path, (160 + 110 * groups.len() as u32, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = builder(&root, title)
        .build_cartesian_2d(-0.5f64..groups.len() as f64 - 0.5, 0.0..top * 1.1)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(groups.len())
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                groups
                    .get(i as usize)
                    .map_or(String::new(), |g| g.to_string())
            } else {
                String::new()
            }
        })
        .y_desc("wall ms (median, min–max)")
        .draw()?;
    let width = 0.8 / modes.len() as f64;
    for (mi, mode) in modes.iter().enumerate() {
        let color = Palette99::pick(mi).to_rgba();
        let bars: Vec<(f64, &Configuration)> = configs
            .iter()
            .filter(|c| c.mode == *mode)
            .filter_map(|c| {
                let g = groups.iter().position(|g| *g == c.plan)?;
                Some((g as f64 - 0.4 + width * (mi as f64 + 0.5), c))
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
    finish(&mut chart, &root, SeriesLabelPosition::UpperRight)
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

/// Pause percentiles per CapGC configuration, one line each, log scale.
fn pauses(path: &Path, configs: &[Configuration], title: &str) -> Drawn {
    let configs: Vec<&Configuration> = configs.iter().filter(|c| !is_peer(c)).collect();
    let floor = 1e-3;
    let values = |c: &Configuration| -> Vec<f64> {
        QUANTILES
            .iter()
            .map(|(_, k)| c.summary.get(k).max(floor))
            .collect()
    };
    let top = configs
        .iter()
        .flat_map(|c| values(c))
        .fold(floor * 10.0, f64::max);
    let root = SVGBackend::new(path, (820, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = builder(&root, title)
        .right_y_label_area_size(10)
        .build_cartesian_2d(
            -0.2f64..QUANTILES.len() as f64 + 1.8,
            (floor..top * 2.0).log_scale(),
        )?;
    chart
        .configure_mesh()
        .x_labels(QUANTILES.len() + 2)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                QUANTILES
                    .get(i as usize)
                    .map_or(String::new(), |q| q.0.to_string())
            } else {
                String::new()
            }
        })
        .y_desc("pause ms (median over rounds)")
        .draw()?;
    for (i, c) in configs.iter().enumerate() {
        let points: Vec<(f64, f64)> = values(c)
            .into_iter()
            .enumerate()
            .map(|(x, y)| (x as f64, y))
            .collect();
        line(&mut chart, i, format!("{} {}", c.plan, c.mode), points)?;
    }
    finish(&mut chart, &root, SeriesLabelPosition::UpperRight)
}

/// live-sweep: GC ms per collection against live MiB, one line per
/// plan and mode.
fn live(path: &Path, configs: &[Configuration], title: &str) -> Drawn {
    let lines = distinct(configs.iter().map(|c| c.plan.as_str()))
        .into_iter()
        .flat_map(|p| {
            distinct(configs.iter().map(|c| c.mode.as_str()))
                .into_iter()
                .map(move |m| (p, m))
        })
        .collect::<Vec<_>>();
    let top = configs
        .iter()
        .map(|c| per_collection(&c.summary, false))
        .fold(1e-3, f64::max);
    let right = configs
        .iter()
        .map(|c| c.summary.get("live_mib"))
        .fold(2.0, f64::max);
    let root = SVGBackend::new(path, (820, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = builder(&root, title)
        .build_cartesian_2d((0.5f64..right * 1.5).log_scale(), 0.0..top * 1.1)?;
    chart
        .configure_mesh()
        .x_desc("live data, MiB (after a full collection)")
        .y_desc("GC ms per collection (median)")
        .draw()?;
    for (i, (plan, mode)) in lines.iter().enumerate() {
        let mut points: Vec<(f64, f64)> = configs
            .iter()
            .filter(|c| c.plan == *plan && c.mode == *mode)
            .map(|c| {
                (
                    c.summary.get("live_mib").max(0.5),
                    per_collection(&c.summary, false),
                )
            })
            .collect();
        if points.is_empty() {
            continue;
        }
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        line(&mut chart, i, format!("{plan} {mode}"), points)?;
    }
    finish(&mut chart, &root, SeriesLabelPosition::UpperLeft)
}

/// Draws the charts for `configs` into `dir`; the paths written.
pub fn draw(
    dir: &Path,
    configs: &[Configuration],
    label: &str,
    sweep: bool,
) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    let mut one = |file: &str, f: fn(&Path, &[Configuration], &str) -> Drawn, title: String| {
        let path = dir.join(file);
        f(&path, configs, &title).map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path);
        Ok::<(), String>(())
    };
    one("time.svg", time, format!("{label}: wall time"))?;
    one("pauses.svg", pauses, format!("{label}: pause percentiles"))?;
    if sweep {
        one("live.svg", live, format!("{label}: GC cost vs live data"))?;
    }
    Ok(written)
}
