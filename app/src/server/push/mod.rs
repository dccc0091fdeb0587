//! Push sources: numbers a workspace sends in itself. A push source is a `sources` row of
//! kind `push` (never polled) with one tracker in its workspace, so its series chart,
//! alert, share and export like polled ones, and a write token (`upp_…`) of its own.
//!
//! Every push format's route does the same three things: find the push source of the
//! request's token ([`authenticate`]), read the body into a
//! [`Batch`](crate::domain::push::Batch) with its format's parser (`domain::push::json`,
//! …), and [`store`] it, answering the [`PushAnswer`].

mod events;
mod sources;
mod store;

pub use events::{EventCursor, StoredEvent, events_page, prune_events, store_events};
pub use sources::{
    CreatedPushSource, KIND, MAX_NAME_CHARS, PushSource, PushSourceChange, PushSourceError,
    PushSourceView, authenticate, check_name, create_push_source, delete_push_source,
    get_push_source, list_push_sources, update_push_source,
};
pub use store::{PushAnswer, PushError, store};

/// The largest push body a route reads (5,000 points with labels fit easily).
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
