//! Fetching many sources in one request: the sources' keys go into the request, and the
//! answer's items are matched back to the sources by key, one outcome per source in the
//! sources' order. (Kinds that fetch one source a request need none of this: see
//! `Provider::readings`.)

use std::collections::HashMap;

use super::{FetchError, Readings, SourceRef, providers::BatchOutcome};

/// The keys of `sources`, for an upstream that takes many in one request.
pub fn keys(sources: &[SourceRef]) -> Vec<&str> {
    sources.iter().map(|source| source.key.as_str()).collect()
}

/// A batch answer's items by the key `key_of` reads from each; an item without one is
/// left out.
pub fn by_key<T>(
    items: impl IntoIterator<Item = T>,
    key_of: impl Fn(&T) -> Option<String>,
) -> HashMap<String, T> {
    items
        .into_iter()
        .filter_map(|item| Some((key_of(&item)?, item)))
        .collect()
}

/// Each source's outcome from one batch answer: `read(key, item)` of the item `find` gives
/// for its key, or `gone(key)` when the answer left it out (how batch APIs say "unknown").
pub fn read_each<'a, T: ?Sized + 'a>(
    sources: &[SourceRef],
    find: impl Fn(&str) -> Option<&'a T>,
    gone: impl Fn(&str) -> FetchError,
    read: impl Fn(&str, &'a T) -> Result<Readings, FetchError>,
) -> BatchOutcome {
    sources
        .iter()
        .map(|source| {
            let item = find(&source.key).ok_or_else(|| gone(&source.key))?;
            read(&source.key, item)
        })
        .collect()
}
