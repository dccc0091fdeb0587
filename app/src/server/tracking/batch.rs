//! Fetching many sources in one request: the sources' keys go into the request, and the
//! answer's items are matched back to the sources by key, one outcome per source in the
//! sources' order. (Kinds that fetch one source a request need none of this: see
//! `Provider::readings`.)

use std::{collections::HashMap, marker::PhantomData};

use serde::{Deserialize, Deserializer, de::DeserializeOwned};

use super::{FetchError, Readings, SourceRef, excerpt, providers::BatchOutcome};

/// The keys of `sources`, for an upstream that takes many in one request.
pub fn keys(sources: &[SourceRef]) -> Vec<&str> {
    sources.iter().map(|source| source.key.as_str()).collect()
}

/// One item of a batch answer, read into `T` on its own: an item not shaped like `T` fails
/// its own source, with its own excerpt, not the whole request. `K` reads the item's key
/// (by default its `id`) apart from `T`, so that a malformed item still reaches its source.
pub struct Each<T, K = Id> {
    key: Option<String>,
    item: Result<T, FetchError>,
    /// The item as the upstream sent it, for the excerpt of [`Each::unreadable`].
    excerpt: String,
    key_of: PhantomData<fn() -> K>,
}

/// What identifies an item of a batch answer, read apart from the rest of it.
pub trait ItemKey: DeserializeOwned {
    fn key(self) -> String;
}

/// The `id` most batch APIs key their items by.
#[derive(Deserialize)]
pub struct Id {
    id: String,
}

impl ItemKey for Id {
    fn key(self) -> String {
        self.id
    }
}

impl<'de, T: DeserializeOwned, K: ItemKey> Deserialize<'de> for Each<T, K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let excerpt = excerpt(value.to_string().as_bytes());
        let key = K::deserialize(&value).ok().map(K::key);
        let item = T::deserialize(&value).map_err(|error| FetchError::Parse {
            message: format!("an item of the answer is not what was expected ({error})"),
            excerpt: excerpt.clone(),
        });
        Ok(Self {
            key,
            item,
            excerpt,
            key_of: PhantomData,
        })
    }
}

impl<T, K> Each<T, K> {
    /// The item's key, when it has one.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The item, or the parse error saying how it is not shaped like `T`.
    pub fn item(&self) -> Result<&T, FetchError> {
        self.item.as_ref().map_err(Clone::clone)
    }

    /// [`Each::item`], owned.
    pub fn into_item(self) -> Result<T, FetchError> {
        self.item
    }

    /// A parse error for an item that is shaped like `T` and still cannot be read (it has
    /// none of the counts that are each optional), with the item as its excerpt.
    pub fn unreadable(&self, message: impl Into<String>) -> FetchError {
        FetchError::Parse {
            message: message.into(),
            excerpt: self.excerpt.clone(),
        }
    }
}

/// A batch answer's items by their keys; an item without one is left out.
pub fn by_key<T, K>(items: impl IntoIterator<Item = Each<T, K>>) -> HashMap<String, Each<T, K>> {
    items
        .into_iter()
        .filter_map(|item| Some((item.key.clone()?, item)))
        .collect()
}

/// Each source's outcome from one batch answer: `read(key, item)` of the item `found` has
/// for its key, the item's parse error when it is malformed, or `gone(key)` when the
/// answer left it out (how batch APIs say "unknown").
pub fn read_each<T, K>(
    sources: &[SourceRef],
    found: &HashMap<String, Each<T, K>>,
    gone: impl Fn(&str) -> FetchError,
    read: impl Fn(&str, &T) -> Result<Readings, FetchError>,
) -> BatchOutcome {
    sources
        .iter()
        .map(|source| {
            let item = found.get(&source.key).ok_or_else(|| gone(&source.key))?;
            read(&source.key, item.item()?)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Counted {
        count: f64,
    }

    #[test]
    fn a_malformed_item_fails_its_own_source_only() {
        let items: Vec<Each<Counted>> = serde_json::from_value(json!([
            { "id": "a", "count": 1 },
            { "id": "b", "count": "many" },
            { "id": "d" },
            { "count": 3 },
        ]))
        .expect("the answer reads even with a malformed item");
        let found = by_key(items);
        assert_eq!(found.len(), 3, "an item without a key is left out");
        let sources = ["a", "b", "c", "d"].map(SourceRef::new);
        let outcomes = read_each(
            &sources,
            &found,
            |key| FetchError::Gone(key.to_string()),
            |_, item| Ok(Readings::of([("count", Some(item.count))])),
        );
        assert_eq!(
            outcomes[0].as_ref().map(|r| r.value_of("count")),
            Ok(Some(1.0))
        );
        match &outcomes[1] {
            Err(FetchError::Parse { message, excerpt }) => {
                assert!(message.contains("\"many\", expected f64"), "{message}");
                assert!(excerpt.contains("\"id\":\"b\""), "{excerpt}");
            }
            other => panic!("expected a parse error, got {other:?}"),
        }
        assert_eq!(outcomes[2], Err(FetchError::Gone("c".into())));
        match &outcomes[3] {
            Err(FetchError::Parse { message, .. }) => {
                assert!(message.contains("missing field `count`"), "{message}")
            }
            other => panic!("expected a parse error, got {other:?}"),
        }
    }
}
