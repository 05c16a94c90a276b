//! Protection leak tests: known values planted in every protected column of
//! a test data set never reach the rows the model sees.

use std::sync::Arc;

use polars::prelude::*;
use sqlveil::detect::Detector;
use sqlveil::error::Reason;
use sqlveil::guard::Guard;
use sqlveil::protect::Protector;
use sqlveil::tokens::{MemoryVault, Tokens};
use sqlveil::{Engine, MasterKey, PolarsEngine, Policy};

use crate::planted::{assert_queries_leak_nothing, plant, Env, RULES};
use crate::util::{cells, tempdir_with};

/// The planted data set's environment over the polars engine.
fn open(dir: &std::path::Path, key: u8) -> Env {
    let policy = Policy::from_toml_str(RULES).unwrap();
    let engine = PolarsEngine::open(dir, &policy).unwrap();
    Env::new(Arc::new(engine), &policy, key)
}

#[test]
fn planted_values_never_reach_the_model() {
    let planted = plant();
    let dir = tempdir_with(&[("people.csv", &planted.csv)]);
    let checked = assert_queries_leak_nothing(&open(dir.path(), 42), &planted);
    assert!(checked > 100_000);
}

#[test]
fn aggregates_show_only_large_groups() {
    let planted = plant();
    let dir = tempdir_with(&[("people.csv", &planted.csv)]);
    let policy = Policy::from_toml_str(RULES).unwrap();
    let engine = PolarsEngine::open(dir.path(), &policy).unwrap();
    let guard = Guard::new(&policy, engine.catalog()).unwrap();
    // Grouped by person: every group has one subject and is removed.
    let q = guard
        .check("SELECT name, AVG(salary) AS a FROM people GROUP BY name")
        .unwrap();
    assert_eq!(sqlveil::run(&engine, &q).unwrap().height(), 0);
    // Grouped by age bucket through a column the model may not compute on.
    let e = guard
        .check("SELECT age, AVG(salary) AS a FROM people GROUP BY age")
        .unwrap_err();
    assert_eq!(e.refusal().unwrap().reason(), Reason::FilterNotAllowed);
}

#[test]
fn token_literals_resolve_only_through_the_guard() {
    let planted = plant();
    let dir = tempdir_with(&[("people.csv", &planted.csv)]);
    let env = open(dir.path(), 42);
    let (engine, guard, tokens) = (&env.engine, &env.guard, &env.tokens);
    let protector = env.protector();

    // The model saw a token for person 7 in an earlier result.
    let q = guard
        .check_with("SELECT name, city FROM people", tokens)
        .unwrap();
    let raw = sqlveil::run(&engine, &q).unwrap();
    // Rows come in the guard's order (not the file's): find person 7's.
    let at = raw
        .column("name")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .position(|v| v == Some("Quillon Vandermeer07x"))
        .unwrap();
    let first = protector.protect(raw, &q).unwrap();
    let token = first
        .frame
        .column("name")
        .unwrap()
        .str()
        .unwrap()
        .get(at)
        .unwrap()
        .to_string();
    assert!(token.starts_with("<person_"));

    // It may filter by that token: the rewrite turns it into the value.
    let sql = format!("SELECT city, team FROM people WHERE name = '{token}'");
    let q = guard.check_with(&sql, tokens).unwrap();
    assert!(q.sql().contains("Quillon Vandermeer07x"));
    let rows = sqlveil::run(&engine, &q).unwrap();
    assert_eq!(rows.height(), 1);
    let q = guard
        .check_with(
            &format!("SELECT COUNT(*) AS n FROM people WHERE name IN ('{token}')"),
            tokens,
        )
        .unwrap();
    assert_eq!(cells(&sqlveil::run(&engine, &q).unwrap()), ["1"]);

    // A raw value there stays refused, and so does a forged token, a token
    // of another class, and a token used as an identifier.
    let cases = [
        (
            "SELECT city FROM people WHERE name = 'Quillon Vandermeer07x'",
            Reason::RawLiteral,
        ),
        (
            "SELECT city FROM people WHERE name = '<person_AAAAAAAA>'",
            Reason::UnresolvedToken,
        ),
        (
            "SELECT city FROM people WHERE id = 'TOKEN'",
            Reason::RawLiteral,
        ),
    ];
    for (sql, want) in cases {
        let e = guard.check_with(sql, tokens).unwrap_err();
        assert_eq!(e.refusal().unwrap().reason(), want, "{sql}");
    }
    let id_token = tokens
        .issue(&sqlveil::rules::TokenClass::new("person_id").unwrap(), "7")
        .unwrap();
    let e = guard
        .check_with(
            &format!("SELECT city FROM people WHERE name = '{id_token}'"),
            tokens,
        )
        .unwrap_err();
    assert_eq!(e.refusal().unwrap().reason(), Reason::TokenClassMismatch);
    // An issued id token for a numeric column becomes a number.
    let q = guard
        .check_with(
            &format!("SELECT city FROM people WHERE id = '{id_token}'"),
            tokens,
        )
        .unwrap();
    assert_eq!(sqlveil::run(&engine, &q).unwrap().height(), 1);
    // Tokens are resolved inside string literals only, never as names.
    let e = guard
        .check_with(&format!("SELECT \"{token}\" FROM people"), tokens)
        .unwrap_err();
    assert_eq!(e.refusal().unwrap().reason(), Reason::UnknownColumn);
}

#[test]
fn every_type_is_protected_and_nulls_stay_null() {
    let csv = "id,name,email,phone,card,secret,passport,badge,born,joined,zip,age,salary,notes,city,team\n\
        1,,,,,,,,,,,,,,,\n\
        2,Ann,a@b.test,5551234567,4111111111111111,s,p,b,1990-05-01,2020-01-02,12345,33,10,hi,Oslo,red\n";
    let dir = tempdir_with(&[("people.csv", csv)]);
    let env = open(dir.path(), 1);
    let (engine, guard) = (&env.engine, &env.guard);
    let protector = env.protector();
    let q = guard
        .check("SELECT * FROM people ORDER BY city NULLS FIRST")
        .unwrap();
    let out = protector
        .protect(sqlveil::run(&engine, &q).unwrap(), &q)
        .unwrap();
    let f = &out.frame;
    // Row 0 is all NULL but its id: NULL stays NULL through every action.
    for c in f.columns().iter().skip(1) {
        assert!(c.get(0).unwrap().is_null(), "{}", c.name());
    }
    let first = |c: &str| f.column(c).unwrap().get(1).unwrap().to_string();
    assert_eq!(f.column("name").unwrap().null_count(), 1);
    assert!(first("id").contains("<person_id_"));
    assert_eq!(first("born"), "1990");
    assert_eq!(first("joined"), "\"2020-01\"");
    assert_eq!(first("zip"), "\"12\"");
    assert_eq!(first("age"), "30.0");
    assert_eq!(first("card"), "\"4111************\"");
    assert_eq!(first("phone"), "\"******4567\"");
    assert_eq!(
        out.columns
            .iter()
            .find(|c| c.column == "name")
            .unwrap()
            .values,
        1
    );
    assert_eq!(f.get_column_names().len(), 14);
    let _ = DataType::String;
}

#[test]
fn text_dates_in_ndjson_are_generalized() {
    let (policy, engine, guard) = crate::util::sample_guard();
    let key = MasterKey::from_bytes(&[2; 32]);
    let tokens = Tokens::new(&policy, key.clone(), Some(Arc::new(MemoryVault::new()))).unwrap();
    let detector = Detector::new(&policy).unwrap();
    let protector = Protector::new(&tokens, &detector, &key).unwrap();
    let q = guard
        .check("SELECT opened_at, body FROM tickets WHERE ticket_id = 5002")
        .unwrap();
    let out = protector
        .protect(sqlveil::run(&engine, &q).unwrap(), &q)
        .unwrap();
    let shown = cells(&out.frame);
    assert_eq!(shown[0].len(), 7, "{shown:?}"); // YYYY-MM
    assert!(
        !shown[1].contains("DE22 7397 9074 1914 6090 05"),
        "{shown:?}"
    );
    assert_eq!(out.detector_hits.get("iban"), Some(&1));
}

const MASK_RULES: &str = r#"
version = 1
[tables.a.columns]
id = { action = "allow" }
email = { action = "mask", mask = "hash", filter = "equality" }
alt = { action = "mask", mask = "hash", filter = "equality" }
linked = { action = "mask", mask = "hash", link = "contact", filter = "equality" }
phone = { action = "mask", mask = "last4", fixed_length = true }
phone_v = { action = "mask", mask = "last4" }
card = { action = "mask", mask = "first4", fixed_length = true }
mail = { action = "mask", mask = "email" }
mail_f = { action = "mask", mask = "email", fixed_length = true }
amount = { action = "generalize", to = "round:10" }
note = { action = "allow" }
[tables.b.columns]
id = { action = "allow" }
email = { action = "mask", mask = "hash", link = "contact", filter = "equality" }
"#;

fn mask_rows(sql: &str) -> Vec<String> {
    let a = "id,email,alt,linked,phone,phone_v,card,mail,mail_f,amount,note\n1,x@example.com,x@example.com,x@example.com,+1 (678) 555-0132,+1 (678) 555-0132,4111111111111111,first.last@123-45-6789,first.last@123-45-6789,-3.2,<person_JZCCFFJT>\n";
    let b = "id,email\n1,x@example.com\n";
    let dir = tempdir_with(&[("a.csv", a), ("b.csv", b)]);
    let policy = Policy::from_toml_str(MASK_RULES).unwrap();
    let engine = PolarsEngine::open(dir.path(), &policy).unwrap();
    let env = Env::new(Arc::new(engine), &policy, 42);
    cells(&env.rows(sql))
}

/// The hash mask is keyed per column: the same value in two columns gives
/// two unrelated hashes, unless both columns name the same `link`.
#[test]
fn hash_masks_link_columns_only_when_told() {
    let r = mask_rows("SELECT a.email AS a_email, a.alt, a.linked, b.email AS b_email FROM a JOIN b ON a.id = b.id");
    assert_eq!(r.len(), 4);
    assert_ne!(r[0], r[1], "two columns, two keys");
    assert_ne!(r[0], r[2]);
    assert_eq!(r[2], r[3], "linked columns share a key");
    // A query that would hash two columns under one key is refused.
    let policy = Policy::from_toml_str(MASK_RULES).unwrap();
    let dir = tempdir_with(&[
        (
            "a.csv",
            "id,email,alt,linked,phone,phone_v,card,mail,mail_f,amount,note\n",
        ),
        ("b.csv", "id,email\n"),
    ]);
    let engine = PolarsEngine::open(dir.path(), &policy).unwrap();
    let guard = Guard::new(&policy, engine.catalog()).unwrap();
    assert!(guard
        .check("SELECT email FROM a UNION SELECT alt FROM a")
        .is_err());
    assert!(guard
        .check("SELECT linked FROM a UNION SELECT email FROM b")
        .is_ok());
}

/// Fixed-length masks, the email mask's domain check, no signed zero, and
/// a token look-alike in an `allow` column neutralised.
#[test]
fn masks_say_no_more_than_they_should() {
    let r = mask_rows("SELECT phone, phone_v, card, mail, mail_f, amount, note FROM a");
    assert_eq!(r[0], "****0132");
    assert_eq!(r[1], "*************0132");
    assert_eq!(r[2], "4111****");
    assert_eq!(r[3], "*".repeat("first.last@123-45-6789".len()));
    assert_eq!(r[4], "********");
    assert!(
        !r[5].starts_with('-'),
        "round:10 of -3.2 shows no sign: {}",
        r[5]
    );
    assert_eq!(r[5].parse::<f64>().unwrap(), 0.0);
    assert_eq!(r[6], "<person_?>");
}

/// Rule errors for the new mask keys name the key and the column.
#[test]
fn mask_options_are_checked() {
    for (col, needle) in [
        (
            "{ action = \"mask\", mask = \"full\", fixed_length = true }",
            "fixed_length",
        ),
        (
            "{ action = \"mask\", mask = \"hash\", fixed_length = false }",
            "fixed_length",
        ),
        (
            "{ action = \"mask\", mask = \"last4\", link = \"x\" }",
            "hash mask only",
        ),
        (
            "{ action = \"mask\", mask = \"hash\", link = \"Bad Name\" }",
            "link name",
        ),
        (
            "{ action = \"tokenize\", class = \"p\", link = \"x\" }",
            "does not apply",
        ),
    ] {
        let e = Policy::from_toml_str(&format!("version = 1\n[tables.t.columns]\nc = {col}\n"))
            .unwrap_err();
        assert!(e.to_string().contains(needle), "{col}: {e}");
        assert!(
            e.to_string().contains("t.c") || e.to_string().contains("key `link`"),
            "{e}"
        );
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 300, ..Default::default() })]

    /// No mask ever shows a token-shaped run, whatever the value.
    #[test]
    fn masks_never_show_a_token(v in "(<person_[A-Z2-7]{8,12}>|[a-z.@<>_]{0,6}|[A-Z2-7]{0,9}|\\PC{0,4}){0,5}") {
        let policy = Policy::from_toml_str("version = 1\n[defaults]\ntokens = \"sealed\"").unwrap();
        let key = MasterKey::from_bytes(&[3; 32]);
        let tokens = Tokens::new(&policy, key.clone(), None).unwrap();
        for kind in [sqlveil::rules::MaskKind::Email, sqlveil::rules::MaskKind::Last4, sqlveil::rules::MaskKind::First4, sqlveil::rules::MaskKind::Full, sqlveil::rules::MaskKind::Hash] {
            for fixed in [false, true] {
                let m = sqlveil::rules::Mask::new(kind).fixed_length(fixed && kind != sqlveil::rules::MaskKind::Hash);
                let out = sqlveil::transform::mask_value(&m, &v, &key).unwrap();
                proptest::prop_assert!(tokens.find(&out).is_empty(), "{:?} {:?}", kind, out);
            }
        }
    }
}
