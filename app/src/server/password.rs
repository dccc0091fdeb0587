//! Password hashing with argon2id: OWASP's parameters (19 MiB, 2 passes, 1 lane), which the
//! PHC string records, so they can be raised later without invalidating old hashes.
//! Hashing runs on the blocking pool: it takes tens of milliseconds of CPU on purpose.

use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};

use crate::domain::Password;

/// Hashes a new password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub async fn hash(password: &Password) -> Result<String, HashError> {
    let password = password.expose().to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|error| HashError(error.to_string()))
    })
    .await
    .map_err(|error| HashError(error.to_string()))?
}

/// Checks `candidate` against `stored` in constant time. Without a stored hash (unknown
/// email) a fixed hash is checked instead, so the answer takes as long either way.
pub async fn verify(candidate: &str, stored: Option<&str>) -> bool {
    let candidate = candidate.to_owned();
    let known = stored.is_some();
    let stored = stored.unwrap_or(UNKNOWN_USER_HASH).to_owned();
    let matches = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored)
            .map(|hash| {
                Argon2::default()
                    .verify_password(candidate.as_bytes(), &hash)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false);
    known && matches
}

/// An argon2id hash (same parameters as new hashes) of a random password nobody knows.
const UNKNOWN_USER_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$3lrYpPcH4OZ5Dm0vwGl3Kbh1O3hUv5YzMqnoQvqz1Uo";

#[derive(Debug, thiserror::Error)]
#[error("could not hash the password: {0}")]
pub struct HashError(String);

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_carry_their_parameters() {
        let password = Password::parse("correct horse battery staple".into()).expect("valid");
        let stored = hash(&password).await.expect("hash");
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(verify("correct horse battery staple", Some(&stored)).await);
        assert!(!verify("correct horse battery stapler", Some(&stored)).await);
        assert!(!verify("correct horse battery staple", None).await);
        // The same password hashes differently each time (random salt).
        assert_ne!(stored, hash(&password).await.expect("hash"));
    }

    #[test]
    fn the_unknown_user_hash_is_well_formed() {
        let hash = PasswordHash::new(UNKNOWN_USER_HASH).expect("a PHC string");
        assert_eq!(hash.algorithm.as_str(), "argon2id");
    }
}
