use std::fmt;

/// A new password: 10 to 128 characters. Never printed, not even by `{:?}`.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_LEN: usize = 10;
    pub const MAX_LEN: usize = 128;

    pub fn parse(input: String) -> Result<Self, String> {
        let length = input.chars().count();
        if length == 0 {
            Err("Enter a password.".into())
        } else if length < Self::MIN_LEN {
            Err(format!("Use at least {} characters.", Self::MIN_LEN))
        } else if length > Self::MAX_LEN {
            Err(format!("Use at most {} characters.", Self::MAX_LEN))
        } else {
            Ok(Self(input))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::Password;

    #[test]
    fn length_rules() {
        assert!(Password::parse(String::new()).is_err());
        assert!(Password::parse("123456789".into()).is_err());
        assert!(Password::parse("1234567890".into()).is_ok());
        assert!(
            Password::parse("é".repeat(128)).is_ok(),
            "counts characters, not bytes"
        );
        assert!(Password::parse("x".repeat(129)).is_err());
    }

    #[test]
    fn debug_hides_the_password() {
        let password = Password::parse("correct horse battery".into()).expect("valid");
        assert!(!format!("{password:?}").contains("horse"));
    }
}
