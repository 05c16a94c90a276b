//! The value of a key in the FSTs (its column, flags, priority) and how
//! the stored spelling of a key is given back.

use std::collections::HashMap;

// The value of a key in the FSTs: whose it is and how its stored spelling
// is given back.
//
//   bits  0..16  column
//   bit  16      a part (`match_parts`)
//   bit  17      a digit key holding letters (word boundaries apply)
//   bits 18..21  how the stored spelling is given back (`KIND_*`)
//   bits 21..24  priority among keys shared by columns
//   bits 24..64  payload: a template number or an offset in the spellings
pub(super) const COLUMN_MASK: u64 = 0xFFFF;
pub(super) const PART: u64 = 1 << 16;
pub(super) const LETTERS: u64 = 1 << 17;
pub(super) const KIND_SHIFT: u32 = 18;
pub(super) const PRIO_SHIFT: u32 = 21;
pub(super) const PAYLOAD_SHIFT: u32 = 24;
pub(super) const MAX_PAYLOAD: u64 = (1 << (64 - PAYLOAD_SHIFT)) - 1;

/// The stored spelling is the key.
pub(super) const KIND_EXACT: u64 = 0;
/// The key with the first letter of each word upper case.
pub(super) const KIND_TITLE: u64 = 1;
/// The key in upper case.
pub(super) const KIND_UPPER: u64 = 2;
/// A digit key poured into a template (see [`Templates`]).
pub(super) const KIND_TEMPLATE: u64 = 3;
/// Kept as written, in the spellings.
pub(super) const KIND_SPELLED: u64 = 4;
/// Not needed (a `deny` column's hits are redacted).
pub(super) const KIND_NONE: u64 = 5;

pub(super) fn column_of(v: u64) -> usize {
    (v & COLUMN_MASK) as usize
}

fn kind_of(v: u64) -> u64 {
    (v >> KIND_SHIFT) & 7
}

pub(super) fn prio_of(v: u64) -> u64 {
    (v >> PRIO_SHIFT) & 7
}

fn payload_of(v: u64) -> u64 {
    v >> PAYLOAD_SHIFT
}

/// Template bytes: a placeholder takes the next key byte as it is, an upper
/// one upper-cased, a skip consumes a key byte (a national form's trunk
/// `0`); any other byte is itself.
pub(super) const T_KEEP: u8 = 0;
pub(super) const T_UPPER: u8 = 1;
pub(super) const T_SKIP: u8 = 2;

/// At most this many distinct templates; values of other shapes keep their
/// spelling.
const MAX_TEMPLATES: usize = 1 << 16;

/// The stored spellings of digit keys share few shapes (`ddd-dd-dddd`,
/// `(ddd) ddd-dddd`, `CUST-dddddd`): each shape is kept once.
#[derive(Debug, Default, Clone)]
pub(crate) struct Templates {
    pub(crate) list: Vec<Box<[u8]>>,
    index: HashMap<Box<[u8]>, u32>,
}

impl Templates {
    pub(crate) fn from_list(list: Vec<Box<[u8]>>) -> Templates {
        Templates {
            list,
            index: HashMap::new(),
        }
    }

    pub(super) fn intern(&mut self, t: &[u8]) -> Option<u32> {
        if let Some(&i) = self.index.get(t) {
            return Some(i);
        }
        if self.list.len() >= MAX_TEMPLATES {
            return None;
        }
        let i = u32::try_from(self.list.len()).ok()?;
        self.list.push(t.into());
        self.index.insert(t.into(), i);
        Some(i)
    }

    pub(super) fn bytes(&self) -> usize {
        self.list.iter().map(|t| t.len() + 16).sum()
    }
}

fn fill(template: &[u8], key: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(template.len());
    let mut k = key.iter();
    for &t in template {
        match t {
            T_KEEP => out.push(*k.next()?),
            T_UPPER => out.push(k.next()?.to_ascii_uppercase()),
            T_SKIP => {
                k.next()?;
            }
            b => out.push(b),
        }
    }
    if k.next().is_some() {
        return None;
    }
    String::from_utf8(out).ok()
}

/// Whether `v` is `title(key)`, without building it.
pub(super) fn is_title(key: &[u8], v: &[u8]) -> bool {
    if key.len() != v.len() {
        return false;
    }
    let mut start = true;
    for (&k, &b) in key.iter().zip(v) {
        let want = if start { k.to_ascii_uppercase() } else { k };
        if want != b {
            return false;
        }
        start = !k.is_ascii_alphanumeric();
    }
    true
}

fn title(key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len());
    let mut start = true;
    for &b in key {
        out.push(if start { b.to_ascii_uppercase() } else { b });
        start = !b.is_ascii_alphanumeric();
    }
    out
}

/// The stored spellings the keys cannot give back, end to end, each as a
/// LEB128 length and its bytes.
pub(super) fn push_spelled(spellings: &mut Vec<u8>, v: &str) -> u64 {
    let at = spellings.len() as u64;
    let mut n = v.len();
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            spellings.push(b);
            break;
        }
        spellings.push(b | 0x80);
    }
    spellings.extend_from_slice(v.as_bytes());
    at
}

fn spelled(spellings: &[u8], at: u64) -> Option<&str> {
    let mut i = usize::try_from(at).ok()?;
    let mut n: usize = 0;
    let mut shift = 0;
    loop {
        let b = *spellings.get(i)?;
        i += 1;
        n |= usize::from(b & 0x7f).checked_shl(shift)?;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 35 {
            return None;
        }
    }
    std::str::from_utf8(spellings.get(i..i.checked_add(n)?)?).ok()
}

/// The stored spelling of a key.
pub(super) fn stored(
    key: &[u8],
    v: u64,
    templates: &Templates,
    spellings: &[u8],
) -> Option<String> {
    match kind_of(v) {
        KIND_EXACT => String::from_utf8(key.to_vec()).ok(),
        KIND_TITLE => String::from_utf8(title(key)).ok(),
        KIND_UPPER => String::from_utf8(key.to_ascii_uppercase()).ok(),
        KIND_TEMPLATE => {
            let t = templates.list.get(usize::try_from(payload_of(v)).ok()?)?;
            fill(t, key)
        }
        KIND_SPELLED => spelled(spellings, payload_of(v)).map(str::to_string),
        KIND_NONE => Some(String::new()),
        _ => None,
    }
}
