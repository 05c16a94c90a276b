//! Rule files: every key parses; every mistake names its line and column.

use sqlveil::rules::{Action, Filter, Generalization, MaskKind};
use sqlveil::{ErrorKind, Policy};

use crate::util::root;

fn err(text: &str) -> sqlveil::Error {
    Policy::from_toml_str(text).expect_err("rule file should be refused")
}

#[test]
fn shipped_rule_files_parse() {
    for f in [
        "rules/sample.toml",
        "rules/reference.toml",
        "rules/detectors.toml",
    ] {
        Policy::from_path(root().join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
}

#[test]
fn reference_file_shows_every_action_and_parameter() {
    let p = Policy::from_path(root().join("rules/reference.toml")).unwrap();
    let actions: Vec<&Action> = p
        .tables()
        .iter()
        .flat_map(|t| &t.columns)
        .map(|c| &c.action)
        .collect();
    for tag in [
        "allow",
        "deny",
        "tokenize",
        "mask",
        "generalize",
        "scan",
        "aggregate",
    ] {
        assert!(actions.iter().any(|a| a.as_tag() == tag), "no {tag}");
    }
    for m in [
        MaskKind::Email,
        MaskKind::Last4,
        MaskKind::First4,
        MaskKind::Full,
        MaskKind::Hash,
    ] {
        assert!(
            actions
                .iter()
                .any(|a| matches!(a, Action::Mask(x) if x.kind == m)),
            "no mask {m:?}"
        );
    }
    // The mask options too.
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::Mask(x) if x.fixed_length)));
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::Mask(x) if x.hash_key.as_deref() == Some("link:health_id"))));
    let gens: Vec<String> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Generalize(g) => Some(g.to_string()),
            _ => None,
        })
        .collect();
    for g in ["year", "month", "prefix:", "bucket:", "round:"] {
        assert!(gens.iter().any(|x| x.starts_with(g)), "no generalize {g}");
    }
    let filters: Vec<Filter> = p
        .tables()
        .iter()
        .flat_map(|t| &t.columns)
        .map(|c| c.filter)
        .collect();
    for f in [Filter::None, Filter::Equality, Filter::Any] {
        assert!(filters.contains(&f));
    }
    assert!(!p.detectors().patterns.is_empty());
    assert!(!p.detectors().dictionaries.is_empty());
    assert!(p.roles().count() >= 2);
}

#[test]
fn sample_rules_mean_what_they_say() {
    let p = crate::util::sample_policy();
    let c = p.table("customers").unwrap();
    assert_eq!(c.subject.as_deref(), Some("customer_id"));
    assert_eq!(c.column("ssn").unwrap().action, Action::Deny);
    assert_eq!(
        c.column("zip").unwrap().action,
        Action::Generalize(Generalization::Prefix(3))
    );
    assert_eq!(c.column("email").unwrap().filter, Filter::Equality);
    assert_eq!(p.defaults().max_rows, 200);
}

fn at(e: &sqlveil::Error) -> (usize, usize) {
    (e.line().expect("line"), e.column().expect("column"))
}

#[test]
fn unknown_keys_name_line_and_column() {
    let e = err("version = 1\n[defaults]\nmax_rowz = 5\n");
    assert!(matches!(e.kind(), ErrorKind::Rules { .. }));
    assert_eq!(at(&e).0, 3, "{e}");
    assert!(e.to_string().contains("max_rowz"), "{e}");

    let e = err("version = 1\n[tables.t.columns]\na = { action = \"allow\", colour = \"red\" }\n");
    assert_eq!(at(&e).0, 3, "{e}");
    assert!(e.to_string().contains("colour"), "{e}");
}

#[test]
fn bad_values_name_line_and_column() {
    let cases: &[(&str, usize, &str)] = &[
        ("version = 2\n", 1, "version"),
        ("version = 1\n[tables.t.columns]\na = { action = \"hide\" }\n", 3, "unknown action `hide`"),
        ("version = 1\n[tables.t.columns]\na = { action = \"mask\", mask = \"middle\" }\n", 3, "unknown mask `middle`"),
        ("version = 1\n[tables.t.columns]\na = { action = \"generalize\", to = \"prefix:x\" }\n", 3, "prefix:N"),
        ("version = 1\n[tables.t.columns]\na = { action = \"generalize\", to = \"bucket:-5\" }\n", 3, "bucket:N"),
        ("version = 1\n[tables.t.columns]\na = { action = \"generalize\", to = \"decade\" }\n", 3, "not a generalization"),
        ("version = 1\n[tables.t.columns]\na = { action = \"aggregate\", min_group_size = 5 }\n", 3, "needs key `functions`"),
        ("version = 1\n[tables.t.columns]\na = { action = \"aggregate\", functions = [], min_group_size = 5 }\n", 3, "lists no aggregate"),
        ("version = 1\n[tables.t.columns]\na = { action = \"aggregate\", functions = [\"avg\"] }\n", 3, "min_group_size"),
        ("version = 1\n[tables.t.columns]\na = { action = \"aggregate\", functions = [\"mode\"], min_group_size = 5 }\n", 3, "unknown aggregate function `mode`"),
        ("version = 1\n[tables.t.columns]\na = { action = \"tokenize\" }\n", 3, "needs key `class`"),
        ("version = 1\n[tables.t.columns]\na = { action = \"tokenize\", class = \"Person\" }\n", 3, "not a valid class name"),
        ("version = 1\n[tables.t.columns]\na = { action = \"deny\", filter = \"any\" }\n", 3, "does not apply to action `deny`"),
        ("version = 1\n[tables.t.columns]\na = { action = \"allow\", mask = \"full\" }\n", 3, "does not apply"),
        ("version = 1\n[tables.t.columns]\na = { action = \"scan\", filter = \"some\" }\n", 3, "unknown filter"),
        ("version = 1\n[defaults]\nunlisted_columns = \"hide\"\n", 3, "unlisted_columns"),
        ("version = 1\n[defaults]\ntokens = \"plain\"\n", 3, "tokens"),
        ("version = 1\n[defaults]\nmax_rows = 0\n", 3, "max_rows"),
        ("version = 1\n[defaults]\ntoken_format = \"{class}{token}\"\n", 3, "token_format"),
        ("version = 1\n[tables.t.columns]\na = { action = \"tokenize\", class = \"person\" }\n[roles.support]\nreveal = [\"patient\"]\n", 5, "class `patient`"),
        ("version = 1\n[detectors]\nbuiltin = [\"passport\"]\n", 3, "passport"),
        ("version = 1\n[[detectors.pattern]]\nname = \"x\"\nregex = 'a('\nclass = \"x\"\n", 4, "regex is invalid"),
        ("version = 1\n[[detectors.dictionary]]\nname = \"d\"\nterms = []\nclass = \"project\"\n", 4, "terms"),
        ("version = 1\n[detectors]\nbuiltin = [\"ssn\"]\n[detectors.context]\nphone = [\"cell\"]\n", 5, "`builtin` does not enable"),
        ("version = 1\n[detectors]\nbuiltin = [\"email\"]\n[detectors.context]\nemail = [\"mail\"]\n", 5, "takes no context words"),
        ("version = 1\n[detectors]\nbuiltin = [\"ssn\"]\n[detectors.context]\npassport = [\"pp\"]\n", 5, "not a built-in detector"),
        ("version = 1\n[detectors]\nbuiltin = [\"ssn\"]\n[detectors.context]\nssn = [\"ssn\",\n  \"  \"]\n", 6, "1 to 40 bytes"),
        ("version = 1\n[detectors]\nbuiltin = [\"ssn\"]\n[detectors.context]\nssn = \"ssn\"\n", 5, "invalid type"),
    ];
    for (text, line, needle) in cases {
        let e = err(text);
        assert!(matches!(e.kind(), ErrorKind::Rules { .. }), "{text}: {e:?}");
        assert_eq!(e.line(), Some(*line), "{text}: {e}");
        assert!(e.column().is_some(), "{text}: {e}");
        assert!(
            e.to_string().contains(needle),
            "{text}: expected {needle:?} in {e}"
        );
    }
}

#[test]
fn malformed_toml_is_a_located_error() {
    let e = err("version = 1\n[tables.t\n");
    assert_eq!(e.line(), Some(2), "{e}");
}

#[test]
fn unreadable_file_is_named() {
    let e = Policy::from_path("/nonexistent/rules.toml").unwrap_err();
    assert!(e.to_string().contains("/nonexistent/rules.toml"), "{e}");
}

#[test]
fn file_errors_carry_the_path() {
    let dir = crate::util::tempdir_with(&[(
        "bad.toml",
        "version = 1\n\n[defaults]\nmax_rows = \"many\"\n",
    )]);
    let e = Policy::from_path(dir.path().join("bad.toml")).unwrap_err();
    let s = e.to_string();
    assert!(s.contains("bad.toml:4:"), "{s}");
}

#[test]
fn unlisted_columns_follow_the_default() {
    let p = Policy::from_toml_str("version = 1\n[defaults]\nunlisted_columns = \"scan\"\n[tables.t.columns]\na = { action = \"allow\" }\n").unwrap();
    assert_eq!(p.effective_column("t", "b").unwrap().action, Action::Scan);
    let p = Policy::from_toml_str("version = 1\n[tables.t.columns]\na = { action = \"allow\" }\n")
        .unwrap();
    assert_eq!(p.effective_column("t", "b").unwrap().action, Action::Deny);
}
