//! Reading variables: each helper names the variable in its error.

use std::{str::FromStr, time::Duration};

use super::ConfigError;

/// How variables are looked up: like [`std::env::var`].
pub(super) trait Lookup: Fn(&str) -> Result<String, std::env::VarError> {}

impl<F: Fn(&str) -> Result<String, std::env::VarError>> Lookup for F {}

/// The environment the settings are read from.
pub(super) struct Env<F>(pub(super) F);

impl<F: Lookup> Env<F> {
    /// The variable's value; `None` when unset or empty.
    pub(super) fn optional(&self, var: &str) -> Result<Option<String>, ConfigError> {
        match (self.0)(var) {
            Ok(value) if value.trim().is_empty() => Ok(None),
            Ok(value) => Ok(Some(value.trim().to_string())),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(ConfigError::new(var, "is not valid UTF-8"))
            }
        }
    }

    pub(super) fn string(&self, var: &str, default: &str) -> Result<String, ConfigError> {
        Ok(self.optional(var)?.unwrap_or_else(|| default.to_string()))
    }

    pub(super) fn parsed<T: FromStr>(
        &self,
        var: &str,
        default: &str,
        expected: &str,
    ) -> Result<T, ConfigError> {
        let value = self.string(var, default)?;
        value
            .parse()
            .map_err(|_| ConfigError::new(var, format!("must be {expected}, not `{value}`")))
    }

    /// A whole number from `range` (`default` when unset), as the integer type of the
    /// setting; the range is chosen to fit it.
    pub(super) fn bounded<T: TryFrom<u64>>(
        &self,
        var: &str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<T, ConfigError> {
        let number = match self.optional(var)? {
            None => default,
            Some(value) => match value.parse::<u64>() {
                Ok(number) if range.contains(&number) => number,
                _ => {
                    return Err(ConfigError::new(
                        var,
                        format!(
                            "must be a whole number from {} to {}, not `{value}`",
                            range.start(),
                            range.end()
                        ),
                    ));
                }
            },
        };
        T::try_from(number).map_err(|_| ConfigError::new(var, format!("is too large: {number}")))
    }

    /// [`Env::bounded`] seconds.
    pub(super) fn seconds(
        &self,
        var: &str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Duration, ConfigError> {
        self.bounded(var, default, range).map(Duration::from_secs)
    }

    pub(super) fn boolean(&self, var: &str, default: bool) -> Result<bool, ConfigError> {
        match self
            .optional(var)?
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None => Ok(default),
            Some("true" | "1" | "yes" | "on") => Ok(true),
            Some("false" | "0" | "no" | "off") => Ok(false),
            Some(other) => Err(ConfigError::new(
                var,
                format!("must be `true` or `false`, not `{other}`"),
            )),
        }
    }

    pub(super) fn ip_list(&self, var: &str) -> Result<Vec<std::net::IpAddr>, ConfigError> {
        let Some(value) = self.optional(var)? else {
            return Ok(Vec::new());
        };
        value
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry.parse().map_err(|_| {
                    ConfigError::new(
                        var,
                        format!("must be IP addresses separated by commas, not `{entry}`"),
                    )
                })
            })
            .collect()
    }
}
