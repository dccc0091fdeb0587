//! Evaluating the PromQL Upcount answers, over series already read: selectors with label
//! matchers (`=`, `!=`, `=~`, `!~`, `offset`), the range functions `rate`, `increase`,
//! `delta`, `avg_over_time`, `max_over_time` and `min_over_time`, the aggregations `sum`,
//! `avg`, `min`, `max` and `count` with `by`/`without`, number literals, unary minus and
//! arithmetic or comparison between a number and a number or a vector (Grafana's health
//! check asks `1+1`). Anything else is refused by [`check`] naming what is not supported,
//! before a single row is read.
//!
//! Semantics follow Prometheus 3: a range `[5m]` holds the samples in `(t − 5m, t]`;
//! `rate`, `increase` and `delta` extrapolate to the range's ends as Prometheus does, and
//! `rate`/`increase` treat a drop as a counter reset. An instant selector takes a series'
//! newest sample no older than the series' look-back (twice its tracker's poll interval,
//! and at least five minutes: Upcount polls every few minutes, not every few seconds).

use std::collections::BTreeMap;

use promql_parser::{
    label::{MatchOp, Matcher, Matchers},
    parser::{
        AggregateExpr, BinaryExpr, Call, Expr, LabelModifier, Offset, VectorSelector,
        token::{
            T_ADD, T_AVG, T_COUNT, T_DIV, T_EQLC, T_GTE, T_GTR, T_LSS, T_LTE, T_MAX, T_MIN, T_MOD,
            T_MUL, T_NEQ, T_POW, T_SUB, T_SUM,
        },
    },
};

/// A series' labels, `__name__` among them.
pub type Labels = BTreeMap<String, String>;

/// The label naming a series' metric.
pub const NAME: &str = "__name__";

/// One stored point as the evaluator sees it, stamped at `t` (milliseconds since the
/// epoch): a raw sample (count 1, every figure the value) or a rollup bucket, stamped at
/// its end.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    pub t: i64,
    pub last: f64,
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub count: f64,
}

impl Sample {
    pub fn raw(t: i64, value: f64) -> Self {
        Self {
            t,
            last: value,
            min: value,
            max: value,
            sum: value,
            count: 1.0,
        }
    }
}

/// A series read for a query: its labels, its samples in time order, and how far back an
/// instant selector looks for its newest sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub lookback_ms: i64,
    pub samples: Vec<Sample>,
}

/// What an expression is worth at one instant.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Scalar(f64),
    Vector(Vec<(Labels, f64)>),
}

/// Why a query has no answer, in Prometheus's error vocabulary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PromError {
    /// The query or a parameter does not parse (`bad_data`, 400).
    BadData(String),
    /// Valid PromQL that Upcount does not evaluate (`execution`, 422).
    Unsupported(String),
}

impl PromError {
    /// Prometheus's `errorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::BadData(_) => "bad_data",
            Self::Unsupported(_) => "execution",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Self::BadData(message) | Self::Unsupported(message) => message,
        }
    }
}

fn unsupported(what: impl std::fmt::Display) -> PromError {
    PromError::Unsupported(format!(
        "{what} is not supported by Upcount's query API; it answers selectors of \
         upcount_value, rate, increase, delta, avg_over_time, max_over_time, min_over_time, \
         sum/avg/min/max/count by (…), and arithmetic with numbers"
    ))
}

/// Parses `text` as PromQL.
pub fn parse(text: &str) -> Result<Expr, PromError> {
    promql_parser::parser::parse(text)
        .map_err(|error| PromError::BadData(format!("invalid parameter \"query\": {error}")))
}

/// One selector of a query and how far before an evaluation instant it reads.
#[derive(Clone, Debug)]
pub struct Reach<'a> {
    pub selector: &'a VectorSelector,
    /// The range of a range selector; `None`: an instant selector (the look-back).
    pub range_ms: Option<i64>,
}

impl Reach<'_> {
    /// How far before an evaluation instant this selector reads `series`.
    pub fn back_ms(&self, series_lookback_ms: i64) -> i64 {
        offset_ms(self.selector) + self.range_ms.unwrap_or(series_lookback_ms)
    }
}

/// Checks that every part of `expr` is supported and lists its selectors.
pub fn check(expr: &Expr) -> Result<Vec<Reach<'_>>, PromError> {
    let mut reaches = Vec::new();
    walk(expr, &mut reaches)?;
    Ok(reaches)
}

const RANGE_FUNCTIONS: [&str; 6] = [
    "rate",
    "increase",
    "delta",
    "avg_over_time",
    "max_over_time",
    "min_over_time",
];

fn walk<'a>(expr: &'a Expr, reaches: &mut Vec<Reach<'a>>) -> Result<(), PromError> {
    match expr {
        Expr::NumberLiteral(_) => Ok(()),
        Expr::Paren(paren) => walk(&paren.expr, reaches),
        Expr::Unary(unary) => walk(&unary.expr, reaches),
        Expr::VectorSelector(selector) => {
            supported_selector(selector)?;
            reaches.push(Reach {
                selector,
                range_ms: None,
            });
            Ok(())
        }
        Expr::MatrixSelector(_) => Err(PromError::BadData(
            "a range vector such as `x[5m]` can only be the argument of a function like \
             rate(); a query cannot answer one on its own here"
                .into(),
        )),
        Expr::Call(call) => {
            if !RANGE_FUNCTIONS.contains(&call.func.name) {
                return Err(unsupported(format_args!(
                    "the function {}()",
                    call.func.name
                )));
            }
            match call.args.args.first().map(|arg| arg.as_ref()) {
                Some(Expr::MatrixSelector(matrix)) if call.args.args.len() == 1 => {
                    supported_selector(&matrix.vs)?;
                    reaches.push(Reach {
                        selector: &matrix.vs,
                        range_ms: Some(duration_ms(matrix.range)),
                    });
                    Ok(())
                }
                Some(Expr::Subquery(_)) => Err(unsupported("a subquery")),
                _ => Err(PromError::BadData(format!(
                    "{}() takes one range vector, such as upcount_value[1h]",
                    call.func.name
                ))),
            }
        }
        Expr::Aggregate(aggregate) => {
            aggregator(aggregate)?;
            if aggregate.param.is_some() {
                return Err(unsupported(format_args!(
                    "the aggregation {}",
                    aggregate.op
                )));
            }
            walk(&aggregate.expr, reaches)
        }
        Expr::Binary(binary) => {
            arithmetic(binary)?;
            if !is_scalar(&binary.lhs) && !is_scalar(&binary.rhs) {
                return Err(unsupported(
                    "an operator between two vectors (only between numbers, or a vector and a number)",
                ));
            }
            walk(&binary.lhs, reaches)?;
            walk(&binary.rhs, reaches)
        }
        Expr::Subquery(_) => Err(unsupported("a subquery")),
        Expr::StringLiteral(_) => Err(unsupported("a string")),
        Expr::Extension(_) => Err(unsupported("an extension")),
    }
}

fn supported_selector(selector: &VectorSelector) -> Result<(), PromError> {
    if selector.at.is_some() {
        return Err(unsupported("the @ modifier"));
    }
    if matches!(selector.offset, Some(Offset::Neg(_))) {
        return Err(unsupported("a negative offset"));
    }
    Ok(())
}

/// Whether `expr` is worth a number (no selector in it).
fn is_scalar(expr: &Expr) -> bool {
    match expr {
        Expr::NumberLiteral(_) => true,
        Expr::Paren(paren) => is_scalar(&paren.expr),
        Expr::Unary(unary) => is_scalar(&unary.expr),
        Expr::Binary(binary) => is_scalar(&binary.lhs) && is_scalar(&binary.rhs),
        _ => false,
    }
}

#[derive(Clone, Copy)]
enum Aggregator {
    Sum,
    Avg,
    Min,
    Max,
    Count,
}

fn aggregator(aggregate: &AggregateExpr) -> Result<Aggregator, PromError> {
    Ok(match aggregate.op.id() {
        T_SUM => Aggregator::Sum,
        T_AVG => Aggregator::Avg,
        T_MIN => Aggregator::Min,
        T_MAX => Aggregator::Max,
        T_COUNT => Aggregator::Count,
        _ => {
            return Err(unsupported(format_args!(
                "the aggregation {}",
                aggregate.op
            )));
        }
    })
}

#[derive(Clone, Copy)]
enum Operator {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Operator {
    fn is_comparison(self) -> bool {
        matches!(
            self,
            Self::Eq | Self::Ne | Self::Gt | Self::Ge | Self::Lt | Self::Le
        )
    }

    /// `left op right`; for a comparison, 1 or 0.
    fn apply(self, left: f64, right: f64) -> f64 {
        let truth = |holds: bool| if holds { 1.0 } else { 0.0 };
        match self {
            Self::Add => left + right,
            Self::Sub => left - right,
            Self::Mul => left * right,
            Self::Div => left / right,
            Self::Mod => left % right,
            Self::Pow => left.powf(right),
            Self::Eq => truth(left == right),
            Self::Ne => truth(left != right),
            Self::Gt => truth(left > right),
            Self::Ge => truth(left >= right),
            Self::Lt => truth(left < right),
            Self::Le => truth(left <= right),
        }
    }
}

fn arithmetic(binary: &BinaryExpr) -> Result<Operator, PromError> {
    Ok(match binary.op.id() {
        T_ADD => Operator::Add,
        T_SUB => Operator::Sub,
        T_MUL => Operator::Mul,
        T_DIV => Operator::Div,
        T_MOD => Operator::Mod,
        T_POW => Operator::Pow,
        T_EQLC => Operator::Eq,
        T_NEQ => Operator::Ne,
        T_GTR => Operator::Gt,
        T_GTE => Operator::Ge,
        T_LSS => Operator::Lt,
        T_LTE => Operator::Le,
        _ => return Err(unsupported(format_args!("the operator {}", binary.op))),
    })
}

fn duration_ms(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn offset_ms(selector: &VectorSelector) -> i64 {
    match selector.offset {
        Some(Offset::Pos(duration)) => duration_ms(duration),
        _ => 0,
    }
}

/// Whether a series with `labels` is selected by `selector`. A missing label matches as
/// the empty string, as in Prometheus.
pub fn selects(selector: &VectorSelector, labels: &Labels) -> bool {
    let value = |name: &str| labels.get(name).map_or("", String::as_str);
    if let Some(name) = &selector.name
        && value(NAME) != name
    {
        return false;
    }
    matches_all(&selector.matchers, &value)
}

fn matches_all<'a>(matchers: &Matchers, value: &impl Fn(&str) -> &'a str) -> bool {
    let all = |group: &[Matcher]| {
        group
            .iter()
            .all(|matcher| matcher.is_match(value(&matcher.name)))
    };
    all(&matchers.matchers) || matchers.or_matchers.iter().any(|group| all(group))
}

/// Whether `matcher` is one the database can use (an equality on a known label): for
/// reading no more series than needed.
pub fn is_equality(matcher: &Matcher) -> bool {
    matches!(matcher.op, MatchOp::Equal)
}

/// Evaluates `expr` (already [`check`]ed) at `t` over `data`.
pub fn eval(expr: &Expr, t: i64, data: &[Series]) -> Result<Value, PromError> {
    match expr {
        Expr::NumberLiteral(number) => Ok(Value::Scalar(number.val)),
        Expr::Paren(paren) => eval(&paren.expr, t, data),
        Expr::Unary(unary) => Ok(match eval(&unary.expr, t, data)? {
            Value::Scalar(value) => Value::Scalar(-value),
            Value::Vector(items) => Value::Vector(
                items
                    .into_iter()
                    .map(|(labels, value)| (without_name(labels), -value))
                    .collect(),
            ),
        }),
        Expr::VectorSelector(selector) => Ok(Value::Vector(instant(selector, t, data))),
        Expr::Call(call) => range_function(call, t, data),
        Expr::Aggregate(aggregate) => {
            let Value::Vector(items) = eval(&aggregate.expr, t, data)? else {
                return Err(PromError::BadData(format!(
                    "{} takes a vector, not a number",
                    aggregate.op
                )));
            };
            Ok(Value::Vector(aggregate_items(
                aggregator(aggregate)?,
                aggregate.modifier.as_ref(),
                items,
            )))
        }
        Expr::Binary(binary) => {
            let operator = arithmetic(binary)?;
            let keep_all = binary.modifier.as_ref().is_some_and(|m| m.return_bool);
            let left = eval(&binary.lhs, t, data)?;
            let right = eval(&binary.rhs, t, data)?;
            Ok(match (left, right) {
                (Value::Scalar(left), Value::Scalar(right)) => {
                    Value::Scalar(operator.apply(left, right))
                }
                (Value::Vector(items), Value::Scalar(number)) => {
                    combine(operator, keep_all, items, |value| (value, number))
                }
                (Value::Scalar(number), Value::Vector(items)) => {
                    combine(operator, keep_all, items, |value| (number, value))
                }
                (Value::Vector(_), Value::Vector(_)) => {
                    return Err(unsupported("an operator between two vectors"));
                }
            })
        }
        other => Err(unsupported(format_args!("the expression `{other}`"))),
    }
}

/// A vector and a number: arithmetic applies to each element; a comparison keeps the
/// elements for which it holds (with `bool`, every element, as 1 or 0).
fn combine(
    operator: Operator,
    keep_all: bool,
    items: Vec<(Labels, f64)>,
    operands: impl Fn(f64) -> (f64, f64),
) -> Value {
    let mut out = Vec::with_capacity(items.len());
    for (labels, value) in items {
        let (left, right) = operands(value);
        let result = operator.apply(left, right);
        if operator.is_comparison() && !keep_all {
            if result == 1.0 {
                out.push((labels, value));
            }
        } else {
            out.push((without_name(labels), result));
        }
    }
    Value::Vector(out)
}

fn without_name(mut labels: Labels) -> Labels {
    labels.remove(NAME);
    labels
}

/// The samples of `series` in `(from, to]`.
fn window(series: &Series, from: i64, to: i64) -> &[Sample] {
    let start = series.samples.partition_point(|sample| sample.t <= from);
    let end = series.samples.partition_point(|sample| sample.t <= to);
    &series.samples[start..end.max(start)]
}

fn instant(selector: &VectorSelector, t: i64, data: &[Series]) -> Vec<(Labels, f64)> {
    let at = t - offset_ms(selector);
    data.iter()
        .filter(|series| selects(selector, &series.labels))
        .filter_map(|series| {
            let newest = window(series, at - series.lookback_ms, at).last()?;
            Some((series.labels.clone(), newest.last))
        })
        .collect()
}

fn range_function(call: &Call, t: i64, data: &[Series]) -> Result<Value, PromError> {
    let Some(Expr::MatrixSelector(matrix)) = call.args.args.first().map(|arg| arg.as_ref()) else {
        return Err(PromError::BadData(format!(
            "{}() takes one range vector",
            call.func.name
        )));
    };
    let range = duration_ms(matrix.range);
    let end = t - offset_ms(&matrix.vs);
    let start = end - range;
    let name = call.func.name;
    let mut out = Vec::new();
    for series in data
        .iter()
        .filter(|series| selects(&matrix.vs, &series.labels))
    {
        let samples = window(series, start, end);
        let value = match name {
            "rate" => extrapolated(samples, start, end, true, Some(range)),
            "increase" => extrapolated(samples, start, end, true, None),
            "delta" => extrapolated(samples, start, end, false, None),
            "avg_over_time" => {
                let count: f64 = samples.iter().map(|sample| sample.count).sum();
                (count > 0.0).then(|| samples.iter().map(|sample| sample.sum).sum::<f64>() / count)
            }
            "max_over_time" => samples.iter().map(|sample| sample.max).reduce(f64::max),
            "min_over_time" => samples.iter().map(|sample| sample.min).reduce(f64::min),
            other => return Err(unsupported(format_args!("the function {other}()"))),
        };
        if let Some(value) = value {
            out.push((without_name(series.labels.clone()), value));
        }
    }
    Ok(Value::Vector(out))
}

/// Prometheus's `extrapolatedRate`: the change from the first to the last sample in
/// `(start, end]`, with counter resets added back when `counter`, extrapolated towards
/// the range's ends (at most half an average sample interval beyond the samples, and for
/// a counter never below zero); per second of the range when `per_second_of` is given.
/// `None` with fewer than two samples.
fn extrapolated(
    samples: &[Sample],
    start: i64,
    end: i64,
    counter: bool,
    per_second_of: Option<i64>,
) -> Option<f64> {
    let (first, last) = match samples {
        [first, .., last] => (first, last),
        _ => return None,
    };
    let mut result = last.last - first.last;
    if counter {
        let mut previous = first.last;
        for sample in &samples[1..] {
            if sample.last < previous {
                result += previous;
            }
            previous = sample.last;
        }
    }
    let seconds = |ms: i64| ms as f64 / 1000.0;
    let sampled = seconds(last.t - first.t);
    let average_gap = sampled / (samples.len() - 1) as f64;
    let threshold = average_gap * 1.1;
    let mut to_start = seconds(first.t - start);
    let mut to_end = seconds(end - last.t);
    if to_start >= threshold {
        to_start = average_gap / 2.0;
    }
    if counter && result > 0.0 && first.last >= 0.0 {
        // A counter extrapolated back past zero would have started below it.
        to_start = to_start.min(sampled * (first.last / result));
    }
    if to_end >= threshold {
        to_end = average_gap / 2.0;
    }
    let factor = (sampled + to_start + to_end) / sampled;
    let mut value = result * factor;
    if let Some(range) = per_second_of {
        value /= seconds(range);
    }
    Some(value)
}

fn aggregate_items(
    aggregator: Aggregator,
    modifier: Option<&LabelModifier>,
    items: Vec<(Labels, f64)>,
) -> Vec<(Labels, f64)> {
    let mut groups: BTreeMap<Labels, Vec<f64>> = BTreeMap::new();
    for (labels, value) in items {
        let key: Labels = match modifier {
            Some(LabelModifier::Include(names)) => labels
                .into_iter()
                .filter(|(name, _)| names.labels.contains(name))
                .collect(),
            Some(LabelModifier::Exclude(names)) => labels
                .into_iter()
                .filter(|(name, _)| name != NAME && !names.labels.contains(name))
                .collect(),
            None => Labels::new(),
        };
        groups.entry(key).or_default().push(value);
    }
    groups
        .into_iter()
        .map(|(labels, values)| {
            let count = values.len() as f64;
            let value = match aggregator {
                Aggregator::Sum => values.iter().sum(),
                Aggregator::Avg => values.iter().sum::<f64>() / count,
                Aggregator::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
                Aggregator::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                Aggregator::Count => count,
            };
            (labels, value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        let mut labels: Labels = pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        labels.insert(NAME.into(), "upcount_value".into());
        labels
    }

    /// A series sampled every 15 minutes from t = 0 with `values`.
    fn series(pairs: &[(&str, &str)], values: &[f64]) -> Series {
        Series {
            labels: labels(pairs),
            lookback_ms: 30 * MIN,
            samples: values
                .iter()
                .enumerate()
                .map(|(i, value)| Sample::raw(i as i64 * 15 * MIN, *value))
                .collect(),
        }
    }

    fn data() -> Vec<Series> {
        vec![
            series(
                &[
                    ("tracker", "a"),
                    ("metric", "stars"),
                    ("kind", "github.repo"),
                ],
                &[100.0, 110.0, 130.0, 160.0, 200.0],
            ),
            series(
                &[
                    ("tracker", "b"),
                    ("metric", "stars"),
                    ("kind", "github.repo"),
                ],
                &[10.0, 10.0, 20.0, 5.0, 15.0],
            ),
            series(
                &[
                    ("tracker", "c"),
                    ("metric", "downloads"),
                    ("kind", "crates.crate"),
                ],
                &[1.0, 2.0, 3.0, 4.0, 5.0],
            ),
        ]
    }

    fn run(query: &str, t: i64) -> Result<Value, PromError> {
        let expr = parse(query)?;
        check(&expr)?;
        eval(&expr, t, &data())
    }

    fn vector(query: &str, t: i64) -> Vec<(String, f64)> {
        match run(query, t) {
            Ok(Value::Vector(items)) => items
                .into_iter()
                .map(|(labels, value)| {
                    let shown: Vec<String> = labels
                        .iter()
                        .filter(|(name, _)| matches!(name.as_str(), "tracker" | "metric" | NAME))
                        .map(|(name, value)| format!("{name}={value}"))
                        .collect();
                    (shown.join(","), value)
                })
                .collect(),
            other => panic!("{query}: {other:?}"),
        }
    }

    fn close(left: f64, right: f64) -> bool {
        (left - right).abs() < 1e-9
    }

    #[test]
    fn selectors_match_by_each_operator() {
        let at = 60 * MIN;
        assert_eq!(
            vector(r#"upcount_value{metric="stars"}"#, at),
            vec![
                (
                    "__name__=upcount_value,metric=stars,tracker=a".into(),
                    200.0
                ),
                ("__name__=upcount_value,metric=stars,tracker=b".into(), 15.0)
            ]
        );
        assert_eq!(
            vector(r#"upcount_value{metric!="stars"}"#, at),
            vec![(
                "__name__=upcount_value,metric=downloads,tracker=c".into(),
                5.0
            )]
        );
        assert_eq!(
            vector(r#"upcount_value{kind=~"github\\..*", tracker!~"a|c"}"#, at).len(),
            1
        );
        assert_eq!(
            vector(r#"{__name__="upcount_value", tracker="c"}"#, at)[0].1,
            5.0
        );
        assert!(vector(r#"other_metric"#, at).is_empty());
    }

    #[test]
    fn an_instant_selector_looks_back_as_far_as_the_series_allows() {
        // 10 minutes after the last sample: still it; 31 minutes after: none.
        assert_eq!(
            vector(r#"upcount_value{tracker="a"}"#, 70 * MIN)[0].1,
            200.0
        );
        assert!(vector(r#"upcount_value{tracker="a"}"#, 91 * MIN).is_empty());
        // Between samples: the newer one at or before.
        assert_eq!(
            vector(r#"upcount_value{tracker="a"}"#, 20 * MIN)[0].1,
            110.0
        );
        // Offset moves the instant back.
        assert_eq!(
            vector(r#"upcount_value{tracker="a"} offset 30m"#, 60 * MIN)[0].1,
            130.0
        );
    }

    #[test]
    fn increase_and_rate_extrapolate_as_prometheus_does() {
        // (0, 60m] holds the samples at 15, 30, 45 and 60 min: 110 → 200 over 45 min,
        // average gap 15 min; the start is 15 min from the first sample (≥ 1.1 × 15? no:
        // 15 < 16.5, so extrapolated all the way), the end is the last sample.
        // 90 × (45 + 15 + 0) / 45 = 120.
        let increase = vector(r#"increase(upcount_value{tracker="a"}[1h])"#, 60 * MIN);
        assert_eq!(increase.len(), 1);
        assert!(close(increase[0].1, 120.0), "{increase:?}");
        // The name goes, as in Prometheus.
        assert_eq!(increase[0].0, "metric=stars,tracker=a");
        let rate = vector(r#"rate(upcount_value{tracker="a"}[1h])"#, 60 * MIN);
        assert!(close(rate[0].1, 120.0 / 3600.0), "{rate:?}");
    }

    #[test]
    fn a_counter_reset_is_added_back_but_delta_takes_the_drop() {
        // b in (0, 60m]: 10, 20, 5, 15. Increase: 15 − 10 + 20 (reset) = 25, over 45 min
        // extrapolated to 60: capped at zero's distance, 45 × 10/25 = 18 min < 15? no:
        // 18 > 15, so the full 15 min: 25 × 60/45.
        let increase = vector(r#"increase(upcount_value{tracker="b"}[1h])"#, 60 * MIN);
        assert!(close(increase[0].1, 25.0 * 60.0 / 45.0), "{increase:?}");
        // delta: 15 − 10 = 5, × 60/45.
        let delta = vector(r#"delta(upcount_value{tracker="b"}[1h])"#, 60 * MIN);
        assert!(close(delta[0].1, 5.0 * 60.0 / 45.0), "{delta:?}");
    }

    #[test]
    fn a_counter_is_not_extrapolated_below_zero() {
        let data = vec![Series {
            labels: labels(&[("tracker", "z")]),
            lookback_ms: 30 * MIN,
            samples: vec![Sample::raw(15 * MIN, 1.0), Sample::raw(30 * MIN, 11.0)],
        }];
        let expr = parse("increase(upcount_value[30m])").expect("parses");
        let Ok(Value::Vector(items)) = eval(&expr, 30 * MIN, &data) else {
            panic!("a vector");
        };
        // Result 10 over 15 min; back to the start would be 15 min, but zero is 1.5 min
        // before the first sample: 10 × (15 + 1.5) / 15 = 11.
        assert!(close(items[0].1, 11.0), "{items:?}");
    }

    #[test]
    fn fewer_than_two_samples_have_no_rate() {
        assert!(vector(r#"rate(upcount_value{tracker="a"}[10m])"#, 60 * MIN).is_empty());
    }

    #[test]
    fn over_time_functions_use_the_buckets_figures() {
        let at = 60 * MIN;
        assert_eq!(
            vector(r#"max_over_time(upcount_value{tracker="b"}[1h])"#, at)[0].1,
            20.0
        );
        assert_eq!(
            vector(r#"min_over_time(upcount_value{tracker="b"}[1h])"#, at)[0].1,
            5.0
        );
        assert_eq!(
            vector(r#"avg_over_time(upcount_value{tracker="b"}[1h])"#, at)[0].1,
            (10.0 + 20.0 + 5.0 + 15.0) / 4.0
        );
        // A bucket counts for as many samples as it holds.
        let data = vec![Series {
            labels: labels(&[]),
            lookback_ms: 30 * MIN,
            samples: vec![
                Sample {
                    t: 60 * MIN,
                    last: 4.0,
                    min: 1.0,
                    max: 9.0,
                    sum: 12.0,
                    count: 3.0,
                },
                Sample::raw(61 * MIN, 8.0),
            ],
        }];
        let expr = parse("avg_over_time(upcount_value[2h])").expect("parses");
        assert_eq!(
            eval(&expr, 61 * MIN, &data),
            Ok(Value::Vector(vec![(Labels::new(), 5.0)]))
        );
    }

    #[test]
    fn sum_by_groups_and_sum_without_drops() {
        let at = 60 * MIN;
        assert_eq!(
            vector(r#"sum by (metric) (upcount_value)"#, at),
            vec![
                ("metric=downloads".into(), 5.0),
                ("metric=stars".into(), 215.0)
            ]
        );
        assert_eq!(
            vector(r#"sum(upcount_value)"#, at),
            vec![("".into(), 220.0)]
        );
        assert_eq!(
            vector(r#"sum without (tracker, kind) (upcount_value)"#, at),
            vec![
                ("metric=downloads".into(), 5.0),
                ("metric=stars".into(), 215.0)
            ]
        );
        assert_eq!(
            vector(r#"max by (kind) (upcount_value)"#, at),
            vec![("".into(), 5.0), ("".into(), 200.0)]
        );
        assert_eq!(
            vector(r#"count(upcount_value)"#, at),
            vec![("".into(), 3.0)]
        );
        assert_eq!(
            vector(
                r#"sum by (metric) (increase(upcount_value{metric="stars"}[1h]))"#,
                at
            )
            .len(),
            1
        );
    }

    #[test]
    fn numbers_and_vectors_combine_with_numbers() {
        assert_eq!(run("1+1", 0), Ok(Value::Scalar(2.0)));
        assert_eq!(run("-(2^3)", 0), Ok(Value::Scalar(-8.0)));
        let at = 60 * MIN;
        assert_eq!(
            vector(r#"upcount_value{tracker="a"} / 100"#, at),
            vec![("metric=stars,tracker=a".into(), 2.0)]
        );
        assert_eq!(vector(r#"upcount_value > 100"#, at).len(), 1);
        assert_eq!(vector(r#"upcount_value > bool 100"#, at).len(), 3);
    }

    #[test]
    fn what_is_not_supported_is_named() {
        for (query, named) in [
            (
                "histogram_quantile(0.9, upcount_value)",
                "the function histogram_quantile()",
            ),
            ("topk(3, upcount_value)", "the aggregation topk"),
            (
                "upcount_value + upcount_value",
                "an operator between two vectors",
            ),
            ("max_over_time(upcount_value[1h:5m])", "a subquery"),
            ("upcount_value @ 100", "the @ modifier"),
            ("upcount_value and upcount_value", "the operator and"),
        ] {
            let expr = parse(query).expect("valid PromQL");
            match check(&expr) {
                Err(PromError::Unsupported(message)) => {
                    assert!(message.starts_with(named), "{query}: {message}")
                }
                other => panic!("{query}: {other:?}"),
            }
        }
        assert!(matches!(
            run("upcount_value{", 0),
            Err(PromError::BadData(_))
        ));
        assert!(matches!(
            run("upcount_value[5m]", 0),
            Err(PromError::BadData(_))
        ));
    }
}
