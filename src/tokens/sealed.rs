//! `sealed` tokens: deterministic authenticated encryption of the value
//! (AES-256-GCM with a synthetic nonce, the HMAC of the value), reversible by
//! anyone holding the key, with no vault.
//!
//! The value is padded to a multiple of 16 bytes before it is sealed (a
//! 4-byte length, the value, zeros), so that a token tells the value's length
//! only to within 16 bytes.

use ring::{aead, hmac};

use crate::error::Error;

/// Seals a value for a class: base32 of nonce ‖ ciphertext ‖ tag.
pub(crate) fn seal(
    enc: &aead::LessSafeKey,
    mac: &hmac::Key,
    class: &str,
    value: &str,
) -> Result<String, Error> {
    let tag = hmac::sign(mac, value.as_bytes());
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&tag.as_ref()[..12]);
    let mut buf = pad(value.as_bytes())?;
    enc.seal_in_place_append_tag(
        aead::Nonce::assume_unique_for_key(nonce),
        aead::Aad::from(class.as_bytes()),
        &mut buf,
    )
    .map_err(|_| Error::crypto())?;
    let mut out = Vec::with_capacity(12 + buf.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&buf);
    Ok(data_encoding::BASE32_NOPAD.encode(&out))
}

/// Opens a sealed code; `None` for a code that is not one this key sealed for
/// this class (forged, altered, or of another class: GCM authenticates the
/// ciphertext and, as associated data, the class).
pub(crate) fn open(enc: &aead::LessSafeKey, class: &str, code: &str) -> Option<String> {
    let raw = data_encoding::BASE32_NOPAD.decode(code.as_bytes()).ok()?;
    if raw.len() < 12 + aead::AES_256_GCM.tag_len() {
        return None;
    }
    let (n, ct) = raw.split_at(12);
    let nonce = <[u8; 12]>::try_from(n).ok()?;
    let mut buf = ct.to_vec();
    let plain = enc
        .open_in_place(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(class.as_bytes()),
            &mut buf,
        )
        .ok()?;
    let value = unpad(plain)?;
    Some(std::str::from_utf8(value).ok()?.to_string())
}

const BLOCK: usize = 16;

pub(crate) fn pad(value: &[u8]) -> Result<Vec<u8>, Error> {
    let mut buf = Vec::new();
    pad_into(value, &mut buf)?;
    Ok(buf)
}

/// As [`pad`], into a reused buffer.
pub(crate) fn pad_into(value: &[u8], buf: &mut Vec<u8>) -> Result<(), Error> {
    let len = u32::try_from(value.len()).map_err(|_| Error::crypto())?;
    let total = (4 + value.len()).div_ceil(BLOCK) * BLOCK;
    buf.clear();
    buf.reserve(total + aead::AES_256_GCM.tag_len());
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(value);
    buf.resize(total, 0);
    Ok(())
}

pub(crate) fn unpad(plain: &[u8]) -> Option<&[u8]> {
    let (len, rest) = plain.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
    let value = rest.get(..len)?;
    // The padding must be zeros and no longer than a block.
    let pad = &rest[len..];
    (pad.len() < BLOCK && pad.iter().all(|&b| b == 0)).then_some(value)
}
