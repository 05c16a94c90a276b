//! Token vaults: where `hash` tokens are turned back into values.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use ring::aead;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

use super::key::MasterKey;
use crate::error::{Error, ErrorKind};

/// What recording a token did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Insert {
    /// The token was new and is now recorded.
    New,
    /// The token was already recorded for this very value.
    Existing,
    /// The token is recorded for another value: a collision. Nothing changed.
    Collision,
}

/// A store of issued `hash` tokens: token → value, per class.
///
/// Implementations must never merge two values under one token: `insert`
/// reports [`Insert::Collision`] instead.
pub trait TokenVault: Send + Sync {
    /// Records that `token` of `class` stands for `value`.
    ///
    /// # Errors
    /// The store cannot be written.
    fn insert(&self, class: &str, token: &str, value: &str) -> Result<Insert, Error>;

    /// The value `token` of `class` stands for, if it was issued.
    ///
    /// # Errors
    /// The store cannot be read.
    fn get(&self, class: &str, token: &str) -> Result<Option<String>, Error>;

    /// How many tokens the vault holds.
    fn len(&self) -> usize;

    /// Whether the vault holds no token.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

type Map = HashMap<(Box<str>, Box<str>), Box<str>>;

fn insert_into(map: &RwLock<Map>, class: &str, token: &str, value: &str) -> Insert {
    let key = (Box::<str>::from(class), Box::<str>::from(token));
    if let Ok(m) = map.read() {
        if let Some(v) = m.get(&key) {
            return if &**v == value {
                Insert::Existing
            } else {
                Insert::Collision
            };
        }
    }
    let mut m = match map.write() {
        Ok(m) => m,
        Err(p) => p.into_inner(),
    };
    match m.get(&key) {
        Some(v) if &**v == value => Insert::Existing,
        Some(_) => Insert::Collision,
        None => {
            m.insert(key, value.into());
            Insert::New
        }
    }
}

fn get_from(map: &RwLock<Map>, class: &str, token: &str) -> Option<String> {
    let m = match map.read() {
        Ok(m) => m,
        Err(p) => p.into_inner(),
    };
    m.get(&(Box::<str>::from(class), Box::<str>::from(token)))
        .map(|v| v.to_string())
}

/// A vault in memory: gone when the process ends.
#[derive(Debug, Default)]
pub struct MemoryVault {
    map: RwLock<Map>,
}

impl MemoryVault {
    /// An empty vault.
    pub fn new() -> MemoryVault {
        MemoryVault::default()
    }
}

impl TokenVault for MemoryVault {
    fn insert(&self, class: &str, token: &str, value: &str) -> Result<Insert, Error> {
        Ok(insert_into(&self.map, class, token, value))
    }

    fn get(&self, class: &str, token: &str) -> Result<Option<String>, Error> {
        Ok(get_from(&self.map, class, token))
    }

    fn len(&self) -> usize {
        self.map.read().map_or(0, |m| m.len())
    }
}

#[derive(Serialize, Deserialize)]
struct Entry {
    class: String,
    token: String,
    nonce: String,
    value: String,
}

/// A vault kept in a file: one JSON line per token, whose value is encrypted
/// at rest with AES-256-GCM under a key derived from the master key (the class
/// and token are the authenticated data, so entries cannot be swapped). It
/// survives a restart; each new token is appended and flushed.
pub struct FileVault {
    path: PathBuf,
    map: RwLock<Map>,
    file: Mutex<File>,
    key: aead::LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for FileVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileVault")
            .field("path", &self.path)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

fn aad(class: &str, token: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(class.len() + token.len() + 1);
    v.extend_from_slice(class.as_bytes());
    v.push(0);
    v.extend_from_slice(token.as_bytes());
    v
}

impl FileVault {
    /// Opens (or creates) a vault file, decrypting every entry with the key.
    ///
    /// # Errors
    /// An unreadable file, a malformed line, or an entry that does not
    /// decrypt (another key, or a tampered file), naming the line.
    pub fn open(path: impl AsRef<Path>, key: &MasterKey) -> Result<FileVault, Error> {
        let path = path.as_ref().to_path_buf();
        let aead_key = key.aead_key("vault", "")?;
        let vault_err = |message: String| {
            Error::new(ErrorKind::Vault {
                path: path.clone(),
                message,
            })
        };
        let mut map = Map::new();
        if path.exists() {
            let f = File::open(&path).map_err(|e| vault_err(format!("cannot be read: {e}")))?;
            for (i, line) in BufReader::new(f).lines().enumerate() {
                let n = i + 1;
                let line = line.map_err(|e| vault_err(format!("cannot be read: {e}")))?;
                if line.trim().is_empty() {
                    continue;
                }
                let e: Entry = serde_json::from_str(&line)
                    .map_err(|_| vault_err(format!("line {n} is not a vault entry")))?;
                let nonce = data_encoding::BASE64
                    .decode(e.nonce.as_bytes())
                    .ok()
                    .and_then(|b| <[u8; 12]>::try_from(b.as_slice()).ok())
                    .ok_or_else(|| vault_err(format!("line {n} has a malformed nonce")))?;
                let mut buf = data_encoding::BASE64
                    .decode(e.value.as_bytes())
                    .map_err(|_| vault_err(format!("line {n} has a malformed value")))?;
                let plain = aead_key
                    .open_in_place(
                        aead::Nonce::assume_unique_for_key(nonce),
                        aead::Aad::from(aad(&e.class, &e.token)),
                        &mut buf,
                    )
                    .map_err(|_| {
                        vault_err(format!(
                            "line {n} does not decrypt: another key, or the file was altered"
                        ))
                    })?;
                let value = std::str::from_utf8(plain)
                    .map_err(|_| vault_err(format!("line {n} is not text")))?;
                map.insert((e.class.into(), e.token.into()), value.into());
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| vault_err(format!("cannot be opened for writing: {e}")))?;
        Ok(FileVault {
            path,
            map: RwLock::new(map),
            file: Mutex::new(file),
            key: aead_key,
            rng: SystemRandom::new(),
        })
    }

    /// The vault's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn append(&self, class: &str, token: &str, value: &str) -> Result<(), Error> {
        let mut nonce = [0u8; 12];
        self.rng.fill(&mut nonce).map_err(|_| Error::crypto())?;
        let mut buf = value.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(aad(class, token)),
                &mut buf,
            )
            .map_err(|_| Error::crypto())?;
        let entry = Entry {
            class: class.to_string(),
            token: token.to_string(),
            nonce: data_encoding::BASE64.encode(&nonce),
            value: data_encoding::BASE64.encode(&buf),
        };
        let mut line = serde_json::to_string(&entry).map_err(|_| Error::crypto())?;
        line.push('\n');
        let mut f = match self.file.lock() {
            Ok(f) => f,
            Err(p) => p.into_inner(),
        };
        f.write_all(line.as_bytes())
            .and_then(|()| f.flush())
            .map_err(|e| {
                Error::new(ErrorKind::Vault {
                    path: self.path.clone(),
                    message: format!("cannot be written: {e}"),
                })
            })
    }
}

impl TokenVault for FileVault {
    fn insert(&self, class: &str, token: &str, value: &str) -> Result<Insert, Error> {
        // Write the file first: a token is issued only once it is durable.
        if let Some(v) = get_from(&self.map, class, token) {
            return Ok(if v == value {
                Insert::Existing
            } else {
                Insert::Collision
            });
        }
        match insert_into(&self.map, class, token, value) {
            Insert::New => {
                if let Err(e) = self.append(class, token, value) {
                    if let Ok(mut m) = self.map.write() {
                        m.remove(&(Box::<str>::from(class), Box::<str>::from(token)));
                    }
                    return Err(e);
                }
                Ok(Insert::New)
            }
            other => Ok(other),
        }
    }

    fn get(&self, class: &str, token: &str) -> Result<Option<String>, Error> {
        Ok(get_from(&self.map, class, token))
    }

    fn len(&self) -> usize {
        self.map.read().map_or(0, |m| m.len())
    }
}
