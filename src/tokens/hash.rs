//! `hash` tokens: a keyed HMAC of the value, truncated to a short base32 code.

#[cfg(test)]
use ring::hmac;

use crate::error::Error;

/// Code lengths tried in turn: a collision at one length is resolved by the
/// next, longer one (never by merging two values under one token).
pub(crate) const CODE_LENGTHS: [usize; 5] = [8, 12, 16, 26, 52];

/// The HMAC of a value under ring's key: what [`TagKey::tag`] gives, for
/// the test that keeps the two equal.
#[cfg(test)]
pub(crate) fn tag(key: &hmac::Key, value: &str) -> hmac::Tag {
    hmac::sign(key, value.as_bytes())
}

/// A class's key for `hash` tokens: HMAC-SHA256 (RustCrypto's) with its
/// inner and outer states computed once, so that the MAC of a short value
/// costs two SHA-256 blocks and little else. The same MAC as [`tag`] under
/// the same key bytes (a test keeps them equal).
#[derive(Clone)]
pub(crate) struct TagKey(::hmac::Hmac<sha2::Sha256>);

impl TagKey {
    /// The key of these 32 bytes.
    pub(crate) fn new(key: &[u8; 32]) -> Result<TagKey, Error> {
        use ::hmac::KeyInit;
        ::hmac::Hmac::new_from_slice(key)
            .map(TagKey)
            .map_err(|_| Error::crypto())
    }

    /// The HMAC of a value.
    pub(crate) fn tag(&self, value: &str) -> [u8; 32] {
        use ::hmac::Mac;
        let mut mac = self.0.clone();
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// The length of the shortest code.
pub(crate) const SHORT: usize = 8;

/// The shortest code of a tag (the first [`SHORT`] characters of its
/// base32), written into `buf`: what [`code`] gives for [`SHORT`], without
/// an allocation.
pub(crate) fn short_code<'b>(tag: &[u8], buf: &'b mut [u8; SHORT]) -> Result<&'b str, Error> {
    // 5 bytes are exactly 8 base32 characters.
    let head = tag.get(..5).ok_or_else(Error::crypto)?;
    data_encoding::BASE32_NOPAD.encode_mut(head, buf);
    std::str::from_utf8(buf).map_err(|_| Error::crypto())
}

/// The code of `len` characters (one of [`CODE_LENGTHS`]) of a tag: the
/// first `len` characters of the tag's base32 (52 characters for 32 bytes).
pub(crate) fn code(tag: &[u8], len: usize) -> String {
    let t = tag;
    if len == 8 {
        // 5 bytes are exactly 8 base32 characters: no need for the rest.
        let mut out = [0u8; 8];
        data_encoding::BASE32_NOPAD.encode_mut(&t[..5], &mut out);
        return String::from_utf8_lossy(&out).into_owned();
    }
    let mut full = data_encoding::BASE32_NOPAD.encode(t);
    full.truncate(len.min(full.len()));
    full
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::MasterKey;

    /// RustCrypto's HMAC under the key bytes gives ring's HMAC under the
    /// key ring derives: tokens do not change.
    #[test]
    fn tag_key_is_ring_hmac() {
        let master = MasterKey::from_bytes(&[0x5a; 32]);
        for class in ["person", "email", "ssn", ""] {
            let ring_key = master.hmac_key("token-hash", class).unwrap();
            let fast = TagKey::new(&master.hmac_key_bytes("token-hash", class).unwrap()).unwrap();
            let long = "x".repeat(200);
            for value in ["", "Ada", "789-28-1752", "jörg@bücher.de", long.as_str()] {
                assert_eq!(
                    fast.tag(value).as_slice(),
                    tag(&ring_key, value).as_ref(),
                    "{class} {value}"
                );
            }
        }
    }

    #[test]
    fn short_codes_are_prefixes_of_long_ones() {
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"k");
        let t = tag(&key, "Ada");
        let full = code(t.as_ref(), 52);
        for len in CODE_LENGTHS {
            assert_eq!(code(t.as_ref(), len), full[..len]);
        }
        let mut buf = [0; SHORT];
        assert_eq!(
            short_code(t.as_ref(), &mut buf).unwrap(),
            code(t.as_ref(), SHORT)
        );
        assert_eq!(CODE_LENGTHS[0], SHORT);
    }
}
