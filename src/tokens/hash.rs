//! `hash` tokens: a keyed HMAC of the value, truncated to a short base32 code.

use ring::hmac;

/// Code lengths tried in turn: a collision at one length is resolved by the
/// next, longer one (never by merging two values under one token).
pub(crate) const CODE_LENGTHS: [usize; 5] = [8, 12, 16, 26, 52];

/// The full base32 code of a value (52 characters for the 32-byte HMAC).
pub(crate) fn full_code(key: &hmac::Key, value: &str) -> String {
    let tag = hmac::sign(key, value.as_bytes());
    data_encoding::BASE32_NOPAD.encode(tag.as_ref())
}
