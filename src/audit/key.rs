//! The key that chains the audit log.

use std::fmt;
use std::path::Path;

use ring::{digest, hkdf, hmac};

use crate::error::{Error, ErrorKind};
use crate::tokens::{key_from_env, key_from_file, parse_key_text, refuse_trivial, MasterKey};

/// The environment variable that holds a separate audit key (hex or base64).
pub const AUDIT_KEY_ENV: &str = "SQLVEIL_AUDIT_KEY";

/// The key of the audit chain: HMAC-SHA256 over every line.
///
/// It is derived from the [`MasterKey`] by default. A separate audit key
/// (32 random bytes, `SQLVEIL_AUDIT_KEY`) lets the processes that write and
/// verify the log hold a key that cannot tokenize or reveal, and keeps the
/// log unforgeable by a process that only tokenizes: whoever holds the audit
/// key can write lines that verify, and nothing more.
///
/// Every keyed line carries the key's [`fingerprint`](Self::fingerprint)
/// (never the key), so that a verifier can tell "another key" and "no key
/// given" from tampering. `Debug` never prints the key.
///
/// # Example
/// ```
/// use sqlveil::MasterKey;
/// use sqlveil::audit::AuditKey;
/// let master = MasterKey::from_bytes(&[7; 32]);
/// let derived = AuditKey::from_master(&master)?;
/// let separate = AuditKey::parse("4d1b6c0a9e2f73d85b06c1e4a7f0392b8c5d6e7f8091a2b3c4d5e6f708192a3b")?;
/// assert_ne!(derived.fingerprint(), separate.fingerprint());
/// assert_eq!(derived.fingerprint().len(), 16);
/// assert!(AuditKey::parse(&"00".repeat(32)).is_err()); // trivial
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct AuditKey {
    mac: hmac::Key,
    fingerprint: String,
}

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuditKey({})", self.fingerprint)
    }
}

impl AuditKey {
    fn from_mac(mac: hmac::Key) -> AuditKey {
        let tag = hmac::sign(&mac, b"sqlveil audit key fingerprint v1");
        let fingerprint = data_encoding::HEXLOWER.encode(&tag.as_ref()[..8]);
        AuditKey { mac, fingerprint }
    }

    /// The audit key derived from the master key.
    ///
    /// # Errors
    /// The key cannot be derived.
    pub fn from_master(key: &MasterKey) -> Result<AuditKey, Error> {
        Ok(AuditKey::from_mac(key.hmac_key("audit-chain", "")?))
    }

    /// A separate audit key from 32 raw bytes, **unchecked** (for tests and
    /// bytes straight from a random source); see
    /// [`try_from_bytes`](Self::try_from_bytes).
    pub fn from_bytes(bytes: &[u8; 32]) -> AuditKey {
        let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, b"sqlveil audit key v1");
        let prk = salt.extract(bytes);
        let info: [&[u8]; 1] = [b"audit-chain"];
        let mac = match prk.expand(&info, hmac::HMAC_SHA256) {
            Ok(okm) => hmac::Key::from(okm),
            // HKDF fails only for outputs longer than 255 hashes; one key is
            // 32 bytes. Keyed by a digest of the bytes all the same.
            Err(_) => hmac::Key::new(
                hmac::HMAC_SHA256,
                digest::digest(&digest::SHA256, bytes).as_ref(),
            ),
        };
        AuditKey::from_mac(mac)
    }

    /// A separate audit key from 32 raw bytes, refusing a trivial one.
    ///
    /// # Errors
    /// All zeros, a repeated pattern, a counting sequence, too few distinct
    /// bytes.
    pub fn try_from_bytes(bytes: &[u8; 32]) -> Result<AuditKey, Error> {
        refuse_trivial(bytes, "the audit key")?;
        Ok(AuditKey::from_bytes(bytes))
    }

    /// Parses a separate audit key written as 64 hex digits or base64.
    ///
    /// # Errors
    /// A malformed or trivial key; the message never quotes it.
    pub fn parse(text: &str) -> Result<AuditKey, Error> {
        Ok(AuditKey::from_bytes(&parse_key_text(
            text,
            "the audit key",
        )?))
    }

    /// The audit key in `SQLVEIL_AUDIT_KEY`, `None` when it is not set.
    ///
    /// # Errors
    /// The variable holds a malformed or trivial key.
    pub fn from_env() -> Result<Option<AuditKey>, Error> {
        Ok(key_from_env(AUDIT_KEY_ENV)?.map(|b| AuditKey::from_bytes(&b)))
    }

    /// Reads a separate audit key from a file (hex, base64 or 32 raw bytes).
    ///
    /// # Errors
    /// An unreadable file, a malformed or trivial key, naming the file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<AuditKey, Error> {
        Ok(AuditKey::from_bytes(&key_from_file(path.as_ref())?))
    }

    /// The key's fingerprint: 16 hex digits of an HMAC of a fixed text
    /// under the key. It names the key in the log and in messages; it says
    /// nothing about the key's bytes.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    pub(crate) fn sign(&self, bytes: &[u8]) -> String {
        data_encoding::HEXLOWER.encode(hmac::sign(&self.mac, bytes).as_ref())
    }
}

/// An audit key error that names what to give.
pub(crate) fn key_needed(what: String) -> Error {
    Error::new(ErrorKind::Key(what))
}
