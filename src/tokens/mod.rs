//! Tokens: keyed, deterministic, reversible stand-ins for protected values.
//!
//! A token is written with the policy's `token_format`, by default
//! `<{class}_{token}>`, e.g. `<person_K7Q2M9XA>`. The same value of the same
//! class always gets the same token under one key; another key gives another.
//!
//! - `hash` mode (default): the code is the HMAC-SHA256 of the value under the
//!   class's subkey, truncated to 8 base32 characters. A [`TokenVault`]
//!   records code → value when a token is issued; a collision (two values, one
//!   code) is resolved by a longer code for the newcomer, never merged.
//! - `sealed` mode: the code is the value encrypted with AES-256-GCM under a
//!   synthetic nonce (the HMAC of the value), so anyone with the key can
//!   reverse it without a vault. Codes are longer.
//!
//! Keys come from one [`MasterKey`]; every class has its own subkeys, derived
//! with HKDF-SHA256.
//!
//! Token-shaped text that came from the data (a customer who typed
//! `<person_JZCCFFJT>` into a ticket) is neutralised when rows are protected
//! ([`Tokens::neutralize`]), and an answer reveals only the tokens issued for
//! its own request ([`RequestTokens`]), so stored text can never be turned
//! into another person's value.

mod hash;
pub(crate) mod key;
mod resolve;
mod sealed;
mod vault;

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::Range;
use std::sync::{Arc, RwLock};

use regex::Regex;
use ring::{aead, hmac};

pub(crate) use self::key::MasterKey;
pub use self::key::{key_file_warning, KEY_ENV};
pub(crate) use self::key::{key_from_env, key_from_file, parse_key_text, refuse_trivial};
pub use self::resolve::{NoTokens, ResolvedToken, TokenResolver};
pub use self::vault::{FileVault, Insert, MemoryVault, TokenVault, VaultBatch};
use crate::error::{Error, ErrorKind};
use crate::rules::{Policy, TokenClass, TokenMode};

struct ClassKeys {
    mac: hmac::Key,
    enc: Option<aead::LessSafeKey>,
    /// `hash` mode: the same MAC as `mac`, computed with less work.
    tag: Option<hash::TagKey>,
}

/// The token format, split around its placeholders.
#[derive(Debug, Clone)]
struct Format {
    prefix: String,
    middle: String,
    suffix: String,
    class_first: bool,
    /// Finds tokens in text: groups `class` and `code`.
    find: Regex,
}

impl Format {
    fn parse(f: &str) -> Result<Format, Error> {
        let bad = || Error::rules(None, format!("token format `{f}` is malformed"));
        let c = f.find("{class}").ok_or_else(bad)?;
        let t = f.find("{token}").ok_or_else(bad)?;
        let class_first = c < t;
        let (first, second) = if class_first { (c, t) } else { (t, c) };
        let prefix = f[..first].to_string();
        let middle = f[first + 7..second].to_string();
        let suffix = f[second + 7..].to_string();
        let class_re = "(?P<class>[a-z][a-z0-9_]*)";
        let code_re = "(?P<code>[A-Z2-7]{8,})";
        let (a, b) = if class_first {
            (class_re, code_re)
        } else {
            (code_re, class_re)
        };
        let pat = format!(
            "{}{a}{}{b}{}",
            regex::escape(&prefix),
            regex::escape(&middle),
            regex::escape(&suffix)
        );
        let find = Regex::new(&pat).map_err(|_| bad())?;
        Ok(Format {
            prefix,
            middle,
            suffix,
            class_first,
            find,
        })
    }

    /// The class and code of a whole token, as the regex's groups would
    /// give them: the first group as long as it can be.
    fn split<'t>(&self, token: &'t str) -> Option<(&'t str, &'t str)> {
        let inner = token
            .strip_prefix(self.prefix.as_str())?
            .strip_suffix(self.suffix.as_str())?;
        let class_ok = |c: &str| {
            let mut b = c.bytes();
            b.next().is_some_and(|x| x.is_ascii_lowercase())
                && b.all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || x == b'_')
        };
        let code_ok = |c: &str| {
            c.len() >= 8
                && c.bytes()
                    .all(|x| x.is_ascii_uppercase() || (b'2'..=b'7').contains(&x))
        };
        inner
            .rmatch_indices(self.middle.as_str())
            .find_map(|(i, _)| {
                let (a, b) = (&inner[..i], &inner[i + self.middle.len()..]);
                let (class, code) = if self.class_first { (a, b) } else { (b, a) };
                (class_ok(class) && code_ok(code)).then_some((class, code))
            })
    }

    fn write(&self, class: &str, code: &str) -> String {
        let mut s = String::with_capacity(
            self.prefix.len() + class.len() + self.middle.len() + code.len() + self.suffix.len(),
        );
        self.write_into(class, code, &mut s);
        s
    }

    /// Appends the token of `class` and `code` to `out`.
    fn write_into(&self, class: &str, code: &str, out: &mut String) {
        let (a, b) = if self.class_first {
            (class, code)
        } else {
            (code, class)
        };
        out.push_str(&self.prefix);
        out.push_str(a);
        out.push_str(&self.middle);
        out.push_str(b);
        out.push_str(&self.suffix);
    }
}

/// Issues, resolves and reveals tokens for one policy and one key.
///
/// # Example
/// ```
/// use std::sync::Arc;
/// use sqlveil::{MasterKey, Policy};
/// use sqlveil::rules::TokenClass;
/// use sqlveil::tokens::{MemoryVault, Tokens};
///
/// let policy = Policy::from_toml_str(r#"
///     version = 1
///     [tables.people.columns]
///     name = { action = "tokenize", class = "person" }
///     [roles.support]
///     reveal = ["person"]
/// "#)?;
/// let key = MasterKey::from_bytes(&[0x11; 32]);
/// let tokens = Tokens::new(&policy, key, Some(Arc::new(MemoryVault::new())))?;
///
/// let person = TokenClass::new("person")?;
/// let t = tokens.issue(&person, "Ada Lovelace")?;
/// assert!(t.starts_with("<person_"));
/// assert_eq!(tokens.issue(&person, "Ada Lovelace")?, t); // deterministic
///
/// let answer = format!("The customer is {t}.");
/// let support = policy.role("support").unwrap();
/// assert_eq!(tokens.reveal(&answer, support)?.0, "The customer is Ada Lovelace.");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Tokens {
    key: MasterKey,
    mode: TokenMode,
    format: Format,
    vault: Option<Arc<dyn TokenVault>>,
    keys: Arc<RwLock<ClassKeyMap>>,
}

type ClassKeyMap = HashMap<String, Arc<ClassKeys>, foldhash::fast::RandomState>;

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("mode", &self.mode)
            .field("format", &self.format.find.as_str())
            .finish_non_exhaustive()
    }
}

impl Tokens {
    /// Tokens for a policy's token mode and format.
    ///
    /// # Errors
    /// `hash` mode without a vault.
    pub fn new(
        policy: &Policy,
        key: MasterKey,
        vault: Option<Arc<dyn TokenVault>>,
    ) -> Result<Tokens, Error> {
        let mode = policy.defaults().tokens;
        if mode == TokenMode::Hash && vault.is_none() {
            return Err(Error::usage(
                "hash tokens need a vault to be revealed: give a vault file (--vault FILE), or set tokens = \"sealed\" in the rules",
            ));
        }
        Ok(Tokens {
            key,
            mode,
            format: Format::parse(&policy.defaults().token_format)?,
            vault,
            keys: Arc::new(RwLock::new(ClassKeyMap::default())),
        })
    }

    /// Runs `f` as one batch of issuance: with a [`FileVault`], the file is
    /// locked once, other processes' new entries are read once, and every
    /// token `f` issues through the `Tokens` it is handed is appended in one
    /// write when `f` returns `Ok` (and discarded when it fails). Use the
    /// handed `Tokens`, not `self`, inside `f`: issuing through `self` on the
    /// same thread is an error, since the vault is locked. Without a vault
    /// that batches, `f` simply runs on `self`.
    ///
    /// # Errors
    /// `f`'s error; the vault cannot be locked, read or written.
    ///
    /// # Example
    /// ```
    /// use std::sync::Arc;
    /// use sqlveil::{MasterKey, Policy};
    /// use sqlveil::rules::TokenClass;
    /// use sqlveil::tokens::{FileVault, Tokens};
    ///
    /// let policy = Policy::from_toml_str("version = 1\n[tables.t.columns]\nname = { action = \"tokenize\", class = \"person\" }")?;
    /// let key = MasterKey::from_bytes(&[7; 32]);
    /// let dir = tempfile::tempdir()?;
    /// let vault = Arc::new(FileVault::open(dir.path().join("vault.jsonl"), &key)?);
    /// let tokens = Tokens::new(&policy, key, Some(vault))?;
    /// let person = TokenClass::new("person")?;
    /// let issued = tokens.batch(|t| {
    ///     ["Ada", "Grace", "Ada"].iter().map(|v| t.issue(&person, v)).collect::<Result<Vec<_>, _>>()
    /// })?;
    /// assert_eq!(issued[0], issued[2]);
    /// assert_eq!(tokens.issue(&person, "Grace")?, issued[1]); // durable after the batch
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn batch<R>(&self, f: impl FnOnce(&Tokens) -> Result<R, Error>) -> Result<R, Error> {
        let batch = match &self.vault {
            Some(v) => v.batch()?,
            None => None,
        };
        let Some(batch) = batch else {
            return f(self);
        };
        let view = Tokens {
            key: self.key.clone(),
            mode: self.mode,
            format: self.format.clone(),
            vault: Some(batch.clone()),
            keys: self.keys.clone(),
        };
        let out = f(&view)?;
        drop(view);
        batch.commit()?;
        Ok(out)
    }

    /// The token mode.
    pub fn mode(&self) -> TokenMode {
        self.mode
    }

    /// The master key, for masks applied next to tokens (known values of
    /// `mask` columns in free text).
    pub(crate) fn master_key(&self) -> &MasterKey {
        &self.key
    }

    fn class_keys(&self, class: &str) -> Result<Arc<ClassKeys>, Error> {
        if let Some(k) = self.keys.read().ok().and_then(|m| m.get(class).cloned()) {
            return Ok(k);
        }
        let keys = Arc::new(match self.mode {
            TokenMode::Hash => ClassKeys {
                mac: self.key.hmac_key("token-hash", class)?,
                enc: None,
                tag: Some(hash::TagKey::new(
                    &self.key.hmac_key_bytes("token-hash", class)?,
                )?),
            },
            _ => ClassKeys {
                mac: self.key.hmac_key("token-sealed-nonce", class)?,
                enc: Some(self.key.aead_key("token-sealed", class)?),
                tag: None,
            },
        });
        if let Ok(mut m) = self.keys.write() {
            m.insert(class.to_string(), keys.clone());
        }
        Ok(keys)
    }

    /// Appends the token of a value to `out`, with the class's keys: the
    /// code is recorded in the vault (`hash`) or sealed (`sealed`).
    fn write_token(
        &self,
        keys: &ClassKeys,
        class: &str,
        value: &str,
        out: &mut String,
    ) -> Result<(), Error> {
        match (&self.mode, &keys.enc, &self.vault) {
            (TokenMode::Hash, _, Some(vault)) => {
                let tag = match &keys.tag {
                    Some(k) => k.tag(value),
                    None => return Err(Error::crypto()),
                };
                // The shortest code, on the stack: nearly every token.
                let mut short = [0u8; hash::SHORT];
                let code = hash::short_code(&tag, &mut short)?;
                match vault.insert(class, code, value)? {
                    Insert::New | Insert::Existing => {
                        self.format.write_into(class, code, out);
                        return Ok(());
                    }
                    Insert::Collision => {}
                }
                for len in hash::CODE_LENGTHS.into_iter().filter(|l| *l > hash::SHORT) {
                    let code = hash::code(&tag, len);
                    match vault.insert(class, &code, value)? {
                        Insert::New | Insert::Existing => {
                            self.format.write_into(class, &code, out);
                            return Ok(());
                        }
                        Insert::Collision => continue,
                    }
                }
                Err(Error::crypto())
            }
            (_, Some(enc), _) => {
                let code = sealed::seal(enc, &keys.mac, class, value)?;
                self.format.write_into(class, &code, out);
                Ok(())
            }
            _ => Err(Error::usage("hash tokens need a vault")),
        }
    }

    /// The token of a value of a class.
    ///
    /// # Errors
    /// The vault cannot be written.
    pub fn issue(&self, class: &TokenClass, value: &str) -> Result<String, Error> {
        self.issue_str(class.as_str(), value)
    }

    pub(crate) fn issue_str(&self, class: &str, value: &str) -> Result<String, Error> {
        let keys = self.class_keys(class)?;
        let f = &self.format;
        // Room for the longest `hash` code: one allocation.
        let mut out = String::with_capacity(
            f.prefix.len() + class.len() + f.middle.len() + 52 + f.suffix.len(),
        );
        self.write_token(&keys, class, value, &mut out)?;
        Ok(out)
    }

    /// An issuer for many tokens in a row (the hits of one text).
    pub(crate) fn issuer(&self) -> Issuer<'_> {
        Issuer {
            tokens: self,
            keys: Vec::new(),
        }
    }

    fn lookup(&self, class: &str, code: &str) -> Result<Option<String>, Error> {
        match self.mode {
            TokenMode::Hash => match &self.vault {
                Some(v) => v.get(class, code),
                None => Ok(None),
            },
            _ => {
                let keys = self.class_keys(class)?;
                Ok(keys
                    .enc
                    .as_ref()
                    .and_then(|enc| sealed::open(enc, class, code)))
            }
        }
    }

    /// The class and value of a whole-string token, if sqlveil issued it.
    ///
    /// # Errors
    /// The vault cannot be read.
    pub fn resolve_token(&self, token: &str) -> Result<Option<ResolvedToken>, Error> {
        let Some(c) = self.format.find.captures(token) else {
            return Ok(None);
        };
        let whole = c.get(0).map(|m| m.as_str().len()) == Some(token.len());
        let (Some(class), Some(code)) = (c.name("class"), c.name("code")) else {
            return Ok(None);
        };
        if !whole {
            return Ok(None);
        }
        let Ok(class) = TokenClass::new(class.as_str()) else {
            return Ok(None);
        };
        Ok(self
            .lookup(class.as_str(), code.as_str())?
            .map(|value| ResolvedToken { class, value }))
    }

    /// Replaces the tokens in `text` whose class is in `classes` with their
    /// values. Other tokens, unknown tokens and forged tokens stay as they
    /// are. Returns the text and how many tokens were revealed.
    ///
    /// # Errors
    /// The vault cannot be read.
    pub fn reveal(
        &self,
        text: &str,
        classes: &BTreeSet<TokenClass>,
    ) -> Result<(String, usize), Error> {
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        let mut n = 0;
        for (r, class, code) in self.matches(text) {
            if !classes.iter().any(|k| k.as_str() == class) {
                continue;
            }
            if let Some(value) = self.lookup(class, code)? {
                out.push_str(&text[last..r.start]);
                out.push_str(&value);
                last = r.end;
                n += 1;
            }
        }
        out.push_str(&text[last..]);
        Ok((out, n))
    }

    /// The tokens found in a text: (byte range, class).
    pub fn find<'t>(&self, text: &'t str) -> Vec<(std::ops::Range<usize>, Cow<'t, str>)> {
        self.matches(text)
            .into_iter()
            .map(|(r, class, _)| (r, Cow::Borrowed(class)))
            .collect()
    }
}

/// Issues the tokens of one text's hits: each class's keys are looked up
/// once (not once per hit), and each token is written straight into the
/// output instead of into a string of its own.
pub(crate) struct Issuer<'t> {
    tokens: &'t Tokens,
    /// The classes seen so far and their keys: a few, so a list.
    keys: Vec<(Box<str>, Arc<ClassKeys>)>,
}

impl Issuer<'_> {
    /// Appends the token of a value of a class to `out`; the same token as
    /// [`Tokens::issue`] gives.
    pub(crate) fn issue_into(
        &mut self,
        class: &str,
        value: &str,
        out: &mut String,
    ) -> Result<(), Error> {
        let i = match self.keys.iter().position(|(c, _)| &**c == class) {
            Some(i) => i,
            None => {
                self.keys
                    .push((class.into(), self.tokens.class_keys(class)?));
                self.keys.len() - 1
            }
        };
        let Some((_, keys)) = self.keys.get(i) else {
            return Err(Error::crypto());
        };
        self.tokens.write_token(keys, class, value, out)
    }
}

impl Tokens {
    /// The tokens in a text: (byte range, class, code). Matches are found
    /// with the format's regex (no capture groups: they are slow), then
    /// split by hand.
    pub(crate) fn matches<'t>(&self, text: &'t str) -> Vec<(Range<usize>, &'t str, &'t str)> {
        self.format
            .find
            .find_iter(text)
            .filter_map(|m| {
                let (class, code) = self.format.split(m.as_str())?;
                Some((m.range(), class, code))
            })
            .collect()
    }

    /// The value of a token of a class, if sqlveil issued it.
    pub(crate) fn value_of(&self, class: &str, code: &str) -> Result<Option<String>, Error> {
        self.lookup(class, code)
    }

    /// Text with every token-shaped run made harmless: the code becomes `?`
    /// (`<person_JZCCFFJT>` → `<person_?>`), so that text from the data can
    /// never be revealed, resolved in a filter or taken for a token this
    /// request issued. Returns how many runs were changed; text without any
    /// is borrowed as it is.
    ///
    /// # Example
    /// ```
    /// use sqlveil::{MasterKey, Policy};
    /// use sqlveil::tokens::Tokens;
    /// let policy = Policy::from_toml_str("version = 1\n[defaults]\ntokens = \"sealed\"")?;
    /// let tokens = Tokens::new(&policy, MasterKey::from_bytes(&[7; 32]), None)?;
    /// let (t, n) = tokens.neutralize("Please refund <person_JZCCFFJT> now");
    /// assert_eq!((t.as_ref(), n), ("Please refund <person_?> now", 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn neutralize<'t>(&self, text: &'t str) -> (Cow<'t, str>, usize) {
        if !self.format.find.is_match(text) {
            return (Cow::Borrowed(text), 0);
        }
        let mut out = text.to_string();
        let mut n = 0;
        // A replacement cannot form a new token (`?` is no code character),
        // but the loop makes sure: every pass removes at least 8 code
        // characters, so it ends.
        while self.format.find.is_match(&out) {
            let mut next = String::with_capacity(out.len());
            let mut last = 0;
            for (r, class, _) in self.matches(&out) {
                next.push_str(&out[last..r.start]);
                next.push_str(&self.format.write(class, "?"));
                last = r.end;
                n += 1;
            }
            next.push_str(&out[last..]);
            out = next;
        }
        (Cow::Owned(out), n)
    }

    /// As [`reveal`](Self::reveal), but only the tokens in `allowed` (those
    /// issued for one request) are revealed.
    ///
    /// # Errors
    /// The vault cannot be read.
    pub fn reveal_only(
        &self,
        text: &str,
        classes: &BTreeSet<TokenClass>,
        allowed: &RequestTokens,
    ) -> Result<(String, usize), Error> {
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        let mut n = 0;
        for (r, class, code) in self.matches(text) {
            if !allowed.contains(&text[r.clone()]) || !classes.iter().any(|k| k.as_str() == class) {
                continue;
            }
            if let Some(value) = self.lookup(class, code)? {
                out.push_str(&text[last..r.start]);
                out.push_str(&value);
                last = r.end;
                n += 1;
            }
        }
        out.push_str(&text[last..]);
        Ok((out, n))
    }
}

/// The tokens one request may reveal: those issued for it, that is, found in
/// the rows the model saw and in the scrubbed question. A token from an
/// earlier request, or one the model made up, is not among them and stays a
/// token.
///
/// # Example
/// ```
/// use std::sync::Arc;
/// use sqlveil::{MasterKey, Policy};
/// use sqlveil::rules::TokenClass;
/// use sqlveil::tokens::{MemoryVault, RequestTokens, Tokens};
///
/// let policy = Policy::from_toml_str(r#"
///     version = 1
///     [tables.t.columns]
///     name = { action = "tokenize", class = "person" }
///     [roles.support]
///     reveal = ["person"]
/// "#)?;
/// let tokens = Tokens::new(&policy, MasterKey::from_bytes(&[7; 32]), Some(Arc::new(MemoryVault::new())))?;
/// let person = TokenClass::new("person")?;
/// let (ada, bob) = (tokens.issue(&person, "Ada")?, tokens.issue(&person, "Bob")?);
/// let mut mine = RequestTokens::new();
/// mine.add_text(&tokens, &format!("rows: {ada}"));
/// let support = policy.role("support").unwrap();
/// let (text, n) = tokens.reveal_only(&format!("{ada} and {bob}"), support, &mine)?;
/// assert_eq!((text, n), (format!("Ada and {bob}"), 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct RequestTokens {
    set: HashSet<String, foldhash::fast::RandomState>,
}

impl std::fmt::Debug for RequestTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestTokens")
            .field("len", &self.set.len())
            .finish()
    }
}

impl RequestTokens {
    /// No token.
    pub fn new() -> RequestTokens {
        RequestTokens::default()
    }

    /// Adds every token found in `text`.
    pub fn add_text(&mut self, tokens: &Tokens, text: &str) {
        for (r, _, _) in tokens.matches(text) {
            if !self.set.contains(&text[r.clone()]) {
                self.set.insert(text[r].to_string());
            }
        }
    }

    /// Whether `token` (a whole token, as written) was issued for the request.
    pub fn contains(&self, token: &str) -> bool {
        self.set.contains(token)
    }

    /// How many tokens.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

/// Resolves only the tokens of one request (see [`RequestTokens`]), for the
/// guard: a model's SQL may filter by a token the question carried, and by
/// no other.
#[derive(Debug)]
pub struct RequestResolver<'a> {
    tokens: &'a Tokens,
    allowed: &'a RequestTokens,
}

impl<'a> RequestResolver<'a> {
    /// A resolver for `allowed`'s tokens.
    pub fn new(tokens: &'a Tokens, allowed: &'a RequestTokens) -> RequestResolver<'a> {
        RequestResolver { tokens, allowed }
    }
}

impl TokenResolver for RequestResolver<'_> {
    fn resolve(&self, token: &str) -> Result<Option<ResolvedToken>, Error> {
        if !self.allowed.contains(token) {
            return Ok(None);
        }
        self.tokens.resolve_token(token)
    }
}

impl TokenResolver for Tokens {
    fn resolve(&self, token: &str) -> Result<Option<ResolvedToken>, Error> {
        self.resolve_token(token)
    }
}

/// Reads a role's classes from the policy, as an error for unknown roles.
///
/// # Errors
/// The role is not in the policy.
pub fn role_classes<'p>(policy: &'p Policy, role: &str) -> Result<&'p BTreeSet<TokenClass>, Error> {
    policy.role(role).ok_or_else(|| {
        let known: Vec<&str> = policy.roles().collect();
        Error::new(ErrorKind::Usage(format!(
            "role `{role}` is not in the rules (roles: {})",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splitting a match by hand gives what the regex's groups give, for
    /// formats with and without a middle, class first or code first.
    #[test]
    fn split_agrees_with_the_regex_groups() {
        for f in [
            "<{class}_{token}>",
            "[{token}:{class}]",
            "<{class}{token}>",
            "({token}{class})",
        ] {
            let format = Format::parse(f).unwrap();
            for (class, code) in [
                ("person", "ABCDEFGH"),
                ("p2", "2345ABCD"),
                ("customer_number", "ZZZZZZZZ7777"),
                ("a_b_c", "A2B3C4D5E6"),
            ] {
                let t = format.write(class, code);
                let c = format.find.captures(&t).unwrap();
                let want = (&c["class"], &c["code"]);
                assert_eq!(format.split(&t), Some(want), "{f} {t}");
            }
        }
    }
}
