//! A user's JMESPath expression, bounded before and while it runs.
//!
//! Expressions come from people (the add form, the REST API) and run on the web process
//! (previews) and the workers (polls), so an expression must not be able to take a
//! process down. Three limits hold:
//! - **length**: at most [`MAX_CHARS`] characters;
//! - **nesting**: at most [`MAX_NESTING`] levels of brackets, prefix operators (`!`, `&`)
//!   and projections, counted on the text *before* the `jmespath` parser (which recurses
//!   once a level) sees it, so a 50,000-deep `!!!…` never reaches it;
//! - **cost**: the compiled expression's worst case, in values visited per value of the
//!   document, is at most [`MAX_COST`]; each projection, flatten, list or pipe multiplies
//!   it, which refuses `[@,@][] | [@,@][] | …` (doubling each time) however short. At run
//!   time, cost × the document's size must stay under [`MAX_WORK`], so an accepted
//!   expression whose document grows too large fails that evaluation instead of running
//!   away.

use std::fmt;

use jmespath::ast::Ast;

/// The longest expression, in characters.
pub const MAX_CHARS: usize = 500;
/// The deepest nesting of brackets, prefix operators and projections.
pub const MAX_NESTING: usize = 32;
/// The highest worst-case cost, in values visited per value of the document.
pub const MAX_COST: f64 = 1_000.0;
/// The most values one evaluation may visit (cost × the document's values).
pub const MAX_WORK: f64 = 20_000_000.0;
/// The most metrics one source may read.
pub const MAX_METRICS: usize = 20;

/// A JMESPath expression within every limit.
#[derive(Clone)]
pub struct JmesPath {
    text: String,
    compiled: jmespath::Expression<'static>,
    cost: f64,
}

/// Why an expression was refused.
#[derive(Clone, Debug, PartialEq)]
pub enum JmesPathError {
    TooLong { chars: usize },
    TooDeep,
    TooCostly,
    Syntax(String),
}

impl fmt::Display for JmesPathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JmesPathError::TooLong { chars } => write!(
                f,
                "is {chars} characters long; the limit is {MAX_CHARS} characters per expression"
            ),
            JmesPathError::TooDeep => write!(
                f,
                "nests deeper than the limit of {MAX_NESTING} levels (brackets, `!`, `&` and projections)"
            ),
            JmesPathError::TooCostly => write!(
                f,
                "could visit more than {MAX_COST} values per value of the document (the cost limit): \
                 chained projections, flattens and lists multiply it"
            ),
            JmesPathError::Syntax(error) => write!(f, "is not valid JMESPath ({error})"),
        }
    }
}

impl JmesPathError {
    /// A syntax error is the user's typo; the others are limits.
    pub fn is_limit(&self) -> bool {
        !matches!(self, JmesPathError::Syntax(_))
    }
}

impl JmesPath {
    pub fn parse(text: &str) -> Result<Self, JmesPathError> {
        let chars = text.chars().count();
        if chars > MAX_CHARS {
            return Err(JmesPathError::TooLong { chars });
        }
        if nesting(text) > MAX_NESTING {
            return Err(JmesPathError::TooDeep);
        }
        let compiled =
            jmespath::compile(text).map_err(|error| JmesPathError::Syntax(error.to_string()))?;
        let cost = cost_of(compiled.as_ast()).work;
        if cost.is_nan() || cost > MAX_COST {
            return Err(JmesPathError::TooCostly);
        }
        Ok(Self {
            text: text.to_string(),
            compiled,
            cost,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The expression as messages quote it: at most 60 characters.
    pub fn shown(&self) -> String {
        shown(&self.text)
    }

    /// The worst case, in values visited per value of the document.
    pub fn cost(&self) -> f64 {
        self.cost
    }

    /// Evaluates the expression on `document`, unless its worst case there exceeds
    /// [`MAX_WORK`].
    pub fn search(&self, document: &serde_json::Value) -> Result<jmespath::Rcvar, String> {
        let values = count_values(document);
        let work = self.cost * values as f64;
        if work > MAX_WORK {
            return Err(format!(
                "could visit {work:.0} values on this document of {values} values, over the \
                 limit of {MAX_WORK:.0} per evaluation"
            ));
        }
        self.compiled
            .search(document)
            .map_err(|error| format!("failed: {error}"))
    }
}

impl fmt::Debug for JmesPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("JmesPath").field(&self.text).finish()
    }
}

/// `text` as messages quote it: at most 60 characters, so a refused 50,000-character
/// expression is not echoed back whole.
pub fn shown(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(60).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

/// How deeply `text` nests, read without the parser: brackets, parentheses and braces
/// open a level until they close; a prefix `!` or `&` and each projection (`*`, `[]`,
/// `[?…]`, `[a:b]`) add one until the group around them closes or a pipe, comma, `||`,
/// `&&` or comparison ends them (the parser returns to the group's level there). Quoted identifiers, raw
/// strings and literals are skipped. An over-estimate at worst, which is the safe side.
fn nesting(text: &str) -> usize {
    /// An open bracket: the levels opened inside it, and whether it projects.
    struct Group {
        opened: usize,
        /// Levels of `&`: its expression takes everything up to a comma or the group's
        /// end (pipes and `||` included), so only those close them.
        referenced: usize,
        projects: bool,
    }
    let bytes = text.as_bytes();
    let mut groups = vec![Group {
        opened: 0,
        referenced: 0,
        projects: false,
    }];
    let mut depth = 0usize;
    let mut deepest = 0usize;
    let mut i = 0;
    let open_level = |groups: &mut Vec<Group>, depth: &mut usize| {
        *depth += 1;
        if let Some(group) = groups.last_mut() {
            group.opened += 1;
        }
    };
    let close_levels = |groups: &mut Vec<Group>, depth: &mut usize| {
        if let Some(group) = groups.last_mut() {
            *depth = depth.saturating_sub(group.opened);
            group.opened = 0;
        }
    };
    while i < bytes.len() {
        let byte = bytes[i];
        match byte {
            b'"' | b'\'' | b'`' => {
                // Skip to the matching unescaped quote.
                i += 1;
                while i < bytes.len() && bytes[i] != byte {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                groups.push(Group {
                    opened: 0,
                    referenced: 0,
                    projects: byte == b'[' && bytes.get(i + 1) == Some(&b']'),
                });
            }
            b')' | b']' | b'}' if groups.len() > 1 => {
                let group = groups.pop().unwrap_or(Group {
                    opened: 0,
                    referenced: 0,
                    projects: false,
                });
                depth = depth.saturating_sub(group.opened + group.referenced + 1);
                // A projection goes on over the rest of the enclosing group.
                if group.projects {
                    open_level(&mut groups, &mut depth);
                }
            }
            b'?' | b':' => {
                if let Some(group) = groups.last_mut() {
                    group.projects = true;
                }
            }
            // A pipe, `||`, `&&` or a comparison ends every projection and `!` of its
            // group: the parser returns to the group's level (or to the open `&`).
            b'|' | b'=' | b'<' | b'>' => close_levels(&mut groups, &mut depth),
            // A comma ends everything of the list element before it, `&` too.
            b',' => {
                close_levels(&mut groups, &mut depth);
                if let Some(group) = groups.last_mut() {
                    depth = depth.saturating_sub(group.referenced);
                    group.referenced = 0;
                }
            }
            b'!' if bytes.get(i + 1) == Some(&b'=') => close_levels(&mut groups, &mut depth),
            b'!' => open_level(&mut groups, &mut depth),
            b'&' if bytes.get(i + 1) == Some(&b'&') => {
                close_levels(&mut groups, &mut depth);
                i += 1;
            }
            b'&' => {
                depth += 1;
                if let Some(group) = groups.last_mut() {
                    group.referenced += 1;
                }
            }
            b'*' => {
                if let Some(group) = groups.last_mut() {
                    group.projects = true;
                }
                open_level(&mut groups, &mut depth);
            }
            _ => {}
        }
        deepest = deepest.max(depth);
        i += 1;
    }
    deepest
}

/// The worst case of an expression relative to its input: `size`, how many values its
/// result can hold per value of the input, and `work`, how many values it can visit.
#[derive(Clone, Copy, Debug)]
struct Cost {
    size: f64,
    work: f64,
}

impl Cost {
    const LEAF: Cost = Cost {
        size: 1.0,
        work: 1.0,
    };

    /// `then` applied to what `self` yields (a pipe, a sub-expression or a projection).
    fn then(self, then: Cost) -> Cost {
        Cost {
            size: self.size * then.size,
            work: self.work + self.size * then.work,
        }
    }

    /// Several expressions evaluated on the same input, their results kept together.
    fn together(costs: impl IntoIterator<Item = Cost>) -> Cost {
        costs.into_iter().fold(
            Cost {
                size: 0.0,
                work: 1.0,
            },
            |all, cost| Cost {
                size: all.size + cost.size,
                work: all.work + cost.work + cost.size,
            },
        )
    }
}

fn cost_of(ast: &Ast) -> Cost {
    match ast {
        Ast::Identity { .. }
        | Ast::Field { .. }
        | Ast::Index { .. }
        | Ast::Literal { .. }
        | Ast::Slice { .. } => Cost::LEAF,
        Ast::Subexpr { lhs, rhs, .. } | Ast::Projection { lhs, rhs, .. } => {
            cost_of(lhs).then(cost_of(rhs))
        }
        Ast::Flatten { node, .. } | Ast::ObjectValues { node, .. } => {
            let inner = cost_of(node);
            Cost {
                size: inner.size,
                work: inner.work + inner.size,
            }
        }
        Ast::Not { node, .. } => Cost {
            size: 1.0,
            work: cost_of(node).work + 1.0,
        },
        Ast::Expref { ast, .. } => cost_of(ast),
        Ast::Comparison { lhs, rhs, .. } | Ast::And { lhs, rhs, .. } | Ast::Or { lhs, rhs, .. } => {
            Cost::together([cost_of(lhs), cost_of(rhs)])
        }
        Ast::Condition {
            predicate, then, ..
        } => {
            let (predicate, then) = (cost_of(predicate), cost_of(then));
            Cost {
                size: then.size,
                work: predicate.work + then.work,
            }
        }
        Ast::MultiList { elements, .. } => Cost::together(elements.iter().map(cost_of)),
        Ast::MultiHash { elements, .. } => {
            Cost::together(elements.iter().map(|pair| cost_of(&pair.value)))
        }
        Ast::Function { args, .. } => {
            // A function's result holds at most its arguments; one taking an expression
            // (`map`, `sort_by`, `max_by`, …) runs it once per value of the others.
            let values = Cost::together(
                args.iter()
                    .filter(|arg| !matches!(arg, Ast::Expref { .. }))
                    .map(cost_of),
            );
            let per_value = args
                .iter()
                .filter(|arg| matches!(arg, Ast::Expref { .. }))
                .map(cost_of)
                .reduce(|a, b| Cost {
                    size: a.size.max(b.size),
                    work: a.work + b.work,
                });
            match per_value {
                Some(per_value) => values.then(per_value),
                None => values,
            }
        }
    }
}

/// How many values `document` holds, counted without recursion.
fn count_values(document: &serde_json::Value) -> usize {
    let mut count = 0;
    let mut stack = vec![document];
    while let Some(value) = stack.pop() {
        count += 1;
        match value {
            serde_json::Value::Array(items) => stack.extend(items),
            serde_json::Value::Object(fields) => stack.extend(fields.values()),
            _ => {}
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refused(text: &str) -> JmesPathError {
        match JmesPath::parse(text) {
            Ok(path) => panic!("{text:.60} was accepted with cost {}", path.cost()),
            Err(error) => error,
        }
    }

    #[test]
    fn everyday_expressions_pass_with_a_small_cost() {
        for text in [
            "data.count",
            "data.items[0].\"download-count\"",
            "length(data.items[?status == 'open'])",
            "sum(data.items[*].price)",
            "max_by(items, &count).count",
            "items[*].tags[] | length(@)",
            "{a: a, b: b}.a",
            "!disabled",
            "a || b && c",
            "`[1, [2, [3]]]` | length(@)",
            "\"((((((((((((((((((((((((((((((((((((\"",
        ] {
            let path = JmesPath::parse(text).unwrap_or_else(|error| panic!("{text}: {error}"));
            assert!(path.cost() < 50.0, "{text}: {}", path.cost());
        }
    }

    #[test]
    fn long_expressions_are_refused_before_parsing() {
        let text = "a.".repeat(300) + "b";
        assert_eq!(refused(&text), JmesPathError::TooLong { chars: 601 });
        assert!(refused(&text).to_string().contains("500 characters"));
    }

    #[test]
    fn deep_expressions_never_reach_the_parser() {
        for bomb in [
            "!".repeat(50_000) + "a",
            "(".repeat(50_000) + "a" + &")".repeat(50_000),
            "!".repeat(40) + "a",
            "(".repeat(40) + "a" + &")".repeat(40),
            "[".repeat(40) + "a" + &"]".repeat(40),
            "a".to_string() + &"[*]".repeat(40),
            "& ".repeat(40) + "a",
            "&a|".repeat(100) + "a",
            "&a || ".repeat(60) + "a",
        ] {
            let error = refused(&bomb);
            assert!(
                matches!(
                    error,
                    JmesPathError::TooDeep | JmesPathError::TooLong { .. }
                ),
                "{bomb:.20}: {error:?}"
            );
        }
        assert!(refused(&"!".repeat(40)).to_string().contains("32 levels"));
        assert!(JmesPath::parse(&("!".repeat(30) + "a")).is_ok());
    }

    #[test]
    fn exponential_expressions_are_refused_by_cost() {
        let bomb = format!("length({}@)", "[@,@][] | ".repeat(40));
        assert!(bomb.len() < MAX_CHARS);
        let error = refused(&bomb);
        assert_eq!(error, JmesPathError::TooCostly);
        assert!(error.to_string().contains("cost limit"));
        let nested_map = format!("{}@{}", "map(&[@,@], ".repeat(12), ")".repeat(12));
        assert_eq!(refused(&nested_map), JmesPathError::TooCostly);
        let projections = "a[*][*][*][*][*][*][*][*][*][*]".to_string();
        assert!(JmesPath::parse(&projections).is_ok());
    }

    #[test]
    fn a_document_too_large_for_the_expression_fails_that_evaluation() {
        let path = JmesPath::parse("[@,@,@,@][] | [@,@,@,@][] | [@,@,@,@][] | length(@)")
            .expect("within the cost limit");
        let small = json!([1, 2, 3]);
        assert!(path.search(&small).is_ok());
        let large = serde_json::Value::Array(vec![json!(1); 100_000]);
        let error = path.search(&large).unwrap_err();
        assert!(error.contains("limit"), "{error}");
    }

    #[test]
    fn syntax_errors_are_not_limits() {
        let error = refused("data.[");
        assert!(!error.is_limit());
        assert!(error.to_string().contains("not valid JMESPath"));
    }
}
