//! Token vaults: where `hash` tokens are turned back into values.
//!
//! A [`FileVault`] is shared by every process that opens its file (server
//! workers, the command-line tool): a code is issued only under an exclusive
//! lock on the file, after reading what other processes appended, so two
//! values never share a token. Batches ([`TokenVault::batch`]) take the lock
//! once for a whole request and append all its new entries in one write.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::thread::ThreadId;

use ring::aead;
use ring::rand::{SecureRandom, SystemRandom};
use serde::Deserialize;

use super::key::MasterKey;
use super::sealed;
use crate::error::{Error, ErrorKind};
use crate::files::{self, FileId};

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
/// reports [`Insert::Collision`] instead, also for tokens that other
/// processes sharing the store recorded.
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

    /// Starts a batch of inserts that share one lock and one write, or
    /// `None` when the store has nothing to gain from batching (the default).
    /// [`Tokens::batch`](super::Tokens::batch) uses it.
    ///
    /// # Errors
    /// The store cannot be locked or read.
    fn batch(&self) -> Result<Option<Arc<dyn VaultBatch>>, Error> {
        Ok(None)
    }
}

/// A vault behind a reference or a smart pointer is a vault, so that
/// [`ChatBuilder::vault`](crate::chat::ChatBuilder::vault) takes a `FileVault` or
/// a vault the caller shares (`Arc<V>`, `Arc<dyn TokenVault>`) alike.
macro_rules! forward_vault {
    ($($ty:ty),*) => {$(
        impl<V: TokenVault + ?Sized> TokenVault for $ty {
            fn insert(&self, class: &str, token: &str, value: &str) -> Result<Insert, Error> {
                (**self).insert(class, token, value)
            }
            fn get(&self, class: &str, token: &str) -> Result<Option<String>, Error> {
                (**self).get(class, token)
            }
            fn len(&self) -> usize {
                (**self).len()
            }
            fn is_empty(&self) -> bool {
                (**self).is_empty()
            }
            fn batch(&self) -> Result<Option<Arc<dyn VaultBatch>>, Error> {
                (**self).batch()
            }
        }
    )*};
}
forward_vault!(&V, Box<V>, Arc<V>);

/// A batch of inserts into a vault, open until [`commit`](Self::commit) or
/// until it is dropped (which discards its inserts). While it is open, the
/// vault is locked for every other batch and process.
pub trait VaultBatch: TokenVault {
    /// Makes the batch's inserts durable and ends the batch.
    ///
    /// # Errors
    /// The store cannot be written; none of the batch's tokens may then be
    /// used.
    fn commit(&self) -> Result<(), Error>;
}

/// What a vault knows of one token.
#[derive(Clone)]
enum Slot {
    Value(Box<str>),
    /// Two values under one token (written by an older sqlveil, or by hand):
    /// revealed as nothing, a collision for every value.
    Conflict,
}

/// The maps' hasher: fast, seeded per process. Tokens are HMAC outputs, so
/// the keys inserted are not chosen by an attacker.
type Hasher = foldhash::fast::RandomState;

/// token → value, per class.
#[derive(Default)]
struct Map {
    classes: HashMap<Box<str>, HashMap<Box<str>, Slot, Hasher>, Hasher>,
    len: usize,
}

impl Map {
    fn check(&self, class: &str, token: &str, value: &str) -> Option<Insert> {
        match self.classes.get(class)?.get(token)? {
            Slot::Value(v) if &**v == value => Some(Insert::Existing),
            _ => Some(Insert::Collision),
        }
    }

    fn get(&self, class: &str, token: &str) -> Option<&str> {
        match self.classes.get(class)?.get(token)? {
            Slot::Value(v) => Some(v),
            Slot::Conflict => None,
        }
    }

    fn has(&self, class: &str, token: &str) -> bool {
        self.classes
            .get(class)
            .is_some_and(|m| m.contains_key(token))
    }

    /// Records a value; a second, different value for the token turns it
    /// into a conflict.
    fn put(&mut self, class: &str, token: &str, value: &str) {
        let m = match self.classes.get_mut(class) {
            Some(m) => m,
            None => self.classes.entry(class.into()).or_default(),
        };
        match m.get_mut(token) {
            None => {
                m.insert(token.into(), Slot::Value(value.into()));
                self.len += 1;
            }
            Some(Slot::Value(v)) if &**v == value => {}
            Some(slot) => *slot = Slot::Conflict,
        }
    }

    /// Records a value for a token the map does not hold (the caller
    /// checked, under the same lock): one lookup fewer than [`Map::put`].
    fn put_new(&mut self, class: &str, token: &str, value: &str) {
        let m = match self.classes.get_mut(class) {
            Some(m) => m,
            None => self.classes.entry(class.into()).or_default(),
        };
        if m.insert(token.into(), Slot::Value(value.into())).is_none() {
            self.len += 1;
        }
    }

    /// Moves every entry of `other` in (they are new to this map: a batch
    /// checked them under the lock).
    fn absorb(&mut self, other: Map) {
        for (class, tokens) in other.classes {
            match self.classes.get_mut(&class) {
                Some(m) => {
                    for (token, slot) in tokens {
                        match (m.get(&token), &slot) {
                            (None, _) => {
                                m.insert(token, slot);
                                self.len += 1;
                            }
                            (Some(Slot::Value(a)), Slot::Value(b)) if a == b => {}
                            _ => {
                                m.insert(token, Slot::Conflict);
                            }
                        }
                    }
                }
                None => {
                    self.len += tokens.len();
                    self.classes.insert(class, tokens);
                }
            }
        }
    }
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    match l.read() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    match l.write() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// A vault in memory: gone when the process ends.
#[derive(Default)]
pub struct MemoryVault {
    map: RwLock<Map>,
}

impl std::fmt::Debug for MemoryVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryVault")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl MemoryVault {
    /// An empty vault.
    pub fn new() -> MemoryVault {
        MemoryVault::default()
    }
}

impl TokenVault for MemoryVault {
    fn insert(&self, class: &str, token: &str, value: &str) -> Result<Insert, Error> {
        if let Some(r) = read(&self.map).check(class, token, value) {
            return Ok(r);
        }
        let mut m = write(&self.map);
        if let Some(r) = m.check(class, token, value) {
            return Ok(r);
        }
        m.put_new(class, token, value);
        Ok(Insert::New)
    }

    fn get(&self, class: &str, token: &str) -> Result<Option<String>, Error> {
        Ok(read(&self.map).get(class, token).map(str::to_string))
    }

    fn len(&self) -> usize {
        read(&self.map).len
    }
}

/// A vault entry as read back. Entries of format 2 (`"v":2`) hold the value
/// padded as sealed tokens pad it; entries without `v` (sqlveil 0.1) hold it
/// bare.
#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    v: u8,
    class: String,
    token: String,
    nonce: String,
    value: String,
}

/// A vault kept in a file, shared by every process that opens it.
///
/// One JSON line per token. The value is encrypted at rest with AES-256-GCM
/// under a key derived from the master key; the class, the token and the
/// format version are the authenticated data, so entries cannot be swapped;
/// values are padded to a multiple of 16 bytes (as `sealed` tokens are), so
/// the file does not show their exact lengths. The file is created `0600`.
///
/// Issuing a new code takes an exclusive lock on the file, reads the entries
/// other processes appended since, and only then checks for a collision and
/// appends: two processes never give two values one token, and a value
/// always gets the same token. A token this process does not know yet is
/// looked up in the file's new entries before it is reported unknown.
/// [`Tokens::batch`](super::Tokens::batch) takes the lock once per request.
pub struct FileVault {
    shared: Arc<Shared>,
}

struct Shared {
    path: PathBuf,
    key: aead::LessSafeKey,
    map: RwLock<Map>,
    io: Mutex<Io>,
    /// The handle single inserts lock through (batches open their own).
    single: Mutex<Option<File>>,
    /// The thread that holds an open batch, so that it gets an error rather
    /// than waiting for its own lock.
    batch_thread: Mutex<Option<ThreadId>>,
    rng: SystemRandom,
}

struct Io {
    file: File,
    id: FileId,
    /// Bytes of whole lines read so far.
    offset: u64,
    /// Lines read so far, for messages.
    lines: usize,
    /// Random bytes for nonces, drawn in bulk.
    nonces: Vec<u8>,
}

impl std::fmt::Debug for FileVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileVault")
            .field("path", &self.shared.path)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

const FORMAT: u8 = 2;

fn aad(version: u8, class: &str, token: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(class.len() + token.len() + 4);
    if version >= 2 {
        v.extend_from_slice(b"v2\0");
    }
    v.extend_from_slice(class.as_bytes());
    v.push(0);
    v.extend_from_slice(token.as_bytes());
    v
}

/// Whether a name can be written into JSON as it is.
fn plain(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl Shared {
    fn err(&self, message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Vault {
            path: self.path.clone(),
            message: message.into(),
        })
    }

    /// Reads the lines appended since the last read into the map. With
    /// `locked` (the caller holds the file's exclusive lock), a torn last
    /// line, left by a writer that died mid-write and never handed out its
    /// tokens, is cut off; without, it is left for a later read.
    fn refresh(&self, io: &mut Io, locked: bool) -> Result<(), Error> {
        let meta = io
            .file
            .metadata()
            .map_err(|e| self.err(format!("cannot be read: {e}")))?;
        if locked {
            let now = std::fs::metadata(&self.path)
                .map_err(|e| self.err(format!("cannot be read: {e}")))?;
            if FileId::of(&now) != io.id {
                return Err(self.err("was replaced by another file while open: reopen the vault"));
            }
        }
        let len = meta.len();
        if len < io.offset {
            return Err(self.err("was cut short while open: entries are missing"));
        }
        if len == io.offset {
            return Ok(());
        }
        io.file
            .seek(SeekFrom::Start(io.offset))
            .map_err(|e| self.err(format!("cannot be read: {e}")))?;
        let mut buf = Vec::with_capacity(usize::try_from(len - io.offset).unwrap_or(0));
        (&io.file)
            .take(len - io.offset)
            .read_to_end(&mut buf)
            .map_err(|e| self.err(format!("cannot be read: {e}")))?;
        let whole = buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        {
            let mut map = write(&self.map);
            for line in buf[..whole].split(|&b| b == b'\n') {
                io.lines += 1;
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let (class, token, value) = self.decode(line, io.lines)?;
                // A second value for a token makes it a conflict: revealed as
                // nothing, a collision for every value.
                map.put(&class, &token, &value);
            }
            // `split` yields one empty piece after the last newline.
            io.lines = io.lines.saturating_sub(1);
        }
        io.offset += whole as u64;
        if locked && whole < buf.len() {
            io.file
                .set_len(io.offset)
                .map_err(|e| self.err(format!("cannot cut a torn last line: {e}")))?;
        }
        Ok(())
    }

    fn decode(&self, line: &[u8], n: usize) -> Result<(String, String, String), Error> {
        let e: Entry = serde_json::from_slice(line)
            .map_err(|_| self.err(format!("line {n} is not a vault entry")))?;
        if e.v > FORMAT {
            return Err(self.err(format!(
                "line {n} was written by a newer sqlveil (format {})",
                e.v
            )));
        }
        let nonce = data_encoding::BASE64
            .decode(e.nonce.as_bytes())
            .ok()
            .and_then(|b| <[u8; 12]>::try_from(b.as_slice()).ok())
            .ok_or_else(|| self.err(format!("line {n} has a malformed nonce")))?;
        let mut buf = data_encoding::BASE64
            .decode(e.value.as_bytes())
            .map_err(|_| self.err(format!("line {n} has a malformed value")))?;
        let plain = self
            .key
            .open_in_place(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(aad(e.v, &e.class, &e.token)),
                &mut buf,
            )
            .map_err(|_| {
                self.err(format!(
                    "line {n} does not decrypt: another key, or the file was altered"
                ))
            })?;
        let value = if e.v >= 2 {
            sealed::unpad(plain).ok_or_else(|| self.err(format!("line {n} is malformed")))?
        } else {
            plain
        };
        let value = std::str::from_utf8(value)
            .map_err(|_| self.err(format!("line {n} is not text")))?
            .to_string();
        Ok((e.class, e.token, value))
    }

    /// Appends one entry as a line to `out`, encrypted under a fresh random
    /// nonce from `nonces` (drawn in bulk), padded in `scratch`.
    fn encode(
        &self,
        nonces: &mut Vec<u8>,
        scratch: &mut Vec<u8>,
        class: &str,
        token: &str,
        value: &str,
        out: &mut String,
    ) -> Result<(), Error> {
        if nonces.len() < 12 {
            nonces.resize(12 * 512, 0);
            self.rng.fill(nonces).map_err(|_| Error::crypto())?;
        }
        let at = nonces.len() - 12;
        let nonce = <[u8; 12]>::try_from(&nonces[at..]).map_err(|_| Error::crypto())?;
        nonces.truncate(at);
        sealed::pad_into(value.as_bytes(), scratch)?;
        self.key
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(aad(FORMAT, class, token)),
                scratch,
            )
            .map_err(|_| Error::crypto())?;
        out.push_str("{\"v\":2,\"class\":");
        push_json_str(out, class)?;
        out.push_str(",\"token\":");
        push_json_str(out, token)?;
        out.push_str(",\"nonce\":\"");
        data_encoding::BASE64.encode_append(&nonce, out);
        out.push_str("\",\"value\":\"");
        data_encoding::BASE64.encode_append(scratch, out);
        out.push_str("\"}\n");
        Ok(())
    }

    /// Appends `count` whole lines.
    fn write(&self, io: &mut Io, bytes: &[u8], count: usize) -> Result<(), Error> {
        io.file
            .write_all(bytes)
            .and_then(|()| io.file.flush())
            .map_err(|e| self.err(format!("cannot be written: {e}")))?;
        io.offset += bytes.len() as u64;
        io.lines += count;
        Ok(())
    }

    fn on_batch_thread(&self) -> bool {
        *lock(&self.batch_thread) == Some(std::thread::current().id())
    }
}

fn push_json_str(out: &mut String, s: &str) -> Result<(), Error> {
    if plain(s) {
        out.push('"');
        out.push_str(s);
        out.push('"');
        Ok(())
    } else {
        out.push_str(&serde_json::to_string(s).map_err(|_| Error::crypto())?);
        Ok(())
    }
}

impl FileVault {
    /// Opens (or creates, `0600`) a vault file, decrypting every entry with
    /// the key.
    ///
    /// # Errors
    /// An unreadable file, a malformed line, or an entry that does not
    /// decrypt (another key, or a tampered file), naming the line.
    ///
    /// # Example
    /// ```
    /// use sqlveil::MasterKey;
    /// use sqlveil::tokens::{FileVault, TokenVault};
    /// let dir = tempfile::tempdir()?;
    /// let key = MasterKey::from_bytes(&[7; 32]);
    /// let a = FileVault::open(dir.path().join("vault.jsonl"), &key)?;
    /// a.insert("person", "ABCDEFGH", "Ada Lovelace")?;
    /// // Another process (here: another handle) sees the entry.
    /// let b = FileVault::open(dir.path().join("vault.jsonl"), &key)?;
    /// assert_eq!(b.get("person", "ABCDEFGH")?.as_deref(), Some("Ada Lovelace"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl AsRef<Path>, key: &MasterKey) -> Result<FileVault, Error> {
        let path = path.as_ref().to_path_buf();
        let err = |message: String| {
            Error::new(ErrorKind::Vault {
                path: path.clone(),
                message,
            })
        };
        let file =
            files::open_read_append(&path).map_err(|e| err(format!("cannot be opened: {e}")))?;
        let id = FileId::of(
            &file
                .metadata()
                .map_err(|e| err(format!("cannot be read: {e}")))?,
        );
        let shared = Arc::new(Shared {
            path: path.clone(),
            key: key.aead_key("vault", "")?,
            map: RwLock::new(Map::default()),
            io: Mutex::new(Io {
                file,
                id,
                offset: 0,
                lines: 0,
                nonces: Vec::new(),
            }),
            single: Mutex::new(None),
            batch_thread: Mutex::new(None),
            rng: SystemRandom::new(),
        });
        shared.refresh(&mut lock(&shared.io), false)?;
        Ok(FileVault { shared })
    }

    /// The vault's file.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    fn busy(&self) -> Error {
        self.shared.err(
            "a batch of this vault is open on this thread: issue tokens through it (the Tokens that Tokens::batch hands out)",
        )
    }
}

impl TokenVault for FileVault {
    fn insert(&self, class: &str, token: &str, value: &str) -> Result<Insert, Error> {
        let s = &*self.shared;
        // Entries are never changed once written: a known token answers
        // without the lock.
        if let Some(r) = read(&s.map).check(class, token, value) {
            return Ok(r);
        }
        if s.on_batch_thread() {
            return Err(self.busy());
        }
        let mut single = lock(&s.single);
        if single.is_none() {
            *single =
                Some(File::open(&s.path).map_err(|e| s.err(format!("cannot be opened: {e}")))?);
        }
        let Some(handle) = single.as_ref() else {
            return Err(s.err("cannot be opened"));
        };
        let _held =
            files::Exclusive::lock(handle).map_err(|e| s.err(format!("cannot be locked: {e}")))?;
        let mut io = lock(&s.io);
        s.refresh(&mut io, true)?;
        if let Some(r) = read(&s.map).check(class, token, value) {
            return Ok(r);
        }
        let mut line = String::new();
        let mut nonces = std::mem::take(&mut io.nonces);
        let r = s.encode(&mut nonces, &mut Vec::new(), class, token, value, &mut line);
        io.nonces = nonces;
        r?;
        // The file first: a token is issued only once it is durable.
        s.write(&mut io, line.as_bytes(), 1)?;
        write(&s.map).put(class, token, value);
        Ok(Insert::New)
    }

    fn get(&self, class: &str, token: &str) -> Result<Option<String>, Error> {
        let s = &*self.shared;
        {
            let m = read(&s.map);
            if m.has(class, token) {
                return Ok(m.get(class, token).map(str::to_string));
            }
        }
        // Perhaps another process issued it since: read the file's new
        // whole lines (no lock is needed to read them).
        s.refresh(&mut lock(&s.io), false)?;
        Ok(read(&s.map).get(class, token).map(str::to_string))
    }

    fn len(&self) -> usize {
        read(&self.shared.map).len
    }

    fn batch(&self) -> Result<Option<Arc<dyn VaultBatch>>, Error> {
        let s = &self.shared;
        if s.on_batch_thread() {
            return Err(self.busy());
        }
        // A handle of its own, so that the lock also keeps out the other
        // threads of this process.
        let handle = File::open(&s.path).map_err(|e| s.err(format!("cannot be opened: {e}")))?;
        handle
            .lock()
            .map_err(|e| s.err(format!("cannot be locked: {e}")))?;
        *lock(&s.batch_thread) = Some(std::thread::current().id());
        let batch = FileBatch {
            shared: s.clone(),
            handle,
            pending: Mutex::new(Pending::default()),
        };
        s.refresh(&mut lock(&s.io), true)?;
        Ok(Some(Arc::new(batch)))
    }
}

#[derive(Default)]
struct Pending {
    map: Map,
    lines: String,
    nonces: Vec<u8>,
    scratch: Vec<u8>,
    done: bool,
}

/// An open batch of a [`FileVault`]: the file's lock, and the entries to
/// append at commit.
struct FileBatch {
    shared: Arc<Shared>,
    handle: File,
    pending: Mutex<Pending>,
}

impl Drop for FileBatch {
    fn drop(&mut self) {
        *lock(&self.shared.batch_thread) = None;
        let _ = self.handle.unlock();
    }
}

impl TokenVault for FileBatch {
    fn insert(&self, class: &str, token: &str, value: &str) -> Result<Insert, Error> {
        let s = &*self.shared;
        if let Some(r) = read(&s.map).check(class, token, value) {
            return Ok(r);
        }
        let mut guard = lock(&self.pending);
        let p = &mut *guard;
        if p.done {
            return Err(s.err("the batch is already committed"));
        }
        if let Some(r) = p.map.check(class, token, value) {
            return Ok(r);
        }
        s.encode(
            &mut p.nonces,
            &mut p.scratch,
            class,
            token,
            value,
            &mut p.lines,
        )?;
        p.map.put_new(class, token, value);
        Ok(Insert::New)
    }

    fn get(&self, class: &str, token: &str) -> Result<Option<String>, Error> {
        {
            let p = lock(&self.pending);
            if p.map.has(class, token) {
                return Ok(p.map.get(class, token).map(str::to_string));
            }
        }
        let s = &*self.shared;
        {
            let m = read(&s.map);
            if m.has(class, token) {
                return Ok(m.get(class, token).map(str::to_string));
            }
        }
        s.refresh(&mut lock(&s.io), true)?;
        Ok(read(&s.map).get(class, token).map(str::to_string))
    }

    fn len(&self) -> usize {
        read(&self.shared.map).len + lock(&self.pending).map.len
    }
}

impl VaultBatch for FileBatch {
    fn commit(&self) -> Result<(), Error> {
        let s = &*self.shared;
        let mut p = lock(&self.pending);
        if p.done {
            return Ok(());
        }
        p.done = true;
        if p.lines.is_empty() {
            return Ok(());
        }
        let lines = std::mem::take(&mut p.lines);
        s.write(&mut lock(&s.io), lines.as_bytes(), p.map.len)?;
        write(&s.map).absorb(std::mem::take(&mut p.map));
        Ok(())
    }
}
