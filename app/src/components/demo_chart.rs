//! The example chart on the landing page: a made-up GitHub repository's stars over the
//! last 90 days, with range buttons. The numbers and the range summary render on the
//! server; the ECharts drawing happens in the browser once the page has hydrated.

use leptos::prelude::*;

/// The ranges a visitor can pick on the example chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DemoRange {
    Week,
    Month,
    Quarter,
}

impl DemoRange {
    pub const ALL: [DemoRange; 3] = [DemoRange::Week, DemoRange::Month, DemoRange::Quarter];

    pub fn days(self) -> usize {
        match self {
            DemoRange::Week => 7,
            DemoRange::Month => 30,
            DemoRange::Quarter => 90,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DemoRange::Week => "7 days",
            DemoRange::Month => "30 days",
            DemoRange::Quarter => "90 days",
        }
    }
}

/// One day of the example series.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoPoint {
    pub day: String,
    pub stars: f64,
}

/// Ninety days of example data ending on 24 November: steady growth, quieter weekends,
/// and a jump when the project reached the front page of Hacker News.
pub fn demo_series() -> Vec<DemoPoint> {
    const MONTHS: [(&str, u32); 4] = [("Aug", 31), ("Sep", 30), ("Oct", 31), ("Nov", 30)];
    let mut points = Vec::with_capacity(90);
    let (mut month, mut day) = (0usize, 27u32);
    let mut stars = 12_400.0_f64;
    // A small linear congruential generator keeps the "noise" identical on server and client.
    let mut seed: u32 = 0x5eed;
    for index in 0..90 {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let noise = f64::from((seed >> 16) % 23);
        let weekend = matches!(index % 7, 5 | 6);
        let launch = match index {
            74 => 1_150.0,
            75 => 520.0,
            76 => 210.0,
            _ => 0.0,
        };
        stars += if weekend { 14.0 } else { 31.0 } + noise + launch;
        points.push(DemoPoint {
            day: format!("{} {}", MONTHS[month].0, day),
            stars: stars.round(),
        });
        day += 1;
        if day > MONTHS[month].1 {
            day = 1;
            month = (month + 1).min(MONTHS.len() - 1);
        }
    }
    points
}

/// Formats a whole number with thousands separators: 12400 → "12,400".
pub fn format_count(value: f64) -> String {
    crate::pages::dashboard::format_number(value.round())
}

/// The example chart with its range picker and summary.
#[component]
pub fn DemoChart() -> impl IntoView {
    let series = StoredValue::new(demo_series());
    let (range, set_range) = signal(DemoRange::Month);
    // Effects only run in the browser, so this flips once the page is interactive.
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));

    let summary = move || {
        let days = range.get().days();
        series.with_value(|all| {
            let Some(last) = all.last() else {
                return String::new();
            };
            // Growth over the range: from the day before it starts to its last day.
            let before = all
                .len()
                .checked_sub(days + 1)
                .map_or(&all[0], |index| &all[index]);
            format!(
                "+{} stars in the last {} · {} in total",
                format_count(last.stars - before.stars),
                range.get().label(),
                format_count(last.stars)
            )
        })
    };

    // The points in the chosen range, drawn (and redrawn) by ECharts in the browser.
    #[cfg(feature = "hydrate")]
    browser::draw_on_change(Memo::new(move |_| {
        series.with_value(|all| {
            let days = range.get().days().min(all.len());
            all[all.len() - days..].to_vec()
        })
    }));

    view! {
        <figure class="demo" data-hydrated=move || hydrated.get().to_string()>
            <div class="demo-head">
                <figcaption>
                    <span class="demo-source">"github.com/example/rocket-widgets · stars"</span>
                    <span class="demo-summary" aria-live="polite">
                        {summary}
                    </span>
                </figcaption>
                <div class="range-picker" role="group" aria-label="Time range">
                    {DemoRange::ALL
                        .into_iter()
                        .map(|option| {
                            view! {
                                <button
                                    type="button"
                                    aria-pressed=move || (range.get() == option).to_string()
                                    on:click=move |_| set_range.set(option)
                                >
                                    {option.label()}
                                </button>
                            }
                        })
                        .collect_view()}
                </div>
            </div>
            <div
                id="demo-chart"
                class="demo-chart"
                role="img"
                aria-label="Line chart of the example repository's stars over the selected range"
            ></div>
            <p class="demo-note">"Example data. Your charts show the real numbers."</p>
        </figure>
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::DemoPoint;
    use crate::components::echarts::echarts_loaded;
    use charming::{
        Chart, WasmRenderer,
        component::{Axis, Grid},
        element::{AreaStyle, AxisType, Tooltip, Trigger},
        series::Line,
    };
    use leptos::{ev, prelude::*};
    use wasm_bindgen::JsValue;

    /// Draws the chart once ECharts is loaded and redraws it whenever `points` changes.
    pub fn draw_on_change(points: Memo<Vec<DemoPoint>>) {
        let instance = StoredValue::new_local(None::<charming::Echarts>);
        Effect::new(move |_| {
            let chart = build_chart(&points.get());
            let updated = instance.with_value(|echarts| {
                echarts
                    .as_ref()
                    .map(|echarts| WasmRenderer::update(echarts, &chart))
                    .is_some()
            });
            if updated {
                return;
            }
            if echarts_loaded() {
                match WasmRenderer::new_opt(None, None).render("demo-chart", &chart) {
                    Ok(echarts) => instance.set_value(Some(echarts)),
                    Err(error) => leptos::logging::warn!("example chart not drawn: {error:?}"),
                }
            } else {
                leptos::logging::warn!("example chart not drawn: ECharts did not load");
            }
        });
        let handle = window_event_listener(ev::resize, move |_| {
            instance.with_value(|echarts| {
                if let Some(echarts) = echarts {
                    echarts.resize(JsValue::UNDEFINED);
                }
            });
        });
        on_cleanup(move || handle.remove());
    }

    fn build_chart(points: &[DemoPoint]) -> Chart {
        let days: Vec<String> = points.iter().map(|point| point.day.clone()).collect();
        let stars: Vec<f64> = points.iter().map(|point| point.stars).collect();
        Chart::new()
            .grid(Grid::new().left(56).right(16).top(16).bottom(32))
            .tooltip(Tooltip::new().trigger(Trigger::Axis))
            .x_axis(
                Axis::new()
                    .type_(AxisType::Category)
                    .boundary_gap(false)
                    .data(days),
            )
            .y_axis(Axis::new().type_(AxisType::Value).scale(true))
            .series(
                Line::new()
                    .name("Stars")
                    .show_symbol(false)
                    .smooth(0.2)
                    .area_style(AreaStyle::new().opacity(0.15))
                    .data(stars),
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_covers_ninety_days_ending_on_the_24th_of_november() {
        let series = demo_series();
        assert_eq!(series.len(), 90);
        assert_eq!(series[0].day, "Aug 27");
        assert_eq!(series[5].day, "Sep 1");
        assert_eq!(series[89].day, "Nov 24");
    }

    #[test]
    fn series_only_grows() {
        let series = demo_series();
        assert!(series.windows(2).all(|pair| pair[1].stars > pair[0].stars));
    }

    #[test]
    fn counts_get_thousands_separators() {
        assert_eq!(format_count(0.0), "0");
        assert_eq!(format_count(999.0), "999");
        assert_eq!(format_count(1_000.0), "1,000");
        assert_eq!(format_count(12_345_678.4), "12,345,678");
        assert_eq!(format_count(-2_500.0), "-2,500");
    }
}
