//! One-shot messages for the next page a user sees, after a form posted to the server:
//! the form's errors with the values to fill back in, a notice, or a new token to show
//! once. The server stores them in the session and takes them out when the page renders.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    /// The form the errors and values belong to (`sign-in`, `new-token`, …).
    pub form: Option<String>,
    /// An error about the form as a whole.
    pub error: Option<String>,
    /// Errors next to fields, by field name.
    pub field_errors: BTreeMap<String, String>,
    /// Values to put back into the form (never passwords).
    pub values: BTreeMap<String, String>,
    /// A confirmation ("Password changed").
    pub notice: Option<String>,
    /// A token just created: shown once, never again.
    pub new_token: Option<NewTokenShown>,
    /// A webhook's signing secret, just made: shown once, never again.
    #[serde(default)]
    pub new_secret: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTokenShown {
    pub name: String,
    pub token: String,
}

impl Flash {
    pub fn for_form(form: &str) -> Self {
        Self {
            form: Some(form.to_string()),
            ..Self::default()
        }
    }

    pub fn notice(message: impl Into<String>) -> Self {
        Self {
            notice: Some(message.into()),
            ..Self::default()
        }
    }

    pub fn with_error(mut self, message: impl Into<String>) -> Self {
        self.error = Some(message.into());
        self
    }

    pub fn with_field_error(mut self, field: &str, message: impl Into<String>) -> Self {
        self.field_errors.insert(field.to_string(), message.into());
        self
    }

    pub fn with_value(mut self, field: &str, value: &str) -> Self {
        // Values come back into an input; a 10 KB paste is not worth keeping.
        self.values
            .insert(field.to_string(), value.chars().take(300).collect());
        self
    }

    pub fn has_errors(&self) -> bool {
        self.error.is_some() || !self.field_errors.is_empty()
    }

    /// The messages of `form`, if these are its messages.
    pub fn of(flash: &Option<Flash>, form: &str) -> Option<Flash> {
        flash
            .as_ref()
            .filter(|flash| flash.form.as_deref() == Some(form))
            .cloned()
    }

    pub fn field_error(&self, field: &str) -> Option<String> {
        self.field_errors.get(field).cloned()
    }

    pub fn value(&self, field: &str) -> String {
        self.values.get(field).cloned().unwrap_or_default()
    }
}
