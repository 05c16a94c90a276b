//! `hash` tokens: a keyed HMAC of the value, truncated to a short base32 code.

use ring::hmac;

use crate::error::Error;

/// Code lengths tried in turn: a collision at one length is resolved by the
/// next, longer one (never by merging two values under one token).
pub(crate) const CODE_LENGTHS: [usize; 5] = [8, 12, 16, 26, 52];

/// The HMAC of a value, from which its codes are cut.
pub(crate) fn tag(key: &hmac::Key, value: &str) -> hmac::Tag {
    hmac::sign(key, value.as_bytes())
}

/// The length of the shortest code.
pub(crate) const SHORT: usize = 8;

/// The shortest code of a tag (the first [`SHORT`] characters of its
/// base32), written into `buf`: what [`code`] gives for [`SHORT`], without
/// an allocation.
pub(crate) fn short_code<'b>(tag: &hmac::Tag, buf: &'b mut [u8; SHORT]) -> Result<&'b str, Error> {
    // 5 bytes are exactly 8 base32 characters.
    let head = tag.as_ref().get(..5).ok_or_else(Error::crypto)?;
    data_encoding::BASE32_NOPAD.encode_mut(head, buf);
    std::str::from_utf8(buf).map_err(|_| Error::crypto())
}

/// The code of `len` characters (one of [`CODE_LENGTHS`]) of a tag: the
/// first `len` characters of the tag's base32 (52 characters for 32 bytes).
pub(crate) fn code(tag: &hmac::Tag, len: usize) -> String {
    let t = tag.as_ref();
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

    #[test]
    fn short_codes_are_prefixes_of_long_ones() {
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"k");
        let t = tag(&key, "Ada");
        let full = code(&t, 52);
        for len in CODE_LENGTHS {
            assert_eq!(code(&t, len), full[..len]);
        }
        let mut buf = [0; SHORT];
        assert_eq!(short_code(&t, &mut buf).unwrap(), code(&t, SHORT));
        assert_eq!(CODE_LENGTHS[0], SHORT);
    }
}
