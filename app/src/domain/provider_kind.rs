//! What kind of thing a source is (`github.repo`, `youtube.video`, `json`): the key of the
//! provider registry, stored with every source and never renamed.
//!
//! A kind is lowercase words of letters, digits and `_`, joined by dots: anything else is
//! refused while decoding (a JSON body, a job's payload, a command-line argument), before
//! the registry is asked. Whether a well-formed kind is one Upcount knows is the registry's
//! answer (`Engine::provider`), on the server only.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// The longest kind accepted (the registry's are far shorter).
const MAX_LEN: usize = 64;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "ssr", derive(sqlx::Type), sqlx(transparent))]
#[cfg_attr(
    feature = "ssr",
    derive(utoipa::ToSchema),
    schema(example = "github.repo")
)]
pub struct ProviderKind(String);

/// Why a text is not a provider kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidProviderKind(String);

impl fmt::Display for InvalidProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a provider kind: kinds are lowercase words joined by dots, like `github.repo`",
            self.0
        )
    }
}

impl std::error::Error for InvalidProviderKind {}

impl ProviderKind {
    /// The kind of a JSON API source.
    pub fn json() -> Self {
        Self("json".to_string())
    }

    /// A kind the provider registry declares (`KindSpec::kind`), taken as it is: the
    /// registry's test checks that each one parses.
    #[cfg(feature = "ssr")]
    pub fn registered(kind: &'static str) -> Self {
        Self(kind.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The provider's part: `github` of `github.repo`.
    pub fn provider(&self) -> &str {
        self.0.split('.').next().unwrap_or(&self.0)
    }

    fn is_valid(text: &str) -> bool {
        !text.is_empty()
            && text.len() <= MAX_LEN
            && text.split('.').all(|word| {
                !word.is_empty()
                    && word
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            })
    }
}

impl FromStr for ProviderKind {
    type Err = InvalidProviderKind;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::try_from(text.trim().to_string())
    }
}

impl TryFrom<String> for ProviderKind {
    type Error = InvalidProviderKind;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        if Self::is_valid(&text) {
            Ok(Self(text))
        } else {
            let shown: String = text.chars().take(MAX_LEN).collect();
            Err(InvalidProviderKind(shown))
        }
    }
}

impl From<ProviderKind> for String {
    fn from(kind: ProviderKind) -> Self {
        kind.0
    }
}

impl AsRef<str> for ProviderKind {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for ProviderKind {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for ProviderKind {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_dotted_lowercase_words() {
        for good in [
            "github.repo",
            "json",
            "wikipedia.article",
            "npm.package",
            "x2.y_z",
        ] {
            let kind: ProviderKind = good.parse().expect("a kind");
            assert_eq!(kind.as_str(), good);
            assert_eq!(kind, good);
        }
        for bad in [
            "",
            "GitHub.repo",
            "github.",
            ".repo",
            "github..repo",
            "github repo",
            "github/repo",
            "<script>",
        ] {
            assert!(bad.parse::<ProviderKind>().is_err(), "{bad:?} was accepted");
        }
        assert!("a".repeat(65).parse::<ProviderKind>().is_err());
        assert_eq!(
            "github.repo"
                .parse::<ProviderKind>()
                .map(|kind| kind.provider().to_string()),
            Ok("github".to_string())
        );
    }

    #[test]
    fn a_kind_is_its_text_in_json_and_is_checked_there() {
        let kind: ProviderKind = serde_json::from_str("\"youtube.video\"").expect("a kind");
        assert_eq!(
            serde_json::to_string(&kind).expect("json"),
            "\"youtube.video\""
        );
        let error = serde_json::from_str::<ProviderKind>("\"You Tube\"").expect_err("refused");
        assert!(
            error.to_string().contains("is not a provider kind"),
            "{error}"
        );
    }
}
