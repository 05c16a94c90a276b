//! Tokens: round trips, determinism, vaults, collisions, reveal, keys.

use std::collections::BTreeSet;
use std::sync::Arc;

use proptest::prelude::*;
use sqlveil::{
    ErrorKind, FileVault, MasterKey, MemoryVault, Policy, TokenClass, TokenVault, Tokens,
};

const RULES: &str = r#"
version = 1
[tables.people.columns]
name = { action = "tokenize", class = "person" }
[roles.support]
reveal = ["person"]
[roles.analyst]
reveal = []
"#;

fn key(b: u8) -> MasterKey {
    MasterKey::from_bytes(&[b; 32])
}

fn policy(mode: &str) -> Policy {
    Policy::from_toml_str(&format!("{RULES}\n[defaults]\ntokens = \"{mode}\"\n")).unwrap()
}

fn hash_tokens(k: MasterKey) -> Tokens {
    Tokens::new(&policy("hash"), k, Some(Arc::new(MemoryVault::new()))).unwrap()
}

fn sealed_tokens(k: MasterKey) -> Tokens {
    Tokens::new(&policy("sealed"), k, None).unwrap()
}

fn person() -> TokenClass {
    TokenClass::new("person").unwrap()
}

fn all() -> BTreeSet<TokenClass> {
    [person()].into_iter().collect()
}

const VALUES: &[&str] = &[
    "",
    "Ada Lovelace",
    "Zoë Hall 🙂",
    "O'Brien; DROP TABLE x",
    "<person_AAAAAAAA>",
    "\n\t",
];

#[test]
fn round_trip_both_modes() {
    let long = "x".repeat(10_000);
    for tokens in [hash_tokens(key(1)), sealed_tokens(key(1))] {
        for v in VALUES.iter().copied().chain([long.as_str()]) {
            let t = tokens.issue(&person(), v).unwrap();
            let back = tokens
                .resolve_token(&t)
                .unwrap()
                .expect("issued token resolves");
            assert_eq!(back.value, v);
            assert_eq!(back.class, person());
            let (revealed, n) = tokens.reveal(&format!("before {t} after"), &all()).unwrap();
            assert_eq!(revealed, format!("before {v} after"));
            assert_eq!(n, 1);
        }
    }
}

#[test]
fn deterministic_per_key_and_class() {
    for (a, b, c) in [
        (
            hash_tokens(key(1)),
            hash_tokens(key(1)),
            hash_tokens(key(2)),
        ),
        (
            sealed_tokens(key(1)),
            sealed_tokens(key(1)),
            sealed_tokens(key(2)),
        ),
    ] {
        let ta = a.issue(&person(), "Ada").unwrap();
        assert_eq!(ta, b.issue(&person(), "Ada").unwrap());
        assert_ne!(ta, c.issue(&person(), "Ada").unwrap());
        assert_ne!(ta, a.issue(&person(), "Bob").unwrap());
        // Another class, another token.
        let other = a
            .issue(&TokenClass::new("customer").unwrap(), "Ada")
            .unwrap();
        assert_ne!(ta.split('_').nth(1), other.split('_').nth(1));
    }
}

/// Sealed tokens tell a value's length only to within 16 bytes.
#[test]
fn sealed_tokens_hide_the_exact_length() {
    let s = sealed_tokens(key(2));
    let lens: Vec<usize> = ["Bo", "Ann Lee", "Ada Lovelace"]
        .iter()
        .map(|v| s.issue(&person(), v).unwrap().len())
        .collect();
    assert!(lens.windows(2).all(|w| w[0] == w[1]), "{lens:?}");
}

#[test]
fn reveal_only_for_the_role_and_never_forged() {
    let p = policy("hash");
    let tokens = hash_tokens(key(3));
    let t = tokens.issue(&person(), "Ada").unwrap();
    let text = format!("{t} met <person_ZZZZZZZZ> and <customer_ABCDEFGH>");
    let (support, n) = tokens.reveal(&text, p.role("support").unwrap()).unwrap();
    assert_eq!(support, "Ada met <person_ZZZZZZZZ> and <customer_ABCDEFGH>");
    assert_eq!(n, 1);
    let (analyst, n) = tokens.reveal(&text, p.role("analyst").unwrap()).unwrap();
    assert_eq!(analyst, text);
    assert_eq!(n, 0);
    // A sealed token altered by one character does not open.
    let s = sealed_tokens(key(3));
    let t = s.issue(&person(), "Ada").unwrap();
    let mut forged = t.clone().into_bytes();
    let i = forged.len() - 3;
    forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    assert!(s.resolve_token(&forged).unwrap().is_none());
    // Another key cannot open it either.
    assert!(sealed_tokens(key(4)).resolve_token(&t).unwrap().is_none());
}

#[test]
fn collisions_are_resolved_never_merged() {
    // Find Ada's short code, then make a vault where that code already
    // stands for someone else.
    let t = hash_tokens(key(5)).issue(&person(), "Ada").unwrap();
    let code = t
        .trim_start_matches("<person_")
        .trim_end_matches('>')
        .to_string();
    let vault = Arc::new(MemoryVault::new());
    vault.insert("person", &code, "Someone Else").unwrap();
    let tokens = Tokens::new(&policy("hash"), key(5), Some(vault.clone())).unwrap();
    let t2 = tokens.issue(&person(), "Ada").unwrap();
    assert_ne!(t2, t);
    assert!(t2.len() > t.len());
    assert_eq!(tokens.resolve_token(&t2).unwrap().unwrap().value, "Ada");
    assert_eq!(
        tokens.resolve_token(&t).unwrap().unwrap().value,
        "Someone Else"
    );
    // Issuing again gives the same longer token.
    assert_eq!(tokens.issue(&person(), "Ada").unwrap(), t2);
}

#[test]
fn file_vault_survives_a_reopen_and_detects_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.jsonl");
    let t = {
        let vault = Arc::new(FileVault::open(&path, &key(6)).unwrap());
        let tokens = Tokens::new(&policy("hash"), key(6), Some(vault)).unwrap();
        tokens.issue(&person(), "Ada Lovelace").unwrap()
    };
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("Ada"), "values are encrypted at rest");
    let vault = Arc::new(FileVault::open(&path, &key(6)).unwrap());
    let tokens = Tokens::new(&policy("hash"), key(6), Some(vault)).unwrap();
    assert_eq!(
        tokens.resolve_token(&t).unwrap().unwrap().value,
        "Ada Lovelace"
    );

    // Another key cannot open the vault.
    let e = FileVault::open(&path, &key(7)).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Vault { .. }), "{e}");
    assert!(e.to_string().contains("line 1"), "{e}");

    // A flipped byte in a value is found.
    let mut bytes = text.into_bytes();
    let at = bytes.len() - 10;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    std::fs::write(&path, bytes).unwrap();
    let e = FileVault::open(&path, &key(6)).unwrap_err();
    assert!(e.to_string().contains("line 1"), "{e}");
}

#[test]
fn keys_are_checked() {
    assert!(MasterKey::parse(&"ab".repeat(32)).is_ok());
    assert!(MasterKey::parse(&data_encoding_b64(&[9u8; 32])).is_ok());
    for bad in [
        "",
        "abcd",
        &"ab".repeat(31),
        &"zz".repeat(32),
        &data_encoding_b64(&[9u8; 16]),
    ] {
        let e = MasterKey::parse(bad).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Key(_)), "{bad}: {e}");
    }
    let e = MasterKey::from_file("/nonexistent/key").unwrap_err();
    assert!(e.to_string().contains("/nonexistent/key"), "{e}");
    // Hash tokens without a vault are refused.
    assert!(Tokens::new(&policy("hash"), key(1), None).is_err());
}

fn data_encoding_b64(b: &[u8]) -> String {
    // A tiny base64 encoder, so the test does not lean on the crate's own
    // decoder to produce its input.
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, &x| acc << 8 | u32::from(x)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn any_string_survives_tokenize_and_reveal(v in "\\PC{0,64}") {
        for tokens in [hash_tokens(key(8)), sealed_tokens(key(8))] {
            let t = tokens.issue(&person(), &v).unwrap();
            let back = tokens.resolve_token(&t).unwrap().unwrap();
            prop_assert_eq!(&back.value, &v);
            let (r, _) = tokens.reveal(&t, &all()).unwrap();
            prop_assert_eq!(r, v.clone());
        }
    }

    #[test]
    fn masking_changes_every_non_empty_value(v in "[^*]{1,40}") {
        use sqlveil::MaskKind::*;
        for kind in [Email, Last4, First4, Full, Hash] {
            let m = sqlveil::protect::mask_value(kind, &v, &key(9)).unwrap();
            prop_assert_ne!(&m, &v, "{:?}", kind);
        }
    }
}
