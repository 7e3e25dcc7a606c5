//! Webhook signatures: HMAC-SHA256 over `"{timestamp}.{body}"`, sent as
//! `Warden-Signature: t=<unix seconds>,v1=<hex>`. The timestamp is signed so a captured request
//! cannot be replayed later; receivers reject signatures older than their tolerance.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "warden-signature";
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
pub const TOPIC_HEADER: &str = "warden-topic";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the signature header is malformed")]
    Malformed,
    #[error("the signature is {0} seconds away from now, beyond the tolerance")]
    Stale(i64),
    #[error("the signature does not match the body")]
    Mismatch,
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key");
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// The header value for a body sent at `timestamp` (Unix seconds).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(tag))
}

/// Checks a header against the body, in constant time, within `tolerance_secs` of `now`.
pub fn verify(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut tag = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => timestamp = v.parse::<i64>().ok(),
            Some(("v1", v)) => tag = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(tag)) = (timestamp, tag) else {
        return Err(SignatureError::Malformed);
    };
    if (now - t).abs() > tolerance_secs {
        return Err(SignatureError::Stale(now - t));
    }
    mac(secret, t, body)
        .verify_slice(&tag)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_and_any_change_breaks_it() {
        let h = sign(b"s3cret", 1_700_000_000, b"{\"a\":1}");
        assert!(h.starts_with("t=1700000000,v1="));
        assert_eq!(
            verify(b"s3cret", &h, b"{\"a\":1}", 1_700_000_010, 300),
            Ok(())
        );
        assert_eq!(
            verify(b"s3cret", &h, b"{\"a\":2}", 1_700_000_010, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"other", &h, b"{\"a\":1}", 1_700_000_010, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"s3cret", &h, b"{\"a\":1}", 1_700_000_400, 300),
            Err(SignatureError::Stale(400))
        );
        let forged = h.replace("t=1700000000", "t=1700000300");
        assert_eq!(
            verify(b"s3cret", &forged, b"{\"a\":1}", 1_700_000_300, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"s3cret", "v1=zz", b"", 0, 300),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn the_tag_is_the_published_hmac_sha256() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let m = <Hmac<Sha256> as KeyInit>::new_from_slice(b"Jefe").unwrap();
        let tag = m
            .chain_update(b"what do ya want for nothing?")
            .finalize()
            .into_bytes();
        assert_eq!(
            hex::encode(tag),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
