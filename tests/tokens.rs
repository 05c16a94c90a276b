//! Tokens: round trips, determinism, vaults, collisions, reveal, keys.

use std::collections::BTreeSet;
use std::sync::Arc;

use proptest::prelude::*;
use sqlveil::rules::TokenClass;
use sqlveil::tokens::{FileVault, MemoryVault, RequestTokens, TokenVault, Tokens};
use sqlveil::{ErrorKind, MasterKey, Policy};

use crate::util::{spawn_worker, wait_for_go, wait_worker, COLLIDING_EMAILS, WORKER_ENV};

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
    assert!(MasterKey::parse(crate::util::TEST_KEY_HEX).is_ok());
    assert!(MasterKey::parse(&data_encoding_b64(&crate::util::test_key_bytes())).is_ok());
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
        use sqlveil::rules::MaskKind::*;
        for kind in [Email, Last4, First4, Full, Hash] {
            let m = sqlveil::transform::mask_value(&sqlveil::rules::Mask::new(kind), &v, &key(9)).unwrap();
            prop_assert_ne!(&m, &v, "{:?}", kind);
        }
    }
}

/// Trivial keys are refused wherever a key comes from input: all zeros, one
/// repeated byte, a short repeating pattern, a counting sequence, few
/// distinct bytes, a file holding 32 characters of text.
#[test]
fn trivial_keys_are_refused() {
    let counting: Vec<u8> = (0u8..32).collect();
    let pattern: Vec<u8> = (0..32).map(|i| [0xde, 0xad, 0xbe, 0xef][i % 4]).collect();
    let few: Vec<u8> = (0..32)
        .map(|i| [1, 2, 3, 4, 5, 6, 7][(i * 5) % 7])
        .collect();
    for bytes in [vec![0u8; 32], vec![0x11; 32], counting, pattern, few] {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let e = MasterKey::parse(&hex).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Key(_)), "{hex}: {e}");
        assert!(e.to_string().contains("trivial"), "{e}");
        assert!(!e.to_string().contains(&hex), "the key is not quoted");
        assert!(MasterKey::parse(&data_encoding_b64(&bytes)).is_err());
        let arr: [u8; 32] = bytes.as_slice().try_into().unwrap();
        assert!(MasterKey::try_from_bytes(&arr).is_err());
        assert!(sqlveil::audit::AuditKey::try_from_bytes(&arr).is_err());
        assert!(sqlveil::audit::AuditKey::parse(&hex).is_err());
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("key");
    std::fs::write(&f, "correct horse battery staple 123").unwrap();
    let e = MasterKey::from_file(&f).unwrap_err();
    assert!(e.to_string().contains("text"), "{e}");
    std::fs::write(&f, [0u8; 32]).unwrap();
    assert!(MasterKey::from_file(&f).is_err());
    std::fs::write(&f, crate::util::test_key_bytes()).unwrap();
    assert!(MasterKey::from_file(&f).is_ok());
}

#[cfg(unix)]
#[test]
fn key_files_readable_by_others_are_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("key");
    std::fs::write(&f, crate::util::TEST_KEY_HEX).unwrap();
    for (mode, warned) in [
        (0o644, true),
        (0o640, true),
        (0o604, true),
        (0o600, false),
        (0o400, false),
    ] {
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode)).unwrap();
        assert_eq!(
            sqlveil::tokens::key_file_warning(&f).is_some(),
            warned,
            "{mode:o}"
        );
    }
}

fn email_policy() -> Policy {
    Policy::from_toml_str(
        "version = 1\n[tables.t.columns]\nemail = { action = \"tokenize\", class = \"email\" }\n[roles.support]\nreveal = [\"email\"]\n",
    )
    .unwrap()
}

fn email() -> TokenClass {
    TokenClass::new("email").unwrap()
}

/// The planted pair really collides at 8 characters under the test key, so
/// the cross-process tests below exercise a collision.
#[test]
fn the_planted_pair_collides() {
    let key = MasterKey::from_bytes(&crate::util::test_key_bytes());
    let tokens = Tokens::new(&email_policy(), key, Some(Arc::new(MemoryVault::new()))).unwrap();
    let a = tokens.issue(&email(), COLLIDING_EMAILS[0]).unwrap();
    let b = tokens.issue(&email(), COLLIDING_EMAILS[1]).unwrap();
    assert_eq!(a.len(), "<email_>".len() + 8, "{a}");
    assert_eq!(b.len(), "<email_>".len() + 12, "{b}");
    assert_eq!(a[..15], b[..15], "the 8-character prefixes are equal");
}

/// A worker process for `processes_never_share_a_token`: opens the vault,
/// waits for the go signal, and issues its values in small batches, printing
/// `W<TAB>value<TAB>token` for each.
#[test]
#[ignore = "a worker process, run by processes_never_share_a_token"]
fn worker_vault_issue() {
    if std::env::var_os(WORKER_ENV).is_none() {
        return;
    }
    let path = std::env::var("W_VAULT").unwrap();
    let go = std::env::var("W_GO").unwrap();
    let values: Vec<String> = std::env::var("W_VALUES")
        .unwrap()
        .split(',')
        .map(String::from)
        .collect();
    let key = MasterKey::from_bytes(&crate::util::test_key_bytes());
    let vault = Arc::new(FileVault::open(&path, &key).unwrap());
    let tokens = Tokens::new(&email_policy(), key, Some(vault)).unwrap();
    wait_for_go(std::path::Path::new(&go));
    for (i, chunk) in values.chunks(7).enumerate() {
        let out: Vec<(String, String)> = if i % 2 == 0 {
            tokens
                .batch(|t| {
                    chunk
                        .iter()
                        .map(|v| Ok((v.clone(), t.issue(&email(), v)?)))
                        .collect()
                })
                .unwrap()
        } else {
            chunk
                .iter()
                .map(|v| (v.clone(), tokens.issue(&email(), v).unwrap()))
                .collect()
        };
        for (v, t) in out {
            println!("W\t{v}\t{t}");
        }
    }
}

/// Several processes issue tokens into one vault file at once, among them a
/// pair of values whose short codes collide: no token ever stands for two
/// values, a value has one token in every process, and after a reopen each
/// token reveals its own value.
#[test]
fn processes_never_share_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault.jsonl");
    let go = dir.path().join("go");
    const N: usize = 4;
    let children: Vec<_> = (0..N)
        .map(|w| {
            let mut values: Vec<String> =
                (0..120).map(|j| format!("shared{j}@example.com")).collect();
            values.extend((0..120).map(|j| format!("own{w}-{j}@example.com")));
            // Each process holds one value of the colliding pair, early.
            values.insert(w % 3, COLLIDING_EMAILS[w % 2].to_string());
            if w % 2 == 1 {
                values.reverse();
            }
            spawn_worker(
                "tokens::worker_vault_issue",
                &[
                    ("W_VAULT", vault.display().to_string()),
                    ("W_GO", go.display().to_string()),
                    ("W_VALUES", values.join(",")),
                ],
            )
        })
        .collect();
    // Every worker has opened the vault (and read it, empty) before any
    // issues a token: the race the old vault lost.
    std::thread::sleep(std::time::Duration::from_millis(500));
    std::fs::write(&go, "").unwrap();
    let mut by_value: std::collections::HashMap<String, String> = Default::default();
    let mut by_token: std::collections::HashMap<String, String> = Default::default();
    for c in children {
        // The harness may print `test … ` before the first line.
        for line in wait_worker(c)
            .lines()
            .filter_map(|l| l.split_once("W\t").map(|p| p.1))
        {
            let (v, t) = line.split_once('\t').unwrap();
            if let Some(old) = by_value.insert(v.to_string(), t.to_string()) {
                assert_eq!(old, t, "{v} got two tokens");
            }
            if let Some(old) = by_token.insert(t.to_string(), v.to_string()) {
                assert_eq!(old, v, "token {t} stands for two values");
            }
        }
    }
    assert_eq!(by_value.len(), 120 + N * 120 + 2);
    let (a, b) = (
        &by_value[COLLIDING_EMAILS[0]],
        &by_value[COLLIDING_EMAILS[1]],
    );
    assert_ne!(a, b);
    assert!(
        a.len() != b.len(),
        "one of the pair got a longer code: {a} {b}"
    );
    // A fresh process reads every token back to its own value.
    let key = MasterKey::from_bytes(&crate::util::test_key_bytes());
    let vault = Arc::new(FileVault::open(&vault, &key).unwrap());
    assert_eq!(vault.len(), by_value.len());
    let tokens = Tokens::new(&email_policy(), key, Some(vault)).unwrap();
    for (v, t) in &by_value {
        assert_eq!(&tokens.resolve_token(t).unwrap().unwrap().value, v);
        assert_eq!(&tokens.issue(&email(), v).unwrap(), t);
    }
}

/// A token another process issued after this one opened the vault is found
/// when it is looked up; a value it issued is not given a colliding code.
#[test]
fn a_process_sees_entries_written_after_it_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.jsonl");
    let key = MasterKey::from_bytes(&crate::util::test_key_bytes());
    let a = Tokens::new(
        &email_policy(),
        key.clone(),
        Some(Arc::new(FileVault::open(&path, &key).unwrap())),
    )
    .unwrap();
    let b = Tokens::new(
        &email_policy(),
        key.clone(),
        Some(Arc::new(FileVault::open(&path, &key).unwrap())),
    )
    .unwrap();
    let ta = a.issue(&email(), COLLIDING_EMAILS[0]).unwrap();
    // b opened before a wrote: it still resolves a's token, and gives the
    // colliding value another one.
    assert_eq!(
        b.resolve_token(&ta).unwrap().unwrap().value,
        COLLIDING_EMAILS[0]
    );
    let tb = b.issue(&email(), COLLIDING_EMAILS[1]).unwrap();
    assert_ne!(ta, tb);
    assert_eq!(
        a.resolve_token(&tb).unwrap().unwrap().value,
        COLLIDING_EMAILS[1]
    );
    // And the same in a batch.
    let c = Tokens::new(
        &email_policy(),
        key.clone(),
        Some(Arc::new(FileVault::open(&path, &key).unwrap())),
    )
    .unwrap();
    let d = Tokens::new(
        &email_policy(),
        key.clone(),
        Some(Arc::new(FileVault::open(&path, &key).unwrap())),
    )
    .unwrap();
    let tc = c.batch(|t| t.issue(&email(), "x1@example.com")).unwrap();
    assert_eq!(
        d.batch(|t| t.issue(&email(), "x1@example.com")).unwrap(),
        tc
    );
    assert_eq!(
        d.resolve_token(&tc).unwrap().unwrap().value,
        "x1@example.com"
    );
}

/// The vault file is private, and its entries do not show a value's exact
/// length (padded as sealed tokens are).
#[test]
fn vault_entries_are_private_and_padded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.jsonl");
    let vault = FileVault::open(&path, &key(6)).unwrap();
    for (i, v) in ["A", "Ann Lee", "Ada Lovelace"].iter().enumerate() {
        vault.insert("person", &format!("CODE{i}AAA"), v).unwrap();
    }
    let lens: Vec<usize> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| {
            let e: serde_json::Value = serde_json::from_str(l).unwrap();
            e["value"].as_str().unwrap().len()
        })
        .collect();
    assert_eq!(lens.len(), 3);
    assert!(lens.windows(2).all(|w| w[0] == w[1]), "{lens:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
}

/// A batch writes nothing when its work fails; issuing through the outer
/// tokens while a batch is open on the same thread is an error, not a
/// deadlock; a line torn by a crashed writer is cut before the next append.
#[test]
fn batches_are_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.jsonl");
    let vault = Arc::new(FileVault::open(&path, &key(6)).unwrap());
    let tokens = Tokens::new(&policy("hash"), key(6), Some(vault.clone())).unwrap();
    let r: Result<(), sqlveil::Error> = tokens.batch(|t| {
        t.issue(&person(), "Ada")?;
        Err(MasterKey::parse("x").unwrap_err())
    });
    assert!(r.is_err());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
    assert_eq!(vault.len(), 0);
    let e = tokens
        .batch(|_| tokens.issue(&person(), "Bob"))
        .unwrap_err();
    assert!(e.to_string().contains("batch"), "{e}");
    // A torn line at the end (a writer died mid-write).
    let t = tokens.issue(&person(), "Ada").unwrap();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    std::io::Write::write_all(&mut f, b"{\"v\":2,\"class\":\"person\",\"tok").unwrap();
    drop(f);
    let other = Tokens::new(
        &policy("hash"),
        key(6),
        Some(Arc::new(FileVault::open(&path, &key(6)).unwrap())),
    )
    .unwrap();
    let t2 = other.issue(&person(), "Grace").unwrap();
    let fresh = Tokens::new(
        &policy("hash"),
        key(6),
        Some(Arc::new(FileVault::open(&path, &key(6)).unwrap())),
    )
    .unwrap();
    assert_eq!(fresh.resolve_token(&t).unwrap().unwrap().value, "Ada");
    assert_eq!(fresh.resolve_token(&t2).unwrap().unwrap().value, "Grace");
}

/// Two values under one token in a vault file (as the multi-process bug of
/// sqlveil 0.1 could write): the token reveals nothing and resolves nothing,
/// and neither value is given it again.
#[test]
fn a_token_with_two_values_is_never_revealed() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, merged) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("m"),
    );
    FileVault::open(&a, &key(6))
        .unwrap()
        .insert("person", "AAAAAAAA", "Ada")
        .unwrap();
    FileVault::open(&b, &key(6))
        .unwrap()
        .insert("person", "AAAAAAAA", "Bob")
        .unwrap();
    let text = std::fs::read_to_string(&a).unwrap() + &std::fs::read_to_string(&b).unwrap();
    std::fs::write(&merged, text).unwrap();
    let vault = Arc::new(FileVault::open(&merged, &key(6)).unwrap());
    assert_eq!(vault.get("person", "AAAAAAAA").unwrap(), None);
    assert_eq!(
        vault.insert("person", "AAAAAAAA", "Ada").unwrap(),
        sqlveil::tokens::Insert::Collision
    );
    let tokens = Tokens::new(&policy("hash"), key(6), Some(vault)).unwrap();
    let (text, n) = tokens.reveal("<person_AAAAAAAA>", &all()).unwrap();
    assert_eq!((text.as_str(), n), ("<person_AAAAAAAA>", 0));
}

/// Token look-alikes from the data are neutralised; only the tokens of a
/// request are revealed by `reveal_only`.
#[test]
fn neutralize_and_reveal_only() {
    let p = policy("hash");
    let tokens = hash_tokens(key(3));
    let ada = tokens.issue(&person(), "Ada").unwrap();
    let bob = tokens.issue(&person(), "Bob").unwrap();
    let stored = format!(
        "please call {bob} and <person_22222222> or <person_{}",
        &ada[1..]
    );
    let (n, count) = tokens.neutralize(&stored);
    assert_eq!(count, 3);
    assert!(
        !n.contains(&bob) && !n.contains(&ada[1..ada.len() - 1]),
        "{n}"
    );
    assert!(tokens.find(&n).is_empty(), "{n}");
    let mut mine = RequestTokens::new();
    mine.add_text(&tokens, &format!("row: {ada}"));
    let (out, k) = tokens
        .reveal_only(&format!("{ada}, {bob}"), p.role("support").unwrap(), &mine)
        .unwrap();
    assert_eq!((out, k), (format!("Ada, {bob}"), 1));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Whatever the data holds, neutralised text holds no token.
    #[test]
    fn neutralized_text_holds_no_token(
        parts in proptest::collection::vec(prop_oneof![
            Just("<person_".to_string()),
            Just("ABCDEFGH".to_string()),
            Just(">".to_string()),
            Just("<".to_string()),
            Just("_".to_string()),
            "[A-Z2-7]{1,9}",
            "[a-z_]{1,5}",
            "\\PC{0,3}",
        ], 0..12)
    ) {
        let tokens = sealed_tokens(key(8));
        let text: String = parts.concat();
        let (n, _) = tokens.neutralize(&text);
        prop_assert!(tokens.find(&n).is_empty(), "{}", n);
    }
}

/// The new public types can be shared between threads and survive a panic
/// elsewhere.
#[test]
fn public_types_are_send_sync_and_unwind_safe() {
    fn check<T: Send + Sync + std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    check::<RequestTokens>();
    check::<sqlveil::audit::AuditKey>();
    check::<sqlveil::audit::VerifyOptions>();
    check::<sqlveil::chat::AnswerSegment>();
    check::<sqlveil::rules::Mask>();
    fn send_sync<T: Send + Sync>() {}
    send_sync::<FileVault>();
    send_sync::<sqlveil::tokens::RequestResolver<'static>>();
    send_sync::<sqlveil::audit::AuditLog>();
}
