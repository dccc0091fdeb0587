//! What a link would track, shown before it is saved.

use serde::{Deserialize, Serialize};

use super::ProviderKind;

/// What a link would track, before it is saved: the add form's live preview.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preview {
    /// The provider kind (`github.repo`, `json`) and its name for people.
    pub kind: ProviderKind,
    pub provider: String,
    pub title: String,
    pub author: Option<String>,
    /// The thing itself.
    pub url: String,
    /// (metric, unit, current value): every metric polling would record.
    pub values: Vec<(String, String, Option<f64>)>,
    /// Metrics that could not be read, and why.
    pub problems: Vec<String>,
    /// For a JSON API: the document fetched (JSON text), to pick values from.
    pub document: Option<String>,
}
