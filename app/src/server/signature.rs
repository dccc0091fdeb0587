//! Webhook signatures in Stripe's scheme, checked on Stripe's webhooks and made for
//! Upcount's own alert webhooks: a header `t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`
//! (`Stripe-Signature`, `Upcount-Signature`), so that a receiver can check both that the
//! body is ours and that it is fresh.

use hmac::{KeyInit, Mac};

/// How old (or how far in the future) a signature's timestamp may be.
pub const TOLERANCE_SECS: i64 = 300;

/// Why a webhook's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no signature header")]
    Missing,
    #[error("the signature header has no timestamp or no v1 signature")]
    Malformed,
    #[error("the signature's timestamp is {0} s away from now (at most {TOLERANCE_SECS} s)")]
    Stale(i64),
    #[error("no v1 signature matches the body")]
    Mismatch,
}

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Checks a signature header (`t=…,v1=…[,v1=…]`) against the raw body: one of
/// the `v1` values must be the HMAC-SHA256 of `{t}.{body}` under `secret`, and `t` within
/// [`TOLERANCE_SECS`] of `now`. Compared in constant time.
pub fn verify_signature(
    body: &[u8],
    header: Option<&str>,
    secret: &str,
    now: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else {
            continue;
        };
        match key {
            "t" => timestamp = value.parse::<i64>().ok(),
            "v1" => signatures.push(value),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return Err(SignatureError::Malformed);
    };
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let mut mac =
        HmacSha256::new_from_slice(secret.as_bytes()).map_err(|_| SignatureError::Mismatch)?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let matches = signatures.iter().any(|signature| {
        hex::decode(signature).is_ok_and(|bytes| mac.clone().verify_slice(&bytes).is_ok())
    });
    if !matches {
        return Err(SignatureError::Mismatch);
    }
    let age = (now - timestamp).abs();
    if age > TOLERANCE_SECS {
        return Err(SignatureError::Stale(age));
    }
    Ok(())
}

/// The signature header for `body` at `timestamp`, as Stripe sends it and Upcount's
/// webhooks do.
pub fn sign(body: &[u8], secret: &str, timestamp: i64) -> String {
    let mut mac = match HmacSha256::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return format!("t={timestamp}"),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"invoice.paid"}"#;
    const NOW: i64 = 1_790_000_000;

    #[test]
    fn a_valid_signature_passes() {
        let header = sign(BODY, SECRET, NOW);
        assert_eq!(verify_signature(BODY, Some(&header), SECRET, NOW), Ok(()));
        // Within the tolerance either way.
        assert_eq!(
            verify_signature(BODY, Some(&header), SECRET, NOW + 299),
            Ok(())
        );
        assert_eq!(
            verify_signature(BODY, Some(&header), SECRET, NOW - 299),
            Ok(())
        );
    }

    #[test]
    fn a_wrong_secret_fails() {
        let header = sign(BODY, "whsec_other", NOW);
        assert_eq!(
            verify_signature(BODY, Some(&header), SECRET, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_stale_timestamp_fails() {
        let header = sign(BODY, SECRET, NOW - 301);
        assert_eq!(
            verify_signature(BODY, Some(&header), SECRET, NOW),
            Err(SignatureError::Stale(301))
        );
        let future = sign(BODY, SECRET, NOW + 600);
        assert_eq!(
            verify_signature(BODY, Some(&future), SECRET, NOW),
            Err(SignatureError::Stale(600))
        );
    }

    #[test]
    fn a_tampered_body_fails() {
        let header = sign(BODY, SECRET, NOW);
        let tampered = br#"{"id":"evt_1","type":"invoice.paid" }"#;
        assert_eq!(
            verify_signature(tampered, Some(&header), SECRET, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn one_valid_signature_among_several_is_enough() {
        let valid = sign(BODY, SECRET, NOW);
        let valid_v1 = valid.split(",v1=").nth(1).expect("a v1");
        let header = format!("t={NOW},v1={},v0=abc,v1={valid_v1}", "00".repeat(32));
        assert_eq!(verify_signature(BODY, Some(&header), SECRET, NOW), Ok(()));
        let none_valid = format!("t={NOW},v1={},v1=zz", "00".repeat(32));
        assert_eq!(
            verify_signature(BODY, Some(&none_valid), SECRET, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_missing_or_malformed_header_fails() {
        assert_eq!(
            verify_signature(BODY, None, SECRET, NOW),
            Err(SignatureError::Missing)
        );
        for header in ["", "garbage", "v1=abcd", &format!("t={NOW}")] {
            assert_eq!(
                verify_signature(BODY, Some(header), SECRET, NOW),
                Err(SignatureError::Malformed),
                "{header}"
            );
        }
    }
}
