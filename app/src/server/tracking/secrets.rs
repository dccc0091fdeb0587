//! Secret values at rest (the `json` provider's secret headers): XChaCha20-Poly1305 with
//! the key from `UPCOUNT_SECRET_KEY` and a random nonce per value, stored as base64 of
//! nonce and ciphertext.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use chacha20poly1305::{
    Key, XChaCha20Poly1305, XNonce,
    aead::{Aead, KeyInit},
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("secret values need UPCOUNT_SECRET_KEY to be set on the server")]
    NoKey,
    #[error("a stored secret could not be decrypted (was UPCOUNT_SECRET_KEY changed?)")]
    Undecryptable,
}

pub fn encrypt(key: Option<&[u8; 32]>, plaintext: &str) -> Result<String, SecretError> {
    let key = key.ok_or(SecretError::NoKey)?;
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key));
    let nonce: [u8; 24] = rand::random();
    let ciphertext = cipher
        .encrypt(XNonce::from_slice(&nonce), plaintext.as_bytes())
        .map_err(|_| SecretError::Undecryptable)?;
    let mut stored = nonce.to_vec();
    stored.extend_from_slice(&ciphertext);
    Ok(STANDARD.encode(stored))
}

pub fn decrypt(key: Option<&[u8; 32]>, stored: &str) -> Result<String, SecretError> {
    let key = key.ok_or(SecretError::NoKey)?;
    let bytes = STANDARD
        .decode(stored)
        .map_err(|_| SecretError::Undecryptable)?;
    if bytes.len() < 24 {
        return Err(SecretError::Undecryptable);
    }
    let (nonce, ciphertext) = bytes.split_at(24);
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key));
    let plaintext = cipher
        .decrypt(XNonce::from_slice(nonce), ciphertext)
        .map_err(|_| SecretError::Undecryptable)?;
    String::from_utf8(plaintext).map_err(|_| SecretError::Undecryptable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let key = [7u8; 32];
        let stored = encrypt(Some(&key), "Bearer hunter2").expect("encrypt");
        assert!(!stored.contains("hunter2"));
        assert_ne!(
            stored,
            encrypt(Some(&key), "Bearer hunter2").expect("again")
        );
        assert_eq!(
            decrypt(Some(&key), &stored).expect("decrypt"),
            "Bearer hunter2"
        );
        assert_eq!(
            decrypt(Some(&[8u8; 32]), &stored),
            Err(SecretError::Undecryptable)
        );
        assert_eq!(encrypt(None, "x"), Err(SecretError::NoKey));
    }
}
