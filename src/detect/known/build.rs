//! Building the index: which values are worth finding, their keys, and the
//! builder that reads them into sorted runs.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use fst::Map;

use super::report::{KnownColumnReport, KnownPhase, KnownProgress, KnownValuesReport};
use super::runs::{merge_runs, poisoned, prefix8, sort_run, too_big, Side, Store};
use super::spec::{ColumnSpec, KnownColumn};
use super::value::{
    column_of, is_title, push_spelled, Templates, COLUMN_MASK, KIND_EXACT, KIND_NONE, KIND_SHIFT,
    KIND_SPELLED, KIND_TEMPLATE, KIND_TITLE, KIND_UPPER, LETTERS, MAX_PAYLOAD, PART, PAYLOAD_SHIFT,
    PRIO_SHIFT, T_KEEP, T_SKIP, T_UPPER,
};
use super::walk::Head;
use super::{KnownValues, KnownValuesOptions};
use crate::detect::normalize::{digit_gap, is_apostrophe, text_key};
use crate::detect::ValueSource;
use crate::error::Error;
use crate::rules::Action;

impl KnownValues {
    /// Reads the values of `specs` (already checked against the catalog)
    /// from `source` and builds the index.
    pub(crate) fn build<S: ValueSource + ?Sized>(
        specs: &[ColumnSpec],
        source: &S,
        opts: &KnownValuesOptions,
        progress: &mut dyn FnMut(&KnownProgress),
    ) -> Result<KnownValues, Error> {
        let start = Instant::now();
        let mut b = Builder::new(opts);
        let mut read: u64 = 0;
        for (i, spec) in specs.iter().enumerate() {
            let name = format!("{}.{}", spec.table, spec.column);
            progress(&KnownProgress {
                phase: KnownPhase::Reading,
                column: Some(name.clone()),
                columns_done: i,
                columns: specs.len(),
                values: read,
                elapsed: start.elapsed(),
            });
            b.start_column(spec)?;
            let mut last = Instant::now();
            source.distinct_values(&spec.table, &spec.column, None, &mut |v| {
                read += 1;
                if read.is_multiple_of(65_536) && last.elapsed() >= Duration::from_millis(500) {
                    last = Instant::now();
                    progress(&KnownProgress {
                        phase: KnownPhase::Reading,
                        column: Some(name.clone()),
                        columns_done: i,
                        columns: specs.len(),
                        values: read,
                        elapsed: start.elapsed(),
                    });
                }
                b.value(v)
            })?;
        }
        progress(&KnownProgress {
            phase: KnownPhase::Indexing,
            column: None,
            columns_done: specs.len(),
            columns: specs.len(),
            values: read,
            elapsed: start.elapsed(),
        });
        let mut kv = b.finish()?;
        kv.report.build_time = start.elapsed();
        Ok(kv)
    }

    /// Builds from values in memory (for tests): one list per spec.
    #[cfg(test)]
    pub(crate) fn from_values(
        specs: &[ColumnSpec],
        values: &[&[&str]],
        opts: &KnownValuesOptions,
    ) -> Result<KnownValues, Error> {
        let mut b = Builder::new(opts);
        for (spec, vs) in specs.iter().zip(values) {
            b.start_column(spec)?;
            for v in vs.iter() {
                b.value(v)?;
            }
        }
        b.finish()
    }
}

/// The value bits of a column at a priority, with no kind.
fn base_with(col: usize, prio: u64) -> u64 {
    col as u64 | (prio << PRIO_SHIFT)
}

/// Other spellings of a text value people write: an apostrophe as a
/// break (`O Brien`; the walk then reads `OBrien` and `Obrien` too), and
/// umlauts and the Nordic letters as two letters (`Mueller` for
/// `Müller`), and both at once.
fn spellings_of(v: &str) -> Vec<String> {
    let apostrophe = is_apostrophe;
    let mut out = Vec::new();
    if v.contains(apostrophe) {
        out.push(v.replace(apostrophe, " "));
    }
    let t = transliterated(v);
    if t != v {
        if t.contains(apostrophe) {
            out.push(t.replace(apostrophe, " "));
        }
        out.push(t);
    }
    out
}

/// On a text key, the mark of a name's initial and surname (the bit that
/// marks letters on a digit key).
pub(super) const INITIAL: u64 = LETTERS;

/// Umlauts and the Nordic letters as their two-letter spellings.
fn transliterated(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            'ä' | 'æ' => out.push_str("ae"),
            'ö' | 'ø' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'å' => out.push_str("aa"),
            'Ä' | 'Æ' => out.push_str("Ae"),
            'Ö' | 'Ø' => out.push_str("Oe"),
            'Ü' => out.push_str("Ue"),
            'Å' => out.push_str("Aa"),
            _ => out.push(c),
        }
    }
    out
}

/// A name's initial and surname, `L Johnson` for `Liam Johnson` (the walk
/// also reads `ljohnson`, `L.Johnson`, `LJohnson`), when the value is two
/// or more words of letters and the surname has at least 6 letters:
/// shorter ones make common words (`across` of A. Cross).
fn initial_form(v: &str) -> Option<String> {
    let words: Vec<&str> = v.split_whitespace().collect();
    let (first, last) = (words.first()?, words.last()?);
    let letters = |w: &str| {
        w.chars()
            .all(|c| c.is_alphabetic() || c == '-' || is_apostrophe(c))
    };
    if words.len() < 2 || !words.iter().all(|w| letters(w)) || last.chars().count() < 6 {
        return None;
    }
    let initial = first.chars().next()?;
    Some(format!("{initial} {last}"))
}

/// Whether a (trimmed) value is worth finding.
fn identifying(v: &str, opts: &KnownValuesOptions) -> bool {
    let mut chars = 0;
    let mut digits = 0;
    let mut alnum = false;
    let mut numeric = true;
    for c in v.chars() {
        chars += 1;
        if c.is_ascii_digit() {
            digits += 1;
        } else if !matches!(c, ' ' | '.' | ',' | '-' | '/' | ':' | '+' | '(' | ')') {
            numeric = false;
        }
        alnum |= c.is_alphanumeric();
    }
    chars >= opts.min_chars && alnum && (!numeric || digits >= opts.min_digits)
}

/// Priority among entries for the same key: strictest action, then a
/// whole value over a part.
fn priority(action: &Action, part: bool) -> u64 {
    let a = match action {
        Action::Deny => 3,
        Action::Tokenize { .. } => 2,
        _ => 1,
    };
    a * 2 + u64::from(!part) - 2
}

/// A value's digit key, when it is mostly digits: its letters and digits
/// (lowercased), with a template that gives back its spelling, and the
/// national forms of an international phone number (`+1 512 555 0151` is
/// also `512 555 0151` and `0512 555 0151`) or of a number with a trunk
/// `0` (`020 7946 0958` is also `20 7946 0958`).
struct DigitForm {
    key: Vec<u8>,
    template: Vec<u8>,
    letters: bool,
    /// Other keys with their templates.
    alternates: Vec<(Vec<u8>, Vec<u8>)>,
}

/// A digit template with its first `skip` digits written out (from the
/// value `v` the template was made of, byte for byte).
fn written_out(template: &[u8], v: &str, skip: usize) -> Vec<u8> {
    let mut tpl = Vec::with_capacity(template.len());
    let mut seen = 0;
    for (&tb, ob) in template.iter().zip(v.bytes()) {
        if tb == T_KEEP && seen < skip {
            tpl.push(ob);
            seen += 1;
        } else {
            tpl.push(tb);
        }
    }
    tpl
}

fn digit_form(v: &str, opts: &KnownValuesOptions) -> Option<DigitForm> {
    let t = v.trim();
    let (mut digits, mut letters) = (0usize, 0usize);
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits += 1;
        } else if c.is_ascii_alphabetic() {
            letters += 1;
        } else if !(c.is_ascii() && digit_gap(c)) {
            return None;
        }
    }
    // Short codes (`A-1`) keep their spelling: as digit keys they would be
    // found in too many places.
    if digits == 0 || letters > digits || digits + letters < opts.min_digits {
        return None;
    }
    let lead = &v[..v.len() - v.trim_start().len()];
    let trail = &v[v.trim_end().len()..];
    let mut key = Vec::with_capacity(t.len());
    let mut template = Vec::with_capacity(v.len());
    template.extend_from_slice(lead.as_bytes());
    for b in t.bytes() {
        if b.is_ascii_alphanumeric() {
            key.push(b.to_ascii_lowercase());
            template.push(if b.is_ascii_uppercase() {
                T_UPPER
            } else {
                T_KEEP
            });
        } else {
            template.push(b);
        }
    }
    template.extend_from_slice(trail.as_bytes());
    let alternates = if letters == 0 {
        phone_forms(t, v, &key, &template, digits, opts)
    } else {
        Vec::new()
    };
    Some(DigitForm {
        key,
        template,
        letters: letters > 0,
        alternates,
    })
}

/// The other keys of a number without letters: the national forms of an
/// international phone number (`+1 512 555 0151` is also `512 555 0151`
/// and `0512 555 0151`) or of a number with a trunk `0` (`020 7946 0958`
/// is also `20 7946 0958`), each with its template.
///
/// A phone's last seven digits alone (`555-0151`) are not a key: at real
/// sizes every `NNN-NNNN` (a range, `200-5000`) is some phone's.
fn phone_forms(
    t: &str,
    v: &str,
    key: &[u8],
    template: &[u8],
    digits: usize,
    opts: &KnownValuesOptions,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut alternates = Vec::new();
    // `+CC rest` or `00CC rest`, the country code 1 to 3 digits followed
    // by a separator.
    let body = t
        .strip_prefix('+')
        .or_else(|| t.strip_prefix("00"))
        .map(str::trim_start);
    if let Some(body) = body {
        let cc = body.bytes().take_while(u8::is_ascii_digit).count();
        let rest_digits = digits
            .saturating_sub(cc)
            .saturating_sub(if t.starts_with("00") { 2 } else { 0 });
        if (1..=3).contains(&cc)
            && body.as_bytes().get(cc).is_some_and(|b| !b.is_ascii_digit())
            && rest_digits >= opts.min_digits
        {
            let skip = key.len() - rest_digits;
            let national: Vec<u8> = key[skip..].to_vec();
            // The template with the country code's digits written out.
            let tpl = written_out(template, v, skip);
            let mut trunk = vec![b'0'];
            trunk.extend_from_slice(&national);
            let mut trunk_tpl = vec![T_SKIP];
            trunk_tpl.extend_from_slice(&tpl);
            alternates.push((national, tpl));
            alternates.push((trunk, trunk_tpl));
        }
    } else if key.first() == Some(&b'0') && digits > opts.min_digits && key.get(1) != Some(&b'0') {
        // A trunk `0`: the number without it, the `0` written out.
        alternates.push((key[1..].to_vec(), written_out(template, v, 1)));
    }
    alternates
}

/// Builds the index from values: each full sort buffer is sorted into a
/// run on another thread while the next one fills, and the runs of the two
/// FSTs are merged side by side at the end.
struct Builder<'o> {
    opts: &'o KnownValuesOptions,
    text: Side,
    digits: Side,
    store: Arc<RwLock<Store>>,
    columns: Vec<KnownColumn>,
    reports: Vec<KnownColumnReport>,
    /// Key bytes per column, for the memory estimate.
    key_bytes: Vec<u64>,
    /// The column being read, its action and whether parts are indexed.
    current: Option<(usize, Action, bool)>,
    scratch: Vec<u8>,
}

impl<'o> Builder<'o> {
    fn new(opts: &'o KnownValuesOptions) -> Builder<'o> {
        Builder {
            opts,
            text: Side::default(),
            digits: Side::default(),
            store: Arc::new(RwLock::new(Store::default())),
            columns: Vec::new(),
            reports: Vec::new(),
            key_bytes: Vec::new(),
            current: None,
            scratch: Vec::new(),
        }
    }

    fn start_column(&mut self, spec: &ColumnSpec) -> Result<(), Error> {
        let col = self.columns.len();
        if col as u64 > COLUMN_MASK {
            return Err(Error::usage(
                "known-value detection takes at most 65,536 columns",
            ));
        }
        self.columns.push(KnownColumn::of(spec));
        self.key_bytes.push(0);
        self.reports.push(KnownColumnReport {
            table: spec.table.clone(),
            column: spec.column.clone(),
            action: spec.action.as_tag(),
            values: 0,
            skipped: 0,
            digit_values: 0,
            patterns: 0,
            memory_bytes: 0,
        });
        let parts = spec.match_parts && matches!(spec.action, Action::Tokenize { .. });
        self.current = Some((col, spec.action.clone(), parts));
        Ok(())
    }

    /// The memory held so far: runs, spellings, templates, buffers (the
    /// one being sorted counts as one buffer).
    fn memory(&self) -> Result<u64, Error> {
        let st = self.store.read().map_err(|_| poisoned())?;
        let sorting =
            u64::from(self.text.sorting.is_some()) + u64::from(self.digits.sorting.is_some());
        Ok((self.text.runs_bytes() + self.digits.runs_bytes()) as u64
            + (st.spellings.capacity() + st.templates.bytes()) as u64
            + self.text.buffer.memory()
            + self.digits.buffer.memory()
            + sorting * self.opts.build_buffer)
    }

    /// Adds one value of the current column.
    fn value(&mut self, v: &str) -> Result<(), Error> {
        let Some((col, action, parts)) = self.current.clone() else {
            return Err(Error::usage("a known value came before its column"));
        };
        let Some(report) = self.reports.get_mut(col) else {
            return Ok(());
        };
        report.values += 1;
        let t = v.trim();
        if !identifying(t, self.opts) {
            report.skipped += 1;
            return Ok(());
        }
        let deny = matches!(action, Action::Deny);
        let prio = priority(&action, false);
        let base = col as u64 | (prio << PRIO_SHIFT);
        if let Some(d) = digit_form(v, self.opts) {
            report.digit_values += 1;
            return self.digit_keys(d, v, base, deny);
        }
        let mut key = std::mem::take(&mut self.scratch);
        text_key(t, &mut key);
        if !key.is_empty() {
            let how = if deny {
                KIND_NONE << KIND_SHIFT
            } else {
                self.how(&key, v)?
            };
            self.push(false, col, &key, base | how)?;
            self.variants(col, t, v, &key, base, deny)?;
        }
        if parts {
            self.part_keys(t, v, col, priority(&action, true), &mut key)?;
        }
        self.scratch = key;
        Ok(())
    }

    /// Pushes a mostly-digit value's keys: its digits, and the national
    /// forms of a phone (see [`phone_forms`]).
    fn digit_keys(&mut self, d: DigitForm, v: &str, base: u64, deny: bool) -> Result<(), Error> {
        let col = column_of(base);
        let letters = if d.letters { LETTERS } else { 0 };
        let mut keys = vec![(d.key, d.template)];
        keys.extend(d.alternates);
        for (key, template) in keys {
            let how = if deny {
                KIND_NONE << KIND_SHIFT
            } else {
                let interned = self
                    .store
                    .write()
                    .map_err(|_| poisoned())?
                    .templates
                    .intern(&template);
                match interned {
                    Some(i) => (KIND_TEMPLATE << KIND_SHIFT) | (u64::from(i) << PAYLOAD_SHIFT),
                    None => self.spell(v)?,
                }
            };
            self.push(true, col, &key, base | letters | how)?;
        }
        Ok(())
    }

    /// Pushes the words of a value `t` (spelled `v`) as parts, at the
    /// part priority `pprio`, and its initial and surname.
    fn part_keys(
        &mut self,
        t: &str,
        v: &str,
        col: usize,
        pprio: u64,
        key: &mut Vec<u8>,
    ) -> Result<(), Error> {
        for p in t.split(|c: char| c.is_whitespace() || c == '-') {
            let p = p.trim_matches(|c: char| !c.is_alphanumeric());
            if p.len() == t.len()
                || p.chars().count() < self.opts.min_part_chars
                || !identifying(p, self.opts)
            {
                continue;
            }
            text_key(p, key);
            if key.is_empty() {
                continue;
            }
            let how = self.how(key, p)?;
            let base = base_with(col, pprio) | PART;
            self.push(false, col, key, base | how)?;
            self.variants(col, p, p, key, base, false)?;
        }
        // Initial and surname (`L. Johnson`, `l_johnson`, `LJohnson`) at a
        // part's priority: a whole value wins. `LETTERS` on a text key marks
        // it: the walk takes it only where the text breaks or capitalises
        // after the initial, not run together in one case (`shopper` is
        // not S. Hopper).
        if let Some(initial) = initial_form(t) {
            text_key(&initial, key);
            let how = self.spell(v)?;
            let base = base_with(col, pprio) | INITIAL;
            self.push(false, col, key, base | how)?;
            self.variants(col, &initial, v, key, base, false)?;
        }
        Ok(())
    }

    /// Pushes the other spellings of a text value or part `v` (key `key`,
    /// given back as `spelling`):
    /// an apostrophe read as a break (`O Brien`, and so `OBrien`, `Obrien`
    /// for `O'Brien`), umlauts and Nordic letters as two letters (`Mueller`
    /// for `Müller`). Each gives back `v`'s spelling.
    fn variants(
        &mut self,
        col: usize,
        v: &str,
        spelling: &str,
        key: &[u8],
        base: u64,
        deny: bool,
    ) -> Result<(), Error> {
        let mut seen: Vec<Vec<u8>> = vec![key.to_vec()];
        for form in spellings_of(v) {
            let mut k = Vec::new();
            text_key(&form, &mut k);
            if k.is_empty() || seen.contains(&k) {
                continue;
            }
            let how = if deny {
                KIND_NONE << KIND_SHIFT
            } else {
                self.spell(spelling)?
            };
            self.push(false, col, &k, base | how)?;
            seen.push(k);
        }
        Ok(())
    }

    /// How a text key gives back its stored spelling `v`.
    fn how(&mut self, key: &[u8], v: &str) -> Result<u64, Error> {
        let vb = v.as_bytes();
        Ok(if vb == key {
            KIND_EXACT << KIND_SHIFT
        } else if key.is_ascii() && is_title(key, vb) {
            KIND_TITLE << KIND_SHIFT
        } else if key.is_ascii() && key.to_ascii_uppercase() == vb {
            KIND_UPPER << KIND_SHIFT
        } else {
            self.spell(v)?
        })
    }

    fn spell(&mut self, v: &str) -> Result<u64, Error> {
        let at = push_spelled(
            &mut self.store.write().map_err(|_| poisoned())?.spellings,
            v,
        );
        if at > MAX_PAYLOAD {
            return Err(too_big(at, self.opts.max_memory));
        }
        Ok((KIND_SPELLED << KIND_SHIFT) | (at << PAYLOAD_SHIFT))
    }

    fn push(&mut self, digits: bool, col: usize, key: &[u8], value: u64) -> Result<(), Error> {
        let Ok(len) = u32::try_from(key.len()) else {
            return Ok(());
        };
        if let Some(r) = self.reports.get_mut(col) {
            r.patterns += 1;
        }
        if let Some(k) = self.key_bytes.get_mut(col) {
            *k += key.len() as u64;
        }
        let side = if digits {
            &mut self.digits
        } else {
            &mut self.text
        };
        side.buffer
            .items
            .push((prefix8(key), side.buffer.bytes.len(), len, value));
        side.buffer.bytes.extend_from_slice(key);
        if side.buffer.memory() >= self.opts.build_buffer {
            self.flush(digits)?;
        }
        Ok(())
    }

    /// Hands the buffer to a thread that sorts it into a run, after the
    /// previous run of the same side is done.
    fn flush(&mut self, digits: bool) -> Result<(), Error> {
        let side = if digits {
            &mut self.digits
        } else {
            &mut self.text
        };
        side.join()?;
        let buffer = std::mem::take(&mut side.buffer);
        if buffer.items.is_empty() {
            return Ok(());
        }
        let store = Arc::clone(&self.store);
        side.sorting = Some(
            std::thread::Builder::new()
                .name("sqlveil-known-run".into())
                .spawn(move || sort_run(buffer, &store))
                .map_err(|e| {
                    Error::usage(format!(
                        "cannot start a thread to build the known-value index: {e}"
                    ))
                })?,
        );
        let used = self.memory()?;
        if used > self.opts.max_memory {
            return Err(too_big(used, self.opts.max_memory));
        }
        Ok(())
    }

    fn finish(mut self) -> Result<KnownValues, Error> {
        self.flush(false)?;
        self.flush(true)?;
        self.text.join()?;
        self.digits.join()?;
        let limit = self.opts.max_memory;
        let (text_runs, digit_runs) = (
            std::mem::take(&mut self.text.runs),
            std::mem::take(&mut self.digits.runs),
        );
        let store = &self.store;
        let (text, digits) = std::thread::scope(|s| {
            let t = s.spawn(move || merge_runs(text_runs, store, limit));
            let d = merge_runs(digit_runs, store, limit);
            let t = t.join().map_err(|_| poisoned()).and_then(|r| r);
            (t, d)
        });
        let (text, digits) = (text?, digits?);
        let index_bytes = text.as_ref().map_or(0, |m| m.as_fst().as_bytes().len())
            + digits.as_ref().map_or(0, |m| m.as_fst().as_bytes().len());
        let Store {
            templates,
            mut spellings,
        } = std::mem::take(&mut *self.store.write().map_err(|_| poisoned())?);
        spellings.shrink_to_fit();
        let values_bytes = spellings.len() + templates.bytes();
        if (index_bytes + values_bytes) as u64 > self.opts.max_memory {
            return Err(too_big(
                (index_bytes + values_bytes) as u64,
                self.opts.max_memory,
            ));
        }
        let patterns = text.as_ref().map_or(0, Map::len) + digits.as_ref().map_or(0, Map::len);
        let total_keys: u64 = self.key_bytes.iter().sum::<u64>().max(1);
        for (r, k) in self.reports.iter_mut().zip(&self.key_bytes) {
            r.memory_bytes = ((index_bytes + values_bytes) as u128 * u128::from(*k)
                / u128::from(total_keys)) as usize;
        }
        Ok(KnownValues {
            heads: [Head::of(text.as_ref()), Head::of(digits.as_ref())],
            text,
            digits,
            templates: Templates::from_list(templates.list),
            spellings,
            columns: self.columns,
            parts_any_case: self.opts.parts_any_case,
            identity: None,
            report: KnownValuesReport {
                columns: self.reports,
                patterns,
                index_bytes,
                values_bytes,
                build_time: Duration::ZERO,
                loaded_from: None,
                saved_to: None,
                warnings: Vec::new(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_short_values_are_skipped() {
        let o = KnownValuesOptions::default();
        assert!(!identifying("12", &o));
        assert!(!identifying("2024", &o));
        assert!(!identifying("12,345", &o));
        assert!(!identifying("(512) 55", &o));
        assert!(identifying("123456", &o));
        assert!(identifying("(512) 555-0151", &o));
        assert!(identifying("Ann", &o));
        assert!(!identifying("Al", &o));
        assert!(!identifying("---", &o));
    }
}
