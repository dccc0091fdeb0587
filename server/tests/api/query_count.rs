//! Counting the SQL statements a request makes: a `tracing` layer sees sqlx's statement
//! log (target `sqlx::query`) and credits each to the request whose span (`request`, with
//! the `x-request-id` the test sent) it ran in. Tests run in parallel in one process; the
//! request id keeps their counts apart.

use std::{
    collections::HashMap,
    sync::{LazyLock, Mutex},
};

use tracing::{
    Event, Subscriber,
    field::{Field, Visit},
    span::{Attributes, Id},
};
use tracing_subscriber::{Layer, layer::Context, registry::LookupSpan};

static STATEMENTS: LazyLock<Mutex<HashMap<String, Vec<String>>>> = LazyLock::new(Mutex::default);

/// The statements (their SQL) the request sent with `x-request-id: request_id` made.
pub fn statements_of(request_id: &str) -> Vec<String> {
    STATEMENTS
        .lock()
        .map(|statements| statements.get(request_id).cloned().unwrap_or_default())
        .unwrap_or_default()
}

/// The SQL of a statement event (`db.statement`, or its `summary`).
#[derive(Default)]
struct FindStatement(Option<String>);

impl Visit for FindStatement {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "db.statement" || (field.name() == "summary" && self.0.is_none()) {
            self.0 = Some(value.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "db.statement" || (field.name() == "summary" && self.0.is_none()) {
            let text = format!("{value:?}");
            self.0 = Some(text.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
}

/// The request id a `request` span was made with.
struct RequestId(String);

#[derive(Default)]
struct FindRequestId(Option<String>);

impl Visit for FindRequestId {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "request_id" {
            self.0 = Some(value.to_string());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "request_id" {
            self.0 = Some(format!("{value:?}").trim_matches('"').to_string());
        }
    }
}

/// The layer; install it with the test subscriber, filtered by [`StatementCounter::wants`].
pub struct StatementCounter;

impl StatementCounter {
    /// What the layer needs to see: sqlx's statements and the request spans (a layer's
    /// filter also decides which spans it is shown).
    pub fn wants(metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target() == "sqlx::query" || (metadata.is_span() && metadata.name() == "request")
    }
}

impl<S> Layer<S> for StatementCounter
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attributes: &Attributes<'_>, id: &Id, context: Context<'_, S>) {
        if attributes.metadata().name() != "request" {
            return;
        }
        let mut found = FindRequestId::default();
        attributes.record(&mut found);
        if let (Some(request_id), Some(span)) = (found.0, context.span(id)) {
            span.extensions_mut().insert(RequestId(request_id));
        }
    }

    fn on_event(&self, event: &Event<'_>, context: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let Some(scope) = context.event_scope(event) else {
            return;
        };
        for span in scope {
            if let Some(RequestId(request_id)) = span.extensions().get::<RequestId>()
                && !request_id.is_empty()
            {
                let mut statement = FindStatement::default();
                event.record(&mut statement);
                let statement = statement.0.unwrap_or_default();
                // sqlx looks a custom type up once per connection: not the request's.
                if statement.contains("FROM pg_catalog.pg_type")
                    || statement.contains("JOIN pg_catalog.pg_type")
                {
                    return;
                }
                if let Ok(mut statements) = STATEMENTS.lock() {
                    statements
                        .entry(request_id.clone())
                        .or_default()
                        .push(statement);
                }
                return;
            }
        }
    }
}
