use serde::{Deserialize, Serialize};

/// What an API token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type, utoipa::ToSchema))]
#[cfg_attr(
    feature = "ssr",
    sqlx(type_name = "token_scope", rename_all = "lowercase")
)]
#[serde(rename_all = "lowercase")]
pub enum TokenScope {
    /// Read only: GET requests.
    Read,
    /// Read and write.
    Write,
}

impl TokenScope {
    pub fn parse(input: &str) -> Result<Self, String> {
        match input.trim() {
            "read" => Ok(TokenScope::Read),
            "write" => Ok(TokenScope::Write),
            _ => Err("Choose read-only or read-write.".into()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::Write => "write",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TokenScope::Read => "read-only",
            TokenScope::Write => "read-write",
        }
    }
}

/// The name a customer gives an API token: 1 to 100 characters, trimmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenName(String);

impl TokenName {
    pub const MAX_LEN: usize = 100;

    pub fn parse(input: &str) -> Result<Self, String> {
        let name = input.trim();
        if name.is_empty() {
            Err("Give the token a name, such as \"CI\" or \"Grafana\".".into())
        } else if name.chars().count() > Self::MAX_LEN {
            Err(format!("Use at most {} characters.", Self::MAX_LEN))
        } else if name.chars().any(char::is_control) {
            Err("Use letters, digits, spaces and punctuation only.".into())
        } else {
            Ok(Self(name.to_string()))
        }
    }
}

impl AsRef<str> for TokenName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse() {
        assert_eq!(TokenScope::parse("read"), Ok(TokenScope::Read));
        assert_eq!(TokenScope::parse("write"), Ok(TokenScope::Write));
        assert!(TokenScope::parse("admin").is_err());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(TokenName::parse("  CI  ").expect("valid").as_ref(), "CI");
        assert!(TokenName::parse("  ").is_err());
        assert!(TokenName::parse(&"x".repeat(101)).is_err());
        assert!(TokenName::parse("bad\u{0}name").is_err());
    }
}
