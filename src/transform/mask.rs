//! Masks: partial views of a text value.

use ring::hmac;

use crate::rules::{Mask, MaskKind};

const STAR: char = '*';

/// The width of a mask that does not show a length.
const FIXED: usize = 8;

/// Masks one value. Never returns a non-empty input unchanged unless the
/// input is made of the mask character only. `key` is the hash mask's key
/// (the column's own, or its link's).
pub(crate) fn mask(m: &Mask, v: &str, key: &hmac::Key, out: &mut String) {
    out.clear();
    match m.kind {
        MaskKind::Email => match email_parts(v) {
            Some((first, domain)) => {
                out.push(first);
                out.push_str("***@");
                out.push_str(domain);
            }
            None => whole(v, m.fixed_length, out),
        },
        MaskKind::Last4 => keep(v, false, m.fixed_length, out),
        MaskKind::First4 => keep(v, true, m.fixed_length, out),
        // A fixed width, so that the mask does not tell the length.
        MaskKind::Full => stars(FIXED, out),
        MaskKind::Hash => {
            let tag = hmac::sign(key, v.as_bytes());
            out.push_str(&data_encoding::HEXLOWER.encode(&tag.as_ref()[..8]));
        }
    }
}

/// The first character of the local part and the domain of an email, when
/// the domain is a syntactically valid host name: labels of letters, digits
/// and inner hyphens (1 to 63 bytes), at least two, a top-level label of two
/// or more letters (or `xn--…`), 253 bytes at most, and fewer than four
/// digits. Anything else after the last `@` (`first.last@123-45-6789`,
/// `x@213-67-8559.com`) is not shown.
fn email_parts(v: &str) -> Option<(char, &str)> {
    let (local, domain) = v.rsplit_once('@')?;
    let first = local.chars().next()?;
    if domain.len() > 253 {
        return None;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    let tld = labels.last()?;
    let tld_ok = (tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()))
        || (tld.len() > 4 && tld.starts_with("xn--"));
    // A domain can be a number of the person's (`x@213-67-8559.com`, a
    // card, a birth date): four digits or more and it is not shown
    // (`163.com` is).
    let digits = domain.bytes().filter(u8::is_ascii_digit).count();
    (labels.len() >= 2 && labels.iter().all(label_ok) && tld_ok && digits < 4)
        .then_some((first, domain))
}

fn stars(n: usize, out: &mut String) {
    out.extend(std::iter::repeat_n(STAR, n));
}

/// The whole value masked: one star a character, or a fixed width.
fn whole(v: &str, fixed: bool, out: &mut String) {
    if fixed {
        stars(FIXED, out);
    } else {
        stars(v.chars().count().max(1), out);
    }
}

/// Keeps four characters at one end. Values shorter than eight characters
/// are masked whole: four of them would be most of the value. With `fixed`,
/// four stars stand for the rest whatever its length.
fn keep(v: &str, first: bool, fixed: bool, out: &mut String) {
    let n = v.chars().count();
    if n < 8 {
        if fixed {
            stars(FIXED, out);
        } else {
            stars(n, out);
        }
        return;
    }
    let hidden = if fixed { 4 } else { n - 4 };
    if first {
        out.extend(v.chars().take(4));
        stars(hidden, out);
    } else {
        stars(hidden, out);
        out.extend(v.chars().skip(n - 4));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(kind: MaskKind, v: &str) -> String {
        mf(kind, false, v)
    }

    fn mf(kind: MaskKind, fixed: bool, v: &str) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"test key for masks");
        let mut out = String::new();
        mask(&Mask::new(kind).fixed_length(fixed), v, &key, &mut out);
        out
    }

    #[test]
    fn masks() {
        assert_eq!(
            m(MaskKind::Email, "jane.doe@example.com"),
            "j***@example.com"
        );
        assert_eq!(m(MaskKind::Email, "not-an-email"), "************");
        assert_eq!(m(MaskKind::Last4, "(678) 555-0132"), "**********0132");
        assert_eq!(m(MaskKind::First4, "4111111111111111"), "4111************");
        assert_eq!(m(MaskKind::Last4, "abc"), "***");
        assert_eq!(m(MaskKind::Last4, "12345"), "*****");
        assert_eq!(m(MaskKind::Full, "x"), "********");
        assert_eq!(m(MaskKind::Hash, "x").len(), 16);
        assert_ne!(m(MaskKind::Hash, "x"), m(MaskKind::Hash, "y"));
    }

    #[test]
    fn email_keeps_only_a_valid_domain() {
        for (v, want) in [
            ("first.last@123-45-6789", "**********************"),
            ("a@b", "***"),
            ("a@localhost", "***********"),
            ("a@-x.com", "********"),
            ("a@x..com", "********"),
            ("a@x.c0m", "*******"),
            ("a@exa mple.com", "**************"),
            ("@example.com", "************"),
            ("x@sub.example.co.uk", "x***@sub.example.co.uk"),
            ("x@bücher.de", "***********"),
            ("x@xn--bcher-kva.de", "x***@xn--bcher-kva.de"),
            ("we@ird@example.org", "w***@example.org"),
            ("first.last@213-67-8559.com", "**************************"),
            ("x@4111111111111111.io", "*********************"),
            ("x@1990-04-12.net", "****************"),
            ("x@163.com", "x***@163.com"),
        ] {
            assert_eq!(m(MaskKind::Email, v), want, "{v}");
        }
        assert_eq!(
            mf(MaskKind::Email, true, "first.last@123-45-6789"),
            "********"
        );
    }

    #[test]
    fn fixed_length_hides_the_length() {
        for v in ["(678) 555-0132", "+1 (678) 555-0132 ext. 99", "55501320"] {
            assert_eq!(mf(MaskKind::Last4, true, v).chars().count(), 8, "{v}");
            assert!(mf(MaskKind::Last4, true, v).starts_with("****"));
        }
        assert_eq!(mf(MaskKind::Last4, true, "(678) 555-0132"), "****0132");
        assert_eq!(mf(MaskKind::First4, true, "4111111111111111"), "4111****");
        assert_eq!(mf(MaskKind::Last4, true, "abc"), "********");
        assert_eq!(mf(MaskKind::Last4, true, "abcdefg"), "********");
    }
}
