//! The master key and the per-class keys derived from it.

use std::fmt;
use std::path::Path;

use ring::{aead, hkdf, hmac};

use crate::error::{Error, ErrorKind};

/// The environment variable that holds the master key (hex or base64).
pub const KEY_ENV: &str = "SQLVEIL_KEY";

/// The 32-byte master key. Every token, mask hash and vault entry is keyed by
/// a subkey derived from it with HKDF-SHA256; so is the audit chain, unless a
/// separate [`AuditKey`](crate::audit::AuditKey) is given.
///
/// **Whoever holds it holds every protected value**: with it one can write a
/// rule file whose role reveals every class and read the whole vault through
/// `reveal`. Give it only to the processes that tokenize and reveal.
///
/// There is no default key anywhere: a missing, short, malformed or trivial
/// key (all zeros, one repeated byte, a short repeating pattern, a counting
/// sequence, fewer than 8 distinct bytes) is an error. `Debug` never prints
/// the bytes.
///
/// # Example
/// ```
/// use sqlveil::MasterKey;
/// let key = MasterKey::parse("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")?;
/// assert!(MasterKey::parse("too short").is_err());
/// assert!(MasterKey::parse(&"00".repeat(32)).is_err()); // trivial
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
    /// A key from 32 raw bytes, **unchecked**: for tests and for bytes that
    /// come straight from a random source or a key manager. Keys from users
    /// go through [`try_from_bytes`](Self::try_from_bytes),
    /// [`parse`](Self::parse), [`from_env`](Self::from_env) or
    /// [`from_file`](Self::from_file), which refuse trivial keys.
    pub fn from_bytes(bytes: &[u8; 32]) -> MasterKey {
        let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, b"sqlveil master key v1");
        MasterKey {
            prk: salt.extract(bytes),
        }
    }

    /// A key from 32 raw bytes, refusing a trivial one.
    ///
    /// # Errors
    /// All zeros, one repeated byte, a short repeating pattern, a counting
    /// sequence or fewer than 8 distinct bytes: not a random key.
    pub fn try_from_bytes(bytes: &[u8; 32]) -> Result<MasterKey, Error> {
        refuse_trivial(bytes, "the key")?;
        Ok(MasterKey::from_bytes(bytes))
    }

    /// Parses a key written as 64 hex digits or as base64 of 32 bytes.
    ///
    /// # Errors
    /// A key of another length or encoding, or a trivial key; the message
    /// never quotes it.
    pub fn parse(text: &str) -> Result<MasterKey, Error> {
        MasterKey::try_from_bytes(&parse_key_text(text, "the key")?)
    }

    /// Reads the key from `SQLVEIL_KEY`.
    ///
    /// # Errors
    /// The variable is unset or holds a malformed or trivial key.
    pub fn from_env() -> Result<MasterKey, Error> {
        Ok(MasterKey::from_bytes(&key_from_env(KEY_ENV)?.ok_or_else(
            || {
                Error::new(ErrorKind::Key(format!(
                    "no key: set {KEY_ENV} (32 bytes, hex or base64) or pass a key file"
                )))
            },
        )?))
    }

    /// Reads the key from a file holding it as hex or base64 text, or as 32
    /// raw bytes. See [`key_file_warning`] for a file others can read.
    ///
    /// # Errors
    /// An unreadable file, a malformed or trivial key, naming the file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<MasterKey, Error> {
        Ok(MasterKey::from_bytes(&key_from_file(path.as_ref())?))
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

    /// The 32 bytes of [`hmac_key`](Self::hmac_key)'s key, for an HMAC
    /// outside ring (the same bytes: ring keys an HMAC-SHA256 from HKDF
    /// with 32 bytes of output).
    pub(crate) fn hmac_key_bytes(&self, purpose: &str, class: &str) -> Result<[u8; 32], Error> {
        struct Len32;
        impl hkdf::KeyType for Len32 {
            fn len(&self) -> usize {
                32
            }
        }
        let info = MasterKey::info(purpose, class);
        let parts = [info.as_slice()];
        let okm = self
            .prk
            .expand(&parts, Len32)
            .map_err(|_| Error::crypto())?;
        let mut out = [0u8; 32];
        okm.fill(&mut out).map_err(|_| Error::crypto())?;
        Ok(out)
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

/// The bytes of a key written as 64 hex digits or base64 of 32 bytes, not
/// trivial. `what` names the key in messages (`the key`, `SQLVEIL_KEY`).
pub(crate) fn parse_key_text(text: &str, what: &str) -> Result<[u8; 32], Error> {
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
    let bytes = bytes
        .as_deref()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| {
            Error::new(ErrorKind::Key(format!(
                "{what} must be 32 bytes written as 64 hex digits or as base64"
            )))
        })?;
    refuse_trivial(&bytes, what)?;
    Ok(bytes)
}

/// The key in an environment variable, `None` when it is unset or empty.
pub(crate) fn key_from_env(var: &str) -> Result<Option<[u8; 32]>, Error> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => parse_key_text(&v, var).map(Some),
        _ => Ok(None),
    }
}

/// The key in a file: hex or base64 text, or 32 raw bytes.
pub(crate) fn key_from_file(path: &Path) -> Result<[u8; 32], Error> {
    let bytes = std::fs::read(path).map_err(|source| {
        Error::new(ErrorKind::Io {
            path: path.to_path_buf(),
            source,
        })
    })?;
    let what = format!("key file {}", path.display());
    if let Ok(raw) = <[u8; 32]>::try_from(bytes.as_slice()) {
        let as_text = std::str::from_utf8(&raw).ok();
        if as_text.is_none_or(|s| parse_key_text(s, &what).is_err()) {
            // 32 printable characters are a password, not 32 random bytes.
            if raw.iter().all(|b| (0x20..0x7f).contains(b)) && as_text.is_some() {
                return Err(Error::new(ErrorKind::Key(format!(
                    "{what} holds 32 characters of text, not a key: write 32 random bytes as 64 hex digits (openssl rand -hex 32)"
                ))));
            }
            refuse_trivial(&raw, &what)?;
            return Ok(raw);
        }
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::new(ErrorKind::Key(format!(
            "{what} holds neither 32 raw bytes nor a hex or base64 key"
        )))
    })?;
    parse_key_text(&text, &what)
}

/// Refuses keys that are not random: all zeros, one repeated byte, a
/// repeating pattern of up to 16 bytes, a counting sequence, or fewer than 8
/// distinct byte values (a random key has about 30; fewer than 8 happens by
/// chance with odds below 1 in 10^30).
pub(crate) fn refuse_trivial(bytes: &[u8; 32], what: &str) -> Result<(), Error> {
    let mut seen = [false; 256];
    let mut distinct = 0;
    for &b in bytes {
        if !seen[usize::from(b)] {
            seen[usize::from(b)] = true;
            distinct += 1;
        }
    }
    let periodic = (1..=16).any(|p| (p..32).all(|i| bytes[i] == bytes[i - p]));
    let step = bytes[1].wrapping_sub(bytes[0]);
    let counting = bytes.windows(2).all(|w| w[1].wrapping_sub(w[0]) == step);
    if distinct < 8 || periodic || counting {
        return Err(Error::new(ErrorKind::Key(format!(
            "{what} is trivial (zeros, a repeated pattern or a sequence), not a random key: make one with `openssl rand -hex 32`"
        ))));
    }
    Ok(())
}

/// A warning when a key file can be read or written by other users (group
/// or others have any permission on it), `None` when it is private or the
/// platform has no such permissions. The command-line tool prints it.
///
/// # Example
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("key");
/// std::fs::write(&path, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")?;
/// # #[cfg(unix)] {
/// use std::os::unix::fs::PermissionsExt;
/// std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
/// assert!(sqlveil::tokens::key_file_warning(&path).is_some());
/// std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
/// assert!(sqlveil::tokens::key_file_warning(&path).is_none());
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn key_file_warning(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            return Some(format!(
                "key file {} can be read by other users (mode {:o}): run chmod 600 on it",
                path.display(),
                mode & 0o777
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    None
}
