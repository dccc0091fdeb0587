//! API tokens: `upc_` followed by 43 characters of base62 (256 random bits). Only the
//! SHA-256 of a token is stored; the prefix `upc_` makes leaked tokens easy to spot.
//! A push source's write token is made the same way with the prefix `upp_`.

use sha2::{Digest, Sha256};

pub const PREFIX: &str = "upc_";
/// The prefix of a push source's write token.
pub const PUSH_PREFIX: &str = "upp_";

/// A freshly generated token: shown once, then only its hash is kept.
pub struct NewToken {
    pub token: String,
    pub hash: Vec<u8>,
    /// The first characters, for lists: `upc_3fA9x…`.
    pub display_prefix: String,
}

pub fn generate() -> NewToken {
    generate_with(PREFIX)
}

/// A new write token for a push source (`upp_…`).
pub fn generate_push() -> NewToken {
    generate_with(PUSH_PREFIX)
}

fn generate_with(prefix: &str) -> NewToken {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let bytes: [u8; 43] = rand::random();
    // 43 characters from 62 (a byte mod 62 is slightly biased; 43 of them still carry
    // more than 250 bits).
    let body: String = bytes
        .iter()
        .map(|byte| char::from(ALPHABET[usize::from(*byte) % ALPHABET.len()]))
        .collect();
    let token = format!("{prefix}{body}");
    NewToken {
        hash: hash(&token),
        display_prefix: token.chars().take(prefix.len() + 5).collect(),
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
    looks_like(PREFIX, candidate)
}

/// Whether `candidate` looks like a push source's token at all.
pub fn looks_like_push_token(candidate: &str) -> bool {
    looks_like(PUSH_PREFIX, candidate)
}

fn looks_like(prefix: &str, candidate: &str) -> bool {
    candidate.len() == prefix.len() + 43
        && candidate.starts_with(prefix)
        && candidate[prefix.len()..]
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
    fn push_tokens_have_their_own_prefix() {
        let push = generate_push();
        assert!(push.token.starts_with("upp_"));
        assert_eq!(push.token.len(), 47);
        assert!(looks_like_push_token(&push.token));
        assert!(!looks_like_token(&push.token));
        assert!(!looks_like_push_token(&generate().token));
        assert_eq!(push.display_prefix, &push.token[..9]);
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
