//! API tokens: `upc_` followed by 43 characters of base62 (256 random bits). Only the
//! SHA-256 of a token is stored; the prefix `upc_` makes leaked tokens easy to spot.

use sha2::{Digest, Sha256};

pub const PREFIX: &str = "upc_";

/// A freshly generated token: shown once, then only its hash is kept.
pub struct NewToken {
    pub token: String,
    pub hash: Vec<u8>,
    /// The first characters, for lists: `upc_3fA9x…`.
    pub display_prefix: String,
}

pub fn generate() -> NewToken {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let bytes: [u8; 43] = rand::random();
    // 43 characters from 62 (a byte mod 62 is slightly biased; 43 of them still carry
    // more than 250 bits).
    let body: String = bytes
        .iter()
        .map(|byte| char::from(ALPHABET[usize::from(*byte) % ALPHABET.len()]))
        .collect();
    let token = format!("{PREFIX}{body}");
    NewToken {
        hash: hash(&token),
        display_prefix: token.chars().take(PREFIX.len() + 5).collect(),
        token,
    }
}

/// `length` random characters from 0-9, A-Z and a-z: unguessable identifiers for links
/// (22 characters carry more than 128 bits).
pub fn random_base62(length: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..length)
        .map(|_| {
            // Rejection sampling: no bias towards the first characters.
            loop {
                let byte: u8 = rand::random();
                if usize::from(byte) < ALPHABET.len() * 4 {
                    break char::from(ALPHABET[usize::from(byte) % ALPHABET.len()]);
                }
            }
        })
        .collect()
}

pub fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Whether `candidate` looks like one of our tokens at all (cheap check before a lookup).
pub fn looks_like_token(candidate: &str) -> bool {
    candidate.len() == PREFIX.len() + 43
        && candidate.starts_with(PREFIX)
        && candidate[PREFIX.len()..]
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_unique_and_hashed() {
        let first = generate();
        let second = generate();
        assert!(first.token.starts_with("upc_"));
        assert_eq!(first.token.len(), 47);
        assert!(looks_like_token(&first.token));
        assert_ne!(first.token, second.token);
        assert_eq!(first.hash, hash(&first.token));
        assert_eq!(first.hash.len(), 32);
        assert_eq!(first.display_prefix, &first.token[..9]);
    }

    #[test]
    fn other_strings_are_not_tokens() {
        for candidate in [
            "",
            "upc_",
            "upc_short",
            "ghp_0123456789012345678901234567890123456789012",
            &format!("upc_{}!", "a".repeat(42)),
        ] {
            assert!(!looks_like_token(candidate), "{candidate}");
        }
    }
}
