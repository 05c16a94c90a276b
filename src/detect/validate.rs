//! Checksums and structural rules that turn a pattern match into a hit.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Range;

/// The Luhn checksum of the digits in `s` (other characters skipped).
pub(crate) fn luhn(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() < 13 || digits.len() > 19 {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The ISO 13616 mod-97 check of an IBAN (spaces skipped).
pub(crate) fn iban(s: &str) -> bool {
    let compact: Vec<u8> = s
        .bytes()
        .filter(|b| *b != b' ')
        .map(|b| b.to_ascii_uppercase())
        .collect();
    if compact.len() < 15 || compact.len() > 34 {
        return false;
    }
    let (head, tail) = compact.split_at(4);
    let mut rem: u32 = 0;
    for &b in tail.iter().chain(head.iter()) {
        let v = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// US SSN rules: area not 000, 666 or 900–999; group not 00; serial not 0000.
pub(crate) fn ssn(s: &str) -> bool {
    let d: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if d.len() != 9 {
        return false;
    }
    let area = d[0] * 100 + d[1] * 10 + d[2];
    let group = d[3] * 10 + d[4];
    let serial = d[5] * 1000 + d[6] * 100 + d[7] * 10 + d[8];
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

/// A phone number has 10 to 15 digits (E.164 allows 15; shorter runs are
/// too often order numbers and the like).
pub(crate) fn phone(s: &str) -> bool {
    let n = s.chars().filter(char::is_ascii_digit).count();
    (10..=15).contains(&n)
}

fn around(text: &str, r: &Range<usize>) -> (Option<char>, Option<char>, Option<char>) {
    let before = text[..r.start].chars().next_back();
    let mut after = text[r.end..].chars();
    (before, after.next(), after.next())
}

/// An IPv4 address that is not part of a longer dotted number.
pub(crate) fn ipv4(text: &str, r: &Range<usize>) -> bool {
    let (before, a1, a2) = around(text, r);
    let dotted_on = a1 == Some('.') && a2.is_some_and(|c| c.is_ascii_digit());
    let dotted_before = before == Some('.')
        && text[..r.start]
            .chars()
            .rev()
            .nth(1)
            .is_some_and(|c| c.is_ascii_digit());
    !dotted_on && !dotted_before && text[r.clone()].parse::<Ipv4Addr>().is_ok()
}

/// A string the standard library reads as an IPv6 address, with at least
/// two colons and either `::` or eight groups (not a time like `10:30:00`).
pub(crate) fn ipv6(s: &str) -> bool {
    let groups = s.split(':').count();
    (s.contains("::") || groups == 8) && s.parse::<Ipv6Addr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums() {
        assert!(luhn("4111 1111 1111 1111"));
        assert!(!luhn("4111 1111 1111 1112"));
        assert!(iban("DE89 3704 0044 0532 0130 00"));
        assert!(iban("GB82WEST12345698765432"));
        assert!(!iban("DE88 3704 0044 0532 0130 00"));
        assert!(ssn("123-45-6789"));
        for bad in [
            "000-12-3456",
            "666-12-3456",
            "900-12-3456",
            "123-00-4567",
            "123-45-0000",
        ] {
            assert!(!ssn(bad), "{bad}");
        }
        assert!(ipv6("2001:db8::1"));
        assert!(!ipv6("10:30:00"));
        let t = "at 10.0.0.1 and 1.2.3.4.5";
        assert!(ipv4(t, &(3..11)));
        assert!(!ipv4(t, &(16..23)));
    }
}
