/// Where to send a user after they sign in: a path on this site only (`/account`), never
/// another site (`//evil.example`, `https://…`), so the sign-in page cannot be used to
/// redirect people elsewhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NextPath(String);

impl NextPath {
    pub const DEFAULT: &'static str = "/dashboard";

    /// The path, or the dashboard when `input` is missing or not a local path.
    pub fn parse_or_default(input: Option<&str>) -> Self {
        input
            .map(str::trim)
            .filter(|path| {
                path.starts_with('/')
                    && !path.starts_with("//")
                    && path.len() <= 512
                    && !path.contains('\\')
                    && !path.chars().any(char::is_control)
                    && !path.starts_with("/sign-")
            })
            .map(|path| Self(path.to_string()))
            .unwrap_or_else(|| Self(Self::DEFAULT.to_string()))
    }

    /// The sign-in page that comes back to `path` afterwards.
    pub fn sign_in_url(path: &str) -> String {
        let mut encoded = String::with_capacity(path.len());
        for byte in path.bytes() {
            match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    encoded.push(char::from(byte))
                }
                _ => encoded.push_str(&format!("%{byte:02X}")),
            }
        }
        format!("/sign-in?next={encoded}")
    }
}

impl AsRef<str> for NextPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::NextPath;

    #[test]
    fn keeps_local_paths_only() {
        let parse = |input| NextPath::parse_or_default(input).as_ref().to_string();
        assert_eq!(parse(Some("/account")), "/account");
        assert_eq!(parse(Some("/admin?tab=users")), "/admin?tab=users");
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "account",
            "",
            "/sign-in",
            "/x\ny",
        ] {
            assert_eq!(parse(Some(bad)), "/dashboard", "{bad:?}");
        }
        assert_eq!(parse(None), "/dashboard");
    }

    #[test]
    fn sign_in_urls_encode_the_path() {
        assert_eq!(
            NextPath::sign_in_url("/dashboard"),
            "/sign-in?next=%2Fdashboard"
        );
        assert_eq!(
            NextPath::sign_in_url("/admin?tab=a b"),
            "/sign-in?next=%2Fadmin%3Ftab%3Da%20b"
        );
    }
}
