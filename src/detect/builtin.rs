//! The built-in detectors: patterns and the checks that confirm them.

use std::ops::Range;

use super::validate;

/// A confirmation of a pattern match: the whole text and the match's range.
pub(crate) type Check = fn(&str, &Range<usize>) -> bool;

/// A built-in pattern: detector name, regex, check, specificity.
pub(crate) struct Builtin {
    pub(crate) name: &'static str,
    pub(crate) regex: &'static str,
    pub(crate) check: Option<Check>,
    /// Used to break ties between overlapping hits of the same length: a
    /// checksum-validated detector beats a shape-only one.
    pub(crate) specificity: u8,
}

/// The built-in patterns. Several may share a detector name.
pub(crate) const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "email",
        // Local parts and domains may hold letters of any script
        // (jörg.müller@example.de, o'brien@example.com, jane@münchen.de).
        regex: r"(?i)[\p{L}\p{N}._%+'-]+@[\p{L}\p{N}][\p{L}\p{N}-]*(?:\.[\p{L}\p{N}][\p{L}\p{N}-]*)*\.\p{L}{2,24}",
        check: None,
        specificity: 3,
    },
    Builtin {
        // North American: (415) 555-0134, 415-555-0134, 415.555.0134,
        // +1 415 555 0134.
        name: "phone",
        regex: r"(?:\+1[ .-]?)?(?:\([2-9][0-9]{2}\)[ .-]?|(?-u:\b)[2-9][0-9]{2}[ .-])[0-9]{3}[ .-][0-9]{4}(?-u:\b)",
        check: Some(|t, r| validate::phone(&t[r.clone()])),
        specificity: 1,
    },
    Builtin {
        // International: +44 20 7946 0958, +49-30-1234567.
        name: "phone",
        regex: r"\+[1-9][0-9]{0,2}(?:[ .-]?\(?[0-9]{1,5}\)?){2,5}(?-u:\b)",
        check: Some(|t, r| validate::phone(&t[r.clone()])),
        specificity: 1,
    },
    Builtin {
        name: "ssn",
        regex: r"(?-u:\b)[0-9]{3}-[0-9]{2}-[0-9]{4}(?-u:\b)",
        check: Some(|t, r| validate::ssn(&t[r.clone()])),
        specificity: 4,
    },
    Builtin {
        name: "credit_card",
        // 4-4-4-4 groups, Amex 4-6-5, or 13 to 19 digits in one run.
        regex: r"(?-u:\b)(?:[2-6][0-9]{3}(?:[ -][0-9]{4}){3}|3[47][0-9]{2}[ -][0-9]{6}[ -][0-9]{5}|[2-6][0-9]{12,18})(?-u:\b)",
        check: Some(|t, r| validate::luhn(&t[r.clone()])),
        specificity: 4,
    },
    Builtin {
        name: "iban",
        regex: r"(?-u:\b)[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?-u:\b)",
        check: Some(|t, r| validate::iban(&t[r.clone()])),
        specificity: 5,
    },
    Builtin {
        name: "ipv4",
        regex: r"(?-u:\b)[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?-u:\b)",
        check: Some(validate::ipv4),
        specificity: 2,
    },
    Builtin {
        // An IPv4 address in IPv6 form: ::ffff:192.0.2.1.
        name: "ipv6",
        regex: r"(?i)(?:[0-9a-f]{0,4}:){2,6}(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?-u:\b)",
        check: Some(|t, r| validate::ipv6(&t[r.clone()])),
        specificity: 2,
    },
    Builtin {
        name: "ipv6",
        regex: r"(?i)(?:[0-9a-f]{1,4}|:)?:(?:[0-9a-f]{0,4}:){1,7}[0-9a-f]{0,4}(?-u:\b)",
        check: Some(|t, r| validate::ipv6(&t[r.clone()])),
        specificity: 2,
    },
];
