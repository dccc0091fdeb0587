//! `Stripe-Signature` / `Upcount-Signature` headers against a body: the header is the
//! first line, the body the rest. Also a body signed for real, with the header's tail
//! appended, must never verify unless it is the real signature.
#![no_main]

use app::server::signature::{sign, verify_signature};
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "whsec_fuzz";
const NOW: i64 = 1_764_000_000;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|byte| *byte == b'\n').unwrap_or(data.len());
    let (header, body) = data.split_at(split);
    let header = String::from_utf8_lossy(header);
    let _ = verify_signature(body, Some(&header), SECRET, NOW);
    // A real signature always verifies; tampering with the body never does.
    let signed = sign(body, SECRET, NOW);
    assert!(verify_signature(body, Some(&signed), SECRET, NOW).is_ok());
    let mut tampered = body.to_vec();
    tampered.push(b'x');
    assert!(verify_signature(&tampered, Some(&signed), SECRET, NOW).is_err());
});
