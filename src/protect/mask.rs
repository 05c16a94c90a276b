//! Masks: partial views of a text value.

use ring::hmac;

use crate::rules::MaskKind;

const STAR: char = '*';

/// Masks one value. Never returns a non-empty input unchanged unless the
/// input is made of the mask character only.
pub(crate) fn mask(kind: MaskKind, v: &str, key: &hmac::Key, out: &mut String) {
    out.clear();
    match kind {
        MaskKind::Email => match v.rsplit_once('@') {
            Some((local, domain)) if !local.is_empty() && !domain.is_empty() => {
                if let Some(c) = local.chars().next() {
                    out.push(c);
                }
                out.push_str("***@");
                out.push_str(domain);
            }
            _ => stars(v.chars().count().max(1), out),
        },
        MaskKind::Last4 => keep(v, false, out),
        MaskKind::First4 => keep(v, true, out),
        // A fixed width, so that the mask does not tell the length.
        MaskKind::Full => stars(8, out),
        MaskKind::Hash => {
            let tag = hmac::sign(key, v.as_bytes());
            out.push_str(&data_encoding::HEXLOWER.encode(&tag.as_ref()[..8]));
        }
    }
}

fn stars(n: usize, out: &mut String) {
    out.extend(std::iter::repeat_n(STAR, n));
}

/// Keeps four characters at one end. Values shorter than eight characters
/// are masked whole: four of them would be most of the value.
fn keep(v: &str, first: bool, out: &mut String) {
    let n = v.chars().count();
    if n < 8 {
        stars(n, out);
        return;
    }
    if first {
        out.extend(v.chars().take(4));
        stars(n - 4, out);
    } else {
        stars(n - 4, out);
        out.extend(v.chars().skip(n - 4));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(kind: MaskKind, v: &str) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"test key for masks");
        let mut out = String::new();
        mask(kind, v, &key, &mut out);
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
}
