//! The master key and the per-class keys derived from it.

use std::fmt;
use std::path::Path;

use ring::{aead, hkdf, hmac};

use crate::error::{Error, ErrorKind};

/// The environment variable that holds the master key (hex or base64).
pub const KEY_ENV: &str = "SQLVEIL_KEY";

/// The 32-byte master key. Every token, mask hash and vault entry is keyed by
/// a subkey derived from it with HKDF-SHA256.
///
/// There is no default key anywhere: a missing, short or malformed key is an
/// error. `Debug` never prints the bytes.
///
/// # Example
/// ```
/// use sqlveil::MasterKey;
/// let key = MasterKey::parse(&"42".repeat(32))?;
/// assert!(MasterKey::parse("too short").is_err());
/// assert_eq!(format!("{key:?}"), "MasterKey(..)");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct MasterKey {
    prk: hkdf::Prk,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    /// A key from 32 raw bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> MasterKey {
        let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, b"sqlveil master key v1");
        MasterKey {
            prk: salt.extract(bytes),
        }
    }

    /// Parses a key written as 64 hex digits or as base64 of 32 bytes.
    ///
    /// # Errors
    /// A key of another length or encoding; the message never quotes it.
    pub fn parse(text: &str) -> Result<MasterKey, Error> {
        let t = text.trim();
        let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            data_encoding::HEXLOWER_PERMISSIVE.decode(t.as_bytes()).ok()
        } else {
            data_encoding::BASE64
                .decode(t.as_bytes())
                .or_else(|_| data_encoding::BASE64URL.decode(t.as_bytes()))
                .or_else(|_| data_encoding::BASE64_NOPAD.decode(t.as_bytes()))
                .or_else(|_| data_encoding::BASE64URL_NOPAD.decode(t.as_bytes()))
                .ok()
        };
        match bytes.as_deref().and_then(|b| <&[u8; 32]>::try_from(b).ok()) {
            Some(b) => Ok(MasterKey::from_bytes(b)),
            None => Err(Error::new(ErrorKind::Key(
                "the key must be 32 bytes written as 64 hex digits or as base64".into(),
            ))),
        }
    }

    /// Reads the key from `SQLVEIL_KEY`.
    ///
    /// # Errors
    /// The variable is unset or holds a malformed key.
    pub fn from_env() -> Result<MasterKey, Error> {
        match std::env::var(KEY_ENV) {
            Ok(v) => MasterKey::parse(&v).map_err(|_| {
                Error::new(ErrorKind::Key(format!(
                    "{KEY_ENV} must hold 32 bytes as 64 hex digits or as base64"
                )))
            }),
            Err(_) => Err(Error::new(ErrorKind::Key(format!(
                "no key: set {KEY_ENV} (32 bytes, hex or base64) or pass a key file"
            )))),
        }
    }

    /// Reads the key from a file holding it as hex or base64 text, or as 32
    /// raw bytes.
    ///
    /// # Errors
    /// An unreadable file or a malformed key, naming the file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<MasterKey, Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| {
            Error::new(ErrorKind::Io {
                path: path.to_path_buf(),
                source,
            })
        })?;
        if let Ok(raw) = <&[u8; 32]>::try_from(bytes.as_slice()) {
            if std::str::from_utf8(raw).map_or(true, |s| MasterKey::parse(s).is_err()) {
                return Ok(MasterKey::from_bytes(raw));
            }
        }
        let text = String::from_utf8(bytes).map_err(|_| {
            Error::new(ErrorKind::Key(format!(
                "key file {} holds neither 32 raw bytes nor a hex or base64 key",
                path.display()
            )))
        })?;
        MasterKey::parse(&text).map_err(|_| {
            Error::new(ErrorKind::Key(format!(
                "key file {} must hold 32 bytes as 64 hex digits, base64 or raw bytes",
                path.display()
            )))
        })
    }

    fn info(purpose: &str, class: &str) -> Vec<u8> {
        let mut v = Vec::with_capacity(purpose.len() + class.len() + 1);
        v.extend_from_slice(purpose.as_bytes());
        v.push(0);
        v.extend_from_slice(class.as_bytes());
        v
    }

    /// An HMAC-SHA256 key for a purpose and class.
    pub(crate) fn hmac_key(&self, purpose: &str, class: &str) -> Result<hmac::Key, Error> {
        let info = MasterKey::info(purpose, class);
        let parts = [info.as_slice()];
        let okm = self
            .prk
            .expand(&parts, hmac::HMAC_SHA256)
            .map_err(|_| Error::crypto())?;
        Ok(hmac::Key::from(okm))
    }

    /// An AES-256-GCM key for a purpose and class.
    pub(crate) fn aead_key(&self, purpose: &str, class: &str) -> Result<aead::LessSafeKey, Error> {
        let info = MasterKey::info(purpose, class);
        let parts = [info.as_slice()];
        let okm = self
            .prk
            .expand(&parts, &aead::AES_256_GCM)
            .map_err(|_| Error::crypto())?;
        Ok(aead::LessSafeKey::new(aead::UnboundKey::from(okm)))
    }
}
