//! Protection leak tests: known values planted in every protected column of
//! a test data set never reach the rows the model sees.

use std::sync::Arc;

use polars::prelude::*;
use sqlveil::{
    Detector, Engine, Guard, MasterKey, MemoryVault, PolarsEngine, Policy, Protector, Reason,
    Tokens,
};

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
    assert_eq!(engine.run(&q).unwrap().height(), 0);
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
    let first = protector.protect(engine.run(&q).unwrap(), &q).unwrap();
    let token = first
        .frame
        .column("name")
        .unwrap()
        .str()
        .unwrap()
        .get(7)
        .unwrap()
        .to_string();
    assert!(token.starts_with("<person_"));

    // It may filter by that token: the rewrite turns it into the value.
    let sql = format!("SELECT city, team FROM people WHERE name = '{token}'");
    let q = guard.check_with(&sql, tokens).unwrap();
    assert!(q.sql().contains("Quillon Vandermeer07x"));
    let rows = engine.run(&q).unwrap();
    assert_eq!(rows.height(), 1);
    let q = guard
        .check_with(
            &format!("SELECT COUNT(*) AS n FROM people WHERE name IN ('{token}')"),
            tokens,
        )
        .unwrap();
    assert_eq!(cells(&engine.run(&q).unwrap()), ["1"]);

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
        .issue(&sqlveil::TokenClass::new("person_id").unwrap(), "7")
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
    assert_eq!(engine.run(&q).unwrap().height(), 1);
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
    let q = guard.check("SELECT * FROM people").unwrap();
    let out = protector.protect(engine.run(&q).unwrap(), &q).unwrap();
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
    let out = protector.protect(engine.run(&q).unwrap(), &q).unwrap();
    let shown = cells(&out.frame);
    assert_eq!(shown[0].len(), 7, "{shown:?}"); // YYYY-MM
    assert!(
        !shown[1].contains("DE22 7397 9074 1914 6090 05"),
        "{shown:?}"
    );
    assert_eq!(out.detector_hits.get("iban"), Some(&1));
}
