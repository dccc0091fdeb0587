//! Password hashing with argon2id: OWASP's parameters (19 MiB, 2 passes, 1 lane), which the
//! PHC string records, so they can be raised later without invalidating old hashes.
//! Hashing runs on the blocking pool, at most one hash per core at once (the others wait
//! their turn): it takes tens of milliseconds of CPU and 19 MiB on purpose.

use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};

use crate::domain::Password;

/// At most one hash at a time per core: a burst of sign-ins waits its turn (each waiter
/// holds no memory but its request) instead of running 19 MiB hashes by the hundred.
struct HashingSlots {
    capacity: usize,
    slots: std::sync::Arc<tokio::sync::Semaphore>,
}

fn hashing_slots() -> &'static HashingSlots {
    static SLOTS: std::sync::OnceLock<HashingSlots> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| {
        let capacity = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        HashingSlots {
            capacity,
            slots: std::sync::Arc::new(tokio::sync::Semaphore::new(capacity)),
        }
    })
}

/// How many hashes run at most at once (the number of cores), and how many run now.
pub fn hashing_load() -> (usize, usize) {
    let slots = hashing_slots();
    (
        slots.capacity,
        slots
            .capacity
            .saturating_sub(slots.slots.available_permits()),
    )
}

/// Hashes a new password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub async fn hash(password: &Password) -> Result<String, HashError> {
    let password = password.expose().to_owned();
    // The permit goes with the blocking task: a request dropped mid-hash (a client gone,
    // a timeout) still holds its slot until the hash is done.
    let slot = hashing_slots()
        .slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|error| HashError(error.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
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
    let Ok(slot) = hashing_slots().slots.clone().acquire_owned().await else {
        return false;
    };
    let matches = tokio::task::spawn_blocking(move || {
        let _slot = slot;
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_hashes_run_at_once_than_there_are_cores() {
        let checks: Vec<_> = (0..12)
            .map(|_| tokio::spawn(verify("guess", None)))
            .collect();
        let mut busiest = 0;
        while checks.iter().any(|check| !check.is_finished()) {
            let (capacity, running) = hashing_load();
            assert!(running <= capacity, "{running} of {capacity}");
            busiest = busiest.max(running);
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        for check in checks {
            assert!(!check.await.expect("join"));
        }
        assert!(busiest >= 1);
    }

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
