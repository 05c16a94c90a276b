//! Examples, direct answers and the evaluation harness, over the sample data.

use std::path::PathBuf;
use std::sync::Arc;

use sqlveil::chat::{Example, ExampleSet};
use sqlveil::eval::{
    self, EvalOptions, Outcome, QuestionSet, RecordingModel, ReplayModel, Report, ScriptedEval,
};
use sqlveil::llm::ScriptedModel;
use sqlveil::tokens::MemoryVault;
use sqlveil::{Chat, Context, ErrorKind, LanguageModel, MasterKey, PolarsEngine, Policy};

use crate::util::root;

/// SHA-256 of "sqlveil eval sample key": the key the shipped recording was
/// made under (`SQLVEIL_KEY=1e69b711fb05b2e652e7fb35f481fdff00439dd7b8bca429123ca25bd379751f`
/// replays it with the CLI). Tokens, and so requests, depend on it.
const KEY: [u8; 32] = [
    30, 105, 183, 17, 251, 5, 178, 230, 82, 231, 251, 53, 244, 129, 253, 255, 0, 67, 157, 215, 184,
    188, 164, 41, 18, 60, 162, 91, 211, 121, 117, 31,
];

fn eval_dir() -> PathBuf {
    root().join("tests/data/eval")
}

fn policy() -> Policy {
    Policy::from_path(root().join("rules/sample.toml")).unwrap()
}

fn examples() -> ExampleSet {
    ExampleSet::from_path(eval_dir().join("examples.toml")).unwrap()
}

fn chat(model: Arc<dyn LanguageModel>, examples: ExampleSet) -> Chat {
    let policy = policy();
    let engine = Arc::new(PolarsEngine::open(root().join("examples/data"), &policy).unwrap());
    let key = MasterKey::from_bytes(&KEY);
    Chat::builder(policy, engine, model, key.clone())
        .vault(Arc::new(MemoryVault::new()))
        .examples(examples)
        .order_key(eval::order_key(&key).unwrap())
        .build()
        .unwrap()
}

fn questions() -> QuestionSet {
    QuestionSet::from_path(eval_dir().join("questions.toml")).unwrap()
}

/// Runs the sample set with the scripted model, recording into `dir`.
fn record(dir: &std::path::Path) -> Report {
    let script = Arc::new(ScriptedEval::new(&policy(), &MasterKey::from_bytes(&KEY)).unwrap());
    let seen = Arc::new(RecordingModel::new(script.clone()).record_to(dir).unwrap());
    let chat = chat(seen.clone(), examples());
    let set = questions();
    script.prepare(&chat, &set).unwrap();
    eval::run(&chat, &set, &seen, &EvalOptions::default()).unwrap()
}

/// Runs the sample set answered from the responses in `dir`.
fn replay(dir: &std::path::Path) -> Report {
    let seen = Arc::new(RecordingModel::new(Arc::new(
        ReplayModel::open(dir, "scripted-eval").unwrap(),
    )));
    let chat = chat(seen.clone(), examples());
    eval::run(&chat, &questions(), &seen, &EvalOptions::default()).unwrap()
}

fn outcome(r: &Report, id: &str) -> Outcome {
    r.questions.iter().find(|q| q.id == id).unwrap().outcome
}

/// The shipped question set, answered from the shipped recording: what CI
/// runs end to end. `SQLVEIL_EVAL_RECORD=1` writes the recording anew.
#[test]
fn sample_set_replays_end_to_end() {
    let recorded = eval_dir().join("recorded");
    if std::env::var_os("SQLVEIL_EVAL_RECORD").is_some() {
        let _ = std::fs::remove_dir_all(&recorded);
        record(&recorded);
    }
    let set = questions();
    assert!(set.questions.len() >= 60);
    let r = replay(&recorded);
    if std::env::var_os("SQLVEIL_EVAL_PRINT").is_some() {
        print!("{}", r.table());
        println!("{:?}", r.privacy.leaks);
    }
    // Every request was recorded: no question failed for want of one.
    for q in &r.questions {
        assert_ne!(q.error.as_deref(), Some("model"), "{}: not recorded", q.id);
    }
    let s = &r.summary;
    assert_eq!(s.questions, set.questions.len());
    assert_eq!(s.refusals_expected, 11);
    assert_eq!(s.refusals_right, 11, "{}", r.table());
    // The scripted answers that are deliberately wrong.
    for id in [
        "avg-price-category",
        "revenue-shipped",
        "cancelled-value",
        "vip-revenue",
    ] {
        assert_eq!(outcome(&r, id), Outcome::Mismatch, "{id}");
    }
    assert_eq!(s.execution_match, s.answerable - 4, "{}", r.table());
    // A refusal: three SQL calls (two repairs), counted from the recorder.
    let t = r.questions.iter().find(|q| q.id == "refuse-ssn").unwrap();
    assert_eq!((t.model_calls, t.refused), (3, true));
    assert!(t.prompt_tokens > 0 && t.completion_tokens > 0);
    // A misspelt column, repaired on the second attempt.
    let t = r
        .questions
        .iter()
        .find(|q| q.id == "top-products-units")
        .unwrap();
    assert_eq!((t.outcome, t.repairs), (Outcome::Match, 1));
    // Direct answers: no SQL call, only the answer call.
    let direct: Vec<&str> = r
        .questions
        .iter()
        .filter(|q| q.direct.is_some())
        .map(|q| q.id.as_str())
        .collect();
    assert_eq!(
        direct,
        [
            "customers-per-segment",
            "orders-march-2024",
            "orders-q1-2023",
            "revenue-per-category",
            "tickets-per-channel",
            "orders-of-charles",
            "orders-of-liam",
            "spend-of-email"
        ],
        "{}",
        r.table()
    );
    for q in r.questions.iter().filter(|q| q.direct.is_some()) {
        assert_eq!(q.model_calls, 1, "{}", q.id);
        assert_eq!(q.outcome, Outcome::Match, "{}", q.id);
    }
    // The privacy check searched every request. One date of the data
    // equals a computed result by chance: the first day of a month
    // (date_trunc) is a customer's signup date. Reported, named as what it
    // is, and marked reviewed by the question set; nothing else is found
    // (an average income of 98145.416667 is not the ZIP code 98145).
    assert!(r.privacy.requests > 100, "{:?}", r.privacy);
    assert!(r.privacy.values > 1000, "{:?}", r.privacy);
    assert_eq!(r.privacy.text_leaks(), 0, "{:?}", r.privacy.leaks);
    assert_eq!(r.privacy.unreviewed(), 0, "{:?}", r.privacy.leaks);
    let found: Vec<(&str, &str, Option<&str>, bool)> = r
        .privacy
        .leaks
        .iter()
        .map(|l| {
            (
                l.column.as_str(),
                l.kind.as_str(),
                l.question.as_deref(),
                l.reviewed,
            )
        })
        .collect();
    assert_eq!(
        found,
        [(
            "customers.signup_date",
            "date",
            Some("revenue-per-month-2024"),
            true
        )]
    );
    // The JSON report reads back, and compares equal to itself.
    let json = serde_json::to_string(&r).unwrap();
    let back: Report = serde_json::from_str(&json).unwrap();
    let c = eval::compare(&r, &back);
    assert!(c.questions.iter().all(|q| !q.regressed() && !q.improved()));
}

/// Recording then replaying gives the same outcomes; a changed prompt
/// (no examples) misses the recording and says so.
#[test]
fn record_then_replay_agree() {
    let dir = tempfile::tempdir().unwrap();
    let a = record(dir.path());
    let b = replay(dir.path());
    let oa: Vec<Outcome> = a.questions.iter().map(|q| q.outcome).collect();
    let ob: Vec<Outcome> = b.questions.iter().map(|q| q.outcome).collect();
    assert_eq!(oa, ob);
    assert_eq!(a.summary.tokens, b.summary.tokens);

    // Without examples the prompt differs: the replay has no response.
    let seen = Arc::new(RecordingModel::new(Arc::new(
        ReplayModel::open(dir.path(), "scripted-eval").unwrap(),
    )));
    let chat = chat(seen.clone(), ExampleSet::new());
    let r = eval::run(&chat, &questions(), &seen, &EvalOptions::default()).unwrap();
    // Questions whose prompt showed examples (or that a direct example
    // answered) miss the recording; the others replay as before (a refusal
    // shows none: no answer carries them).
    let mut changed = 0;
    for (qa, qr) in a.questions.iter().zip(&r.questions) {
        if qa.outcome != qr.outcome {
            assert_eq!(qr.error.as_deref(), Some("model"), "{}", qa.id);
            changed += usize::from(qa.outcome.correct());
        } else {
            assert!(qa.examples.is_empty() && qa.direct.is_none(), "{}", qa.id);
        }
    }
    assert!(changed > 20, "{changed}");
    let c = eval::compare(&a, &r);
    assert_eq!(
        c.questions.iter().filter(|q| q.regressed()).count(),
        changed
    );
    assert!(
        c.table().contains(&format!("{changed} worse")),
        "{}",
        c.table()
    );
}

/// The privacy check is real: a birth date typed into a question reaches a
/// model whose detector does not know the data's values, and the check
/// finds it; the full detector shows the model the year only (what the
/// rules show of a generalized date of birth), and the check finds
/// nothing.
#[test]
fn privacy_check_finds_a_value_that_reached_the_model() {
    // Liam Johnson's date of birth in the sample data.
    let set = QuestionSet::from_toml_str(
        r#"
        [[question]]
        id = "dob"
        question = "How many customers were born on 1993-06-24?"
        gold = "SELECT COUNT(*) AS n FROM customers"
        "#,
    )
    .unwrap();
    for known in [false, true] {
        let model = Arc::new(ScriptedModel::cycle([
            "```sql\nSELECT COUNT(*) AS n FROM customers\n```",
        ]));
        let seen = Arc::new(RecordingModel::new(model));
        let policy = policy();
        let engine = Arc::new(PolarsEngine::open(root().join("examples/data"), &policy).unwrap());
        let mut b = Chat::builder(
            policy.clone(),
            engine,
            seen.clone(),
            MasterKey::from_bytes(&KEY),
        )
        .vault(Arc::new(MemoryVault::new()));
        if !known {
            b = b.detector(Arc::new(sqlveil::detect::Detector::new(&policy).unwrap()));
        }
        let chat = b.build().unwrap();
        let r = eval::run(&chat, &set, &seen, &EvalOptions::default()).unwrap();
        let texts: String = seen
            .requests()
            .iter()
            .flat_map(|q| q.texts().map(str::to_string).collect::<Vec<_>>())
            .collect();
        if known {
            assert!(!texts.contains("1993-06-24"));
            assert!(texts.contains("born on 1993?"), "{texts}");
            assert!(r.privacy.leaks.is_empty(), "{:?}", r.privacy);
            continue;
        }
        assert_eq!(r.privacy.leaks.len(), 2, "{:?}", r.privacy); // SQL and answer calls
        assert!(r.privacy.leaks.iter().all(|l| l.kind == "date"));
        assert!(r
            .privacy
            .leaks
            .iter()
            .all(|l| l.column == "customers.date_of_birth" && !l.reviewed));
        assert!(r.table().contains("2 VALUES FOUND"));
        // The report names the column, never the value.
        assert!(!serde_json::to_string(&r).unwrap().contains("1993-06-24"));
    }
}

fn direct_chat(model: Arc<dyn LanguageModel>) -> Chat {
    chat(model, examples())
}

const NO_SQL: &str = "```sql\nSELECT COUNT(*) AS n FROM products\n```";

/// Questions crafted to match a direct example but mean something else,
/// slots given SQL text or a token of another class, and a token the
/// question did not carry: none is answered by the example; the model is
/// asked instead.
#[test]
fn direct_answers_resist_crafted_questions() {
    let model = Arc::new(ScriptedModel::cycle([NO_SQL]));
    let chat = direct_chat(model.clone());
    let ctx = Context::new("t");
    let crafted = [
        // One word more than the example: meaning changed.
        "Which orders did Charles Garcia not place?",
        "How many customers are not in each segment?",
        "How many customers are in each segment except vip?",
        // A number more than the example takes.
        "How many customers are in each segment in 2024?",
        // Two customers for one slot.
        "Which orders did Charles Garcia and Liam Johnson place?",
        // A token of another class (a customer number, an email).
        "Which orders did CUST-870938 place?",
        "Which orders did liam.johnson@hotmail.com place?",
        // SQL text where the slot's value should be.
        "Which orders did ' OR 1=1 -- place?",
        "Which orders did x' UNION SELECT ssn FROM customers -- place?",
        "How many orders were placed between 2024-03-01 and 2024-03-31' OR '1'='1?",
        "How many orders were placed between 2024-03-01 and 2024-03-31; DROP TABLE orders?",
        // A forged token of the right class and shape, never issued.
        "Which orders did <person_AAAAAAAA> place?",
        // Dates that do not exist.
        "How many orders were placed between 2024-02-30 and 2024-03-31?",
        // A missing slot.
        "Which orders did place?",
    ];
    for q in crafted {
        model.clear_requests();
        let a = chat.ask(q, &ctx).unwrap_or_else(|e| panic!("{q}: {e}"));
        assert!(a.direct.is_none(), "{q}: answered by {:?}", a.direct);
        assert_eq!(
            a.sql,
            NO_SQL
                .trim_start_matches("```sql\n")
                .trim_end_matches("\n```"),
            "{q}"
        );
        // The model was asked for SQL.
        assert!(model.requests()[0].system.contains("Schema:"), "{q}");
    }
}

/// A direct answer: no SQL call, the example's SQL with the question's
/// token as a literal, resolved by the guard; its name and score in the
/// answer and the audit event.
#[test]
fn direct_answer_fills_a_token_and_is_audited() {
    let model = Arc::new(ScriptedModel::cycle(["The orders are listed."]));
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let policy = policy();
    let engine = Arc::new(PolarsEngine::open(root().join("examples/data"), &policy).unwrap());
    let key = MasterKey::from_bytes(&KEY);
    let audit = Arc::new(
        sqlveil::audit::AuditLogBuilder::new()
            .open(&log, None)
            .unwrap(),
    );
    let chat = Chat::builder(policy, engine, model.clone(), key)
        .vault(Arc::new(MemoryVault::new()))
        .examples(examples())
        .audit(audit)
        .build()
        .unwrap();
    let a = chat
        .ask(
            "Which orders did Charles Garcia place?",
            Context::new("t").role("support"),
        )
        .unwrap();
    let d = a.direct.as_ref().unwrap();
    assert_eq!((d.example.as_str(), d.score), ("orders-of-customer", 1.0));
    assert!(a.examples.is_empty());
    // One call: the answer. The SQL holds the token, never the name.
    let reqs = model.requests();
    assert_eq!(reqs.len(), 1);
    assert!(reqs[0].system.starts_with("You answer"));
    assert!(a.sql.contains("c.full_name = '<person_"), "{}", a.sql);
    for r in &reqs {
        for t in r.texts() {
            assert!(!t.contains("Charles") && !t.contains("Garcia"), "{t}");
        }
    }
    assert!(a.rows.height() > 0);
    let text = std::fs::read_to_string(&log).unwrap();
    let ask = text
        .lines()
        .find(|l| l.contains("\"kind\":\"ask\""))
        .unwrap();
    assert!(
        ask.contains(r#""example":{"name":"orders-of-customer","score":1.0}"#),
        "{ask}"
    );
    assert!(!text.contains("Charles"));

    // Turned off by a threshold above 1: the model writes the SQL.
    let model = Arc::new(ScriptedModel::cycle([NO_SQL]));
    let policy = self::policy();
    let engine = Arc::new(PolarsEngine::open(root().join("examples/data"), &policy).unwrap());
    let chat = Chat::builder(policy, engine, model, MasterKey::from_bytes(&KEY))
        .vault(Arc::new(MemoryVault::new()))
        .examples(examples())
        .direct_threshold(1.1)
        .write_answer(false)
        .build()
        .unwrap();
    let a = chat
        .ask("Which orders did Charles Garcia place?", Context::new("t"))
        .unwrap();
    assert!(a.direct.is_none());
    assert_eq!(a.examples[0], "orders-of-customer");
}

/// Retrieved examples go into the SQL prompt, within the schema's budget.
#[test]
fn examples_are_retrieved_into_the_prompt_within_the_budget() {
    let model = Arc::new(ScriptedModel::cycle([NO_SQL]));
    let chat = chat(model.clone(), examples());
    let p = chat.sql_prompt("Which products sold the most units last year?");
    assert!(p.contains("Reviewed examples"), "{p}");
    assert!(p.contains("SUM(o.quantity) AS units"), "{p}");
    let base = chat.sql_prompt("zzz");
    assert!(!base.contains("Reviewed examples"));
    // A budget the schema alone fills leaves no room for examples.
    let policy = policy();
    let engine = Arc::new(PolarsEngine::open(root().join("examples/data"), &policy).unwrap());
    let small = Chat::builder(policy, engine, model, MasterKey::from_bytes(&KEY))
        .vault(Arc::new(MemoryVault::new()))
        .examples(examples())
        .schema_budget(50)
        .build()
        .unwrap();
    let p = small.sql_prompt("Which products sold the most units last year?");
    assert!(!p.contains("Reviewed examples"), "{p}");
}

fn build_with(e: Example) -> sqlveil::Error {
    let mut set = ExampleSet::new();
    set.push(e).unwrap();
    let policy = policy();
    let engine = Arc::new(PolarsEngine::open(root().join("examples/data"), &policy).unwrap());
    Chat::builder(
        policy,
        engine,
        Arc::new(ScriptedModel::new([""; 0])),
        MasterKey::from_bytes(&KEY),
    )
    .vault(Arc::new(MemoryVault::new()))
    .examples(set)
    .build()
    .unwrap_err()
}

/// An example the policy would refuse, or one that holds a protected value
/// or a token, is a rule error naming it.
#[test]
fn bad_examples_are_rule_errors_naming_them() {
    let cases = [
        (
            Example::new("ssn-list", "What are the SSNs?", "SELECT ssn FROM customers"),
            "the guard refuses",
        ),
        (
            Example::new(
                "by-raw-name",
                "Orders of a customer",
                "SELECT o.order_id FROM orders o JOIN customers c ON o.customer_id = c.customer_id WHERE c.full_name = {n}",
            )
            .param("n", "email")
            .unwrap(),
            "the guard refuses",
        ),
        (
            Example::new(
                "liam",
                "Which orders did Liam Johnson place?",
                "SELECT COUNT(*) AS n FROM orders",
            ),
            "protected value",
        ),
        (
            Example::new(
                "email-in-sql",
                "Orders of one email",
                "SELECT COUNT(*) AS n FROM customers WHERE email = 'liam.johnson@hotmail.com'",
            ),
            "protected value",
        ),
        (
            Example::new("token", "Orders of <person_KCRJRJAG>", "SELECT 1 AS one FROM products"),
            "holds a token",
        ),
    ];
    for (e, want) in cases {
        let name = e.name().to_string();
        let err = build_with(e);
        assert!(
            matches!(err.kind(), ErrorKind::Rules { .. }),
            "{name}: {err}"
        );
        let msg = err.to_string();
        assert!(msg.contains(&format!("example `{name}`")), "{msg}");
        assert!(msg.contains(want), "{msg}");
        assert!(!msg.contains("Liam") && !msg.contains("hotmail"), "{msg}");
    }
}

#[test]
fn recorded_requests_carry_no_value_the_sample_protects() {
    // The recording itself holds responses only; check that it holds no
    // name of the sample data either (the scripted SQL uses tokens).
    let recorded = eval_dir().join("recorded");
    let mut n = 0;
    for f in std::fs::read_dir(&recorded).unwrap() {
        let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
        assert!(
            !text.contains("Charles") && !text.contains("Liam"),
            "{text}"
        );
        n += 1;
    }
    assert!(n > 60, "{n}");
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    fn unwind<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    check::<Example>();
    check::<ExampleSet>();
    check::<sqlveil::chat::ExampleIndex>();
    check::<sqlveil::chat::DirectMatch>();
    check::<RecordingModel>();
    check::<ReplayModel>();
    check::<ScriptedEval>();
    check::<Report>();
    check::<QuestionSet>();
    unwind::<Example>();
    unwind::<ExampleSet>();
    unwind::<sqlveil::chat::ExampleIndex>();
    unwind::<Report>();
    unwind::<QuestionSet>();
    unwind::<ReplayModel>();
}

// ---------------------------------------------------------------------
// Review 2 (adversarial): each test below fails on 109ab59 and shows a
// defect; none of them is a fix.
// ---------------------------------------------------------------------

/// A chat over the sample data with `examples` only, the model scripted to
/// answer `NO_SQL`, no answer-writing call.
fn review2_chat(model: Arc<ScriptedModel>, examples: Vec<Example>) -> Chat {
    let mut set = ExampleSet::new();
    for e in examples {
        set.push(e).unwrap();
    }
    let policy = policy();
    let engine = Arc::new(PolarsEngine::open(root().join("examples/data"), &policy).unwrap());
    Chat::builder(policy, engine, model, MasterKey::from_bytes(&KEY))
        .vault(Arc::new(MemoryVault::new()))
        .examples(set)
        .write_answer(false)
        .build()
        .unwrap()
}

/// Direct matching compares sets of words: the same words in another order
/// (a question that means the opposite) are answered by the example's SQL
/// with score 1.0 and no model call.
#[test]
fn review2_direct_answer_ignores_word_order() {
    let model = Arc::new(ScriptedModel::cycle([NO_SQL]));
    let chat = review2_chat(
        model.clone(),
        vec![Example::new(
            "more-customers-than-orders",
            "Which segments have more customers than orders?",
            "SELECT segment, COUNT(*) AS n FROM customers GROUP BY segment",
        )
        .direct(true)],
    );
    let a = chat
        .ask(
            "Which segments have more orders than customers?",
            Context::new("t"),
        )
        .unwrap();
    assert!(
        a.direct.is_none(),
        "the opposite question was answered by {:?} with SQL {}",
        a.direct,
        a.sql
    );
}

/// The threshold lets a question have fewer words than the example: with
/// 11 distinct words, a question without `not` scores 10/11 ≥ 0.9 and is
/// answered by the `not` query (the module doc promises a changed meaning
/// is never answered directly).
#[test]
fn review2_direct_answer_fires_with_not_left_out() {
    let model = Arc::new(ScriptedModel::cycle([NO_SQL]));
    let chat = review2_chat(
        model.clone(),
        vec![Example::new(
            "business-without-tickets",
            "How many customers in the business segment have not opened a support ticket this year?",
            "SELECT COUNT(*) AS n FROM customers WHERE segment = 'business'",
        )
        .direct(true)],
    );
    let a = chat
        .ask(
            "How many customers in the business segment have opened a support ticket this year?",
            Context::new("t"),
        )
        .unwrap();
    assert!(
        a.direct.is_none(),
        "answered by the `not` example: {:?}",
        a.direct
    );
}

/// Stop words carry meaning: `on` a date and `by` a date are the same
/// words to the matcher, so "placed by 2024-03-01" (up to) is answered by
/// "placed on {day}" (that day only).
#[test]
fn review2_direct_answer_ignores_prepositions() {
    let model = Arc::new(ScriptedModel::cycle([NO_SQL]));
    let chat = review2_chat(
        model.clone(),
        vec![Example::new(
            "orders-on-day",
            "How many orders were placed on {day}?",
            "SELECT COUNT(*) AS n FROM orders WHERE order_date = {day}",
        )
        .param("day", "date")
        .unwrap()
        .direct(true)],
    );
    let a = chat
        .ask(
            "How many orders were placed by 2024-03-01?",
            Context::new("t"),
        )
        .unwrap();
    assert!(
        a.direct.is_none(),
        "`by` answered as `on`: {:?} {}",
        a.direct,
        a.sql
    );
}

/// A minus sign is dropped: "above -50" fills the slot with 50.
#[test]
fn review2_direct_answer_drops_a_minus_sign() {
    let model = Arc::new(ScriptedModel::cycle([NO_SQL]));
    let chat = review2_chat(
        model.clone(),
        vec![Example::new(
            "orders-above",
            "How many orders have an amount above {n}?",
            "SELECT COUNT(*) AS n FROM orders WHERE amount > {n}",
        )
        .param("n", "number")
        .unwrap()
        .direct(true)],
    );
    let a = chat
        .ask(
            "How many orders have an amount above -50?",
            Context::new("t"),
        )
        .unwrap();
    if a.direct.is_some() {
        assert!(a.sql.contains("-50") || a.sql.contains("- 50"), "{}", a.sql);
    }
}

/// "A slot inside quotes would be filled into a string: refused" — only
/// when the quote is the character right before the brace.
#[test]
fn review2_slot_inside_a_string_is_refused() {
    let mut set = ExampleSet::new();
    let r = set.push(
        Example::new(
            "amount-like",
            "Orders whose amount has {n} in it",
            "SELECT COUNT(*) AS n FROM orders WHERE CAST(amount AS VARCHAR) LIKE '%{n}%'",
        )
        .param("n", "number")
        .unwrap(),
    );
    assert!(r.is_err(), "a slot inside '%…%' was accepted");
}

fn review2_build(e: Example) -> Result<Chat, sqlveil::Error> {
    let mut set = ExampleSet::new();
    set.push(e).unwrap();
    let policy = policy();
    let engine = Arc::new(PolarsEngine::open(root().join("examples/data"), &policy).unwrap());
    Chat::builder(
        policy,
        engine,
        Arc::new(ScriptedModel::new([""; 0])),
        MasterKey::from_bytes(&KEY),
    )
    .vault(Arc::new(MemoryVault::new()))
    .examples(set)
    .build()
}

/// An operator's example carries a customer's identity into every SQL
/// prompt it is retrieved for: the name written with `_` or `.`, or the
/// customer's birth date, passes the detectors at load.
#[test]
fn review2_example_texts_carry_protected_values_past_the_detectors() {
    let cases = [
        Example::new(
            "notes-name-underscore",
            "How many orders are there?",
            "SELECT COUNT(*) AS n FROM orders",
        )
        .notes("Liam_Johnson complained about this count."),
        Example::new(
            "notes-email-local-part",
            "How many orders are there?",
            "SELECT COUNT(*) AS n FROM orders",
        )
        .notes("Asked by liam.johnson last week."),
        Example::new(
            "sql-surname",
            "How many customers belong to the family?",
            "SELECT COUNT(*) AS n FROM customers WHERE full_name LIKE '%johnson%'",
        ),
        Example::new(
            "question-camel",
            "How many orders has LiamJohnson placed?",
            "SELECT COUNT(*) AS n FROM orders",
        ),
        // Liam Johnson's date of birth (date_of_birth is generalized).
        Example::new(
            "question-dob",
            "How many customers were born on 1993-06-24?",
            "SELECT COUNT(*) AS n FROM customers",
        ),
    ];
    let mut loaded = Vec::new();
    for e in cases {
        let name = e.name().to_string();
        if review2_build(e).is_ok() {
            loaded.push(name);
        }
    }
    assert!(
        loaded.is_empty(),
        "examples holding a protected value loaded: {loaded:?}"
    );
}

/// The privacy check looks for each value exactly as stored: the same
/// value written another way reaches the model and the check reports no
/// leak (false confidence). Each question below puts one of Liam Johnson's
/// values into the SQL request, past the detectors (a detector without the
/// data's known values: the check must not depend on what they find).
#[test]
fn review2_privacy_check_misses_reformatted_values() {
    let model = Arc::new(ScriptedModel::cycle([
        "```sql\nSELECT COUNT(*) AS n FROM customers\n```",
    ]));
    let seen = Arc::new(RecordingModel::new(model));
    let chat = Chat::builder(
        policy(),
        Arc::new(PolarsEngine::open(root().join("examples/data"), &policy()).unwrap()),
        seen.clone(),
        MasterKey::from_bytes(&KEY),
    )
    .detector(Arc::new(sqlveil::detect::Detector::new(&policy()).unwrap()))
    .vault(Arc::new(MemoryVault::new()))
    .write_answer(false)
    .build()
    .unwrap();
    let set = QuestionSet::from_toml_str(
        r#"
        [[question]]
        id = "dob-us"
        question = "How many customers were born on 06/24/1993?"
        gold = "SELECT COUNT(*) AS n FROM customers"
        [[question]]
        id = "dob-slash"
        question = "How many customers were born on 1993/06/24?"
        gold = "SELECT COUNT(*) AS n FROM customers"
        [[question]]
        id = "income-comma"
        question = "How many customers earn 68,794 a year?"
        gold = "SELECT COUNT(*) AS n FROM customers"
        [[question]]
        id = "name-underscore"
        question = "How many orders has Liam_Johnson placed?"
        gold = "SELECT COUNT(*) AS n FROM customers"
        "#,
    )
    .unwrap();
    let r = eval::run(&chat, &set, &seen, &EvalOptions::default()).unwrap();
    let requests = seen.requests();
    assert_eq!(requests.len(), 4);
    // The values did reach the model.
    assert!(requests[0].texts().any(|t| t.contains("06/24/1993")));
    assert!(requests[1].texts().any(|t| t.contains("1993/06/24")));
    assert!(requests[2].texts().any(|t| t.contains("68,794")));
    assert!(requests[3].texts().any(|t| t.contains("Liam_Johnson")));
    let found: std::collections::BTreeSet<usize> =
        r.privacy.leaks.iter().map(|l| l.request).collect();
    assert_eq!(
        found,
        (0..4).collect(),
        "requests with a leak the check found: {found:?}, {:?}",
        r.privacy
    );
}

/// A model under another name, delegating to a scripted one.
struct Named(&'static str, ScriptedModel);

impl LanguageModel for Named {
    fn complete(
        &self,
        request: &sqlveil::llm::ModelRequest,
    ) -> Result<sqlveil::llm::ModelResponse, sqlveil::error::ModelError> {
        self.1.complete(request)
    }
    fn name(&self) -> &str {
        self.0
    }
}

/// A recording does not say which model made it and the request hash
/// leaves the model out: two models recorded into one folder overwrite each
/// other, and a replay under model A's name scores model B's answers.
#[test]
fn review2_replay_answers_as_the_model_that_was_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::new("t");
    let q = "How many products are there?";
    let build = |m: Arc<dyn LanguageModel>| {
        let policy = policy();
        let engine = Arc::new(PolarsEngine::open(root().join("examples/data"), &policy).unwrap());
        Chat::builder(policy, engine, m, MasterKey::from_bytes(&KEY))
            .vault(Arc::new(MemoryVault::new()))
            .write_answer(false)
            .build()
            .unwrap()
    };
    for (name, sql) in [
        ("model-a", "SELECT COUNT(*) AS n FROM products"),
        ("model-b", "SELECT COUNT(*) AS n FROM orders"),
    ] {
        let inner = Arc::new(Named(
            name,
            ScriptedModel::cycle([format!("```sql\n{sql}\n```")]),
        ));
        let rec = Arc::new(RecordingModel::new(inner).record_to(dir.path()).unwrap());
        let asked = build(rec).ask(q, &ctx);
        // One folder holds one model's answers: model-b's recording of the
        // same request into model-a's folder is refused.
        assert_eq!(asked.is_ok(), name == "model-a", "{name}: {asked:?}");
    }
    let replay = Arc::new(ReplayModel::open(dir.path(), "model-a").unwrap());
    let a = build(replay).ask(q, &ctx).unwrap();
    assert!(
        a.sql.contains("products"),
        "replayed as model-a, answered model-b's SQL: {}",
        a.sql
    );
    // Replayed under another model's name: refused, not answered.
    let other = Arc::new(ReplayModel::open(dir.path(), "model-b").unwrap());
    assert!(build(other).ask(q, &ctx).is_err());
}

/// A direct threshold outside its range is an error naming it, from the
/// library and from the command line.
#[test]
fn direct_threshold_out_of_range_is_an_error() {
    for t in [f64::NAN, f64::INFINITY, -1.0, 0.0, 0.49] {
        let policy = policy();
        let engine = Arc::new(PolarsEngine::open(root().join("examples/data"), &policy).unwrap());
        let e = Chat::builder(
            policy,
            engine,
            Arc::new(ScriptedModel::new([""; 0])),
            MasterKey::from_bytes(&KEY),
        )
        .vault(Arc::new(MemoryVault::new()))
        .direct_threshold(t)
        .build()
        .err()
        .unwrap_or_else(|| panic!("{t} accepted"));
        assert!(e.to_string().contains("direct_threshold"), "{t}: {e}");
    }
    for t in [0.5, 0.9, 1.0, 1.1] {
        let policy = policy();
        let engine = Arc::new(PolarsEngine::open(root().join("examples/data"), &policy).unwrap());
        Chat::builder(
            policy,
            engine,
            Arc::new(ScriptedModel::new([""; 0])),
            MasterKey::from_bytes(&KEY),
        )
        .vault(Arc::new(MemoryVault::new()))
        .direct_threshold(t)
        .build()
        .unwrap_or_else(|e| panic!("{t}: {e}"));
    }
}

/// `sqlveil eval` fails on any privacy finding (a number as much as a
/// text), with a message, unless the question set marks that finding of
/// that question reviewed by the fingerprint the report prints; a mark
/// reviews one finding, never its column; a run with no finding passes.
#[test]
fn eval_cli_fails_on_any_privacy_finding() {
    let dir = tempfile::tempdir().unwrap();
    // Liam Johnson's income, which no detector looks for (an aggregate
    // column's values are ordinary numbers), reaches the model.
    let leak = r#"
[[question]]
id = "income"
question = "How many customers earn 68,794 a year?"
gold = "SELECT COUNT(*) AS n FROM customers"
"#;
    let clean = r#"
[[question]]
id = "count"
question = "How many customers are there?"
gold = "SELECT COUNT(*) AS n FROM customers"
"#;
    let hex: String = KEY.iter().map(|b| format!("{b:02x}")).collect();
    let eval = |name: &str, text: &str| {
        let path = dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, text).unwrap();
        crate::util::run_cli(
            &[
                "eval",
                "--questions",
                path.to_str().unwrap(),
                "--rules",
                "rules/sample.toml",
                "--data",
                "examples/data",
                "--scripted",
            ],
            Some(&hex),
            "",
        )
    };
    let (code, out, err) = eval("leak", leak);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("reached the model"), "{err}");
    let line = out
        .lines()
        .find(|l| l.contains("FOUND request 0 (income): a number value of customers.income ("))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        !out.contains("68,794") && !out.contains("68794"),
        "the report shows the value: {out}"
    );
    let fingerprint = line
        .split('(')
        .nth(2)
        .and_then(|s| s.split(')').next())
        .unwrap();
    assert!(fingerprint.starts_with("customers.income#"), "{line}");
    let (code, out, err) = eval("clean", clean);
    assert_eq!(code, 0, "{out}\n{err}");
    // Reviewed by its fingerprint: passes, and is reported as reviewed.
    let reviewed = format!("{leak}privacy_reviewed = [\"{fingerprint}\"]\n");
    let (code, out, err) = eval("reviewed", &reviewed);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("reviewed request 0 (income)"), "{out}");
    // Another income in the same question is a second finding: the mark
    // for the first does not hide it.
    let two = reviewed.replace("earn 68,794 a year", "earn 68,794 or 42,759 a year");
    let (code, out, err) = eval("two", &two);
    assert_eq!(code, 1, "{out}\n{err}");
    // A whole column is not a mark.
    let column = format!("{leak}privacy_reviewed = [\"customers.income\"]\n");
    let (code, _, err) = eval("column", &column);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("never a whole column"), "{err}");
}

/// The ways people write one customer's name, birth date and numbers, as a
/// hostile or careless user would: each variant is asked once through a
/// pipeline with the full detector (does the value reach the model?) and
/// once through one with no known values (does the privacy check find it
/// when it does?). The forms sqlveil claims are asserted; the rest are
/// printed (`--nocapture`) as what still passes.
#[test]
fn attack_ways_people_write_a_customer() {
    let name = [
        "Liam Johnson",
        "liam johnson",
        "LIAM JOHNSON",
        "Liam_Johnson",
        "liam.johnson",
        "Liam-Johnson",
        "LiamJohnson",
        "liamjohnson",
        "LIAMJOHNSON",
        "Liam  Johnson",
        "Liam\u{00A0}Johnson",
        "Liam\u{2013}Johnson",
        "Liam\u{200B}Johnson",
        "Li\u{0301}am Johnson",
        "Ｌｉａｍ Ｊｏｈｎｓｏｎ",
        "Liam J\u{043E}hnson",
        "lIaM jOhNsOn",
        "Liam_johnson",
        "liam__johnson",
        "Johnson, Liam",
        "Johnson Liam",
        "johnson_liam",
        "L. Johnson",
        "Liam J.",
        "Liam Johnsons",
        "L i a m  J o h n s o n",
        "Liam\nJohnson",
        "liam johnson's",
        "Liam . Johnson",
        "liam+johnson",
    ];
    let dob = [
        "1993-06-24",
        "1993/06/24",
        "1993.06.24",
        "06/24/1993",
        "6/24/1993",
        "24/06/1993",
        "24.06.1993",
        "24-06-1993",
        "06-24-93",
        "6/24/93",
        "24.6.93",
        "June 24, 1993",
        "june 24 1993",
        "JUNE 24TH, 1993",
        "24 June 1993",
        "24th of June 1993",
        "24th June, 93",
        "Jun 24 '93",
        "1993 June 24",
        "19930624",
        "06241993",
        "1993\u{2013}06\u{2013}24",
        "1993\u{00A0}06\u{00A0}24",
        "１９９３-０６-２４",
        "24\u{00A0}June\u{00A0}1993",
        "the twenty-fourth of June 1993",
        "June 24",
        "6/24",
        "24/6",
        "June 1993",
        "1993-6-24",
        "93-06-24",
        "Juni 24, 1993",
        "24 juin 1993",
    ];
    let numbers = [
        "68794",
        "68,794",
        "68 794",
        "68.794",
        "68'794",
        "68\u{202F}794",
        "68\u{00A0}794",
        "$68,794.00",
        "68794.0",
        "６８７９４",
        "68.8k",
        "sixty-eight thousand seven hundred ninety-four",
        "68_794",
        "6 8 7 9 4",
    ];
    let ssn = [
        "213-67-8559",
        "213 67 8559",
        "213678559",
        "213.67.8559",
        "213\u{2013}67\u{2013}8559",
    ];
    let mut variants: Vec<(String, &str, String)> = Vec::new();
    for v in name {
        variants.push((
            format!("How many orders has {v} placed?"),
            "name",
            v.to_string(),
        ));
    }
    for v in dob {
        variants.push((
            format!("How many customers were born on {v}?"),
            "dob",
            v.to_string(),
        ));
    }
    for v in numbers {
        variants.push((
            format!("How many customers earn {v} a year?"),
            "income",
            v.to_string(),
        ));
    }
    for v in ssn {
        variants.push((format!("Whose SSN is {v}?"), "ssn", v.to_string()));
    }
    let mut toml = String::new();
    for (i, (q, _, _)) in variants.iter().enumerate() {
        toml.push_str(&format!(
            "[[question]]\nid = \"v{i}\"\nquestion = {}\ngold = \"SELECT COUNT(*) AS n FROM customers\"\n",
            serde_json::to_string(q).unwrap()
        ));
    }
    let set = QuestionSet::from_toml_str(&toml).unwrap();
    let run = |known: bool| {
        let model = Arc::new(ScriptedModel::cycle([
            "```sql\nSELECT COUNT(*) AS n FROM customers\n```",
        ]));
        let seen = Arc::new(RecordingModel::new(model));
        let policy = policy();
        let engine = Arc::new(PolarsEngine::open(root().join("examples/data"), &policy).unwrap());
        let mut b = Chat::builder(
            policy.clone(),
            engine,
            seen.clone(),
            MasterKey::from_bytes(&KEY),
        )
        .vault(Arc::new(MemoryVault::new()))
        .write_answer(false);
        if !known {
            b = b.detector(Arc::new(sqlveil::detect::Detector::new(&policy).unwrap()));
        }
        let chat = b.build().unwrap();
        let scrubbed: Vec<String> = variants
            .iter()
            .map(|(q, _, _)| chat.scrub(q).unwrap())
            .collect();
        let r = eval::run(&chat, &set, &seen, &EvalOptions::default()).unwrap();
        (scrubbed, r)
    };
    let (scrubbed, _) = run(true);
    let (plain_scrubbed, plain) = run(false);
    // What sqlveil claims: these never reach the model, and the check finds
    // each when a detector lets it through.
    let claimed_detector: &[&str] = &[
        "Liam Johnson",
        "liam johnson",
        "LIAM JOHNSON",
        "Liam_Johnson",
        "liam.johnson",
        "Liam-Johnson",
        "LiamJohnson",
        "liamjohnson",
        "LIAMJOHNSON",
        "Liam  Johnson",
        "Liam\u{00A0}Johnson",
        "Liam\u{2013}Johnson",
        "Ｌｉａｍ Ｊｏｈｎｓｏｎ",
        "Liam J\u{043E}hnson",
        "1993-06-24",
        "1993/06/24",
        "06/24/1993",
        "6/24/1993",
        "24/06/1993",
        "24.06.1993",
        "6/24/93",
        "June 24, 1993",
        "24th of June 1993",
        "19930624",
        "１９９３-０６-２４",
        "213-67-8559",
        "213 67 8559",
        "213678559",
    ];
    let claimed_check: &[&str] = &[
        "Liam Johnson",
        "Liam_Johnson",
        "liam.johnson",
        "LiamJohnson",
        "liamjohnson",
        "Johnson, Liam",
        "L. Johnson",
        "1993-06-24",
        "06/24/1993",
        "1993/06/24",
        "24.06.1993",
        "June 24, 1993",
        "24th June, 93",
        "19930624",
        "68,794",
        "68 794",
        "68.794",
        "68794.0",
        "６８７９４",
        "213678559",
    ];
    let mut passed_detector = Vec::new();
    let mut passed_check = Vec::new();
    for (i, (_, what, v)) in variants.iter().enumerate() {
        let reached = scrubbed[i].contains(v.as_str());
        if reached {
            passed_detector.push(format!("{what}: {v:?}"));
        }
        // A value the pattern detectors replace (an SSN) never reaches the
        // model even without known values: nothing for the check to find.
        let reached_plain = plain_scrubbed[i].contains(v.as_str());
        let caught = !reached_plain
            || plain
                .privacy
                .leaks
                .iter()
                .any(|l| l.question.as_deref() == Some(&format!("v{i}")));
        if !caught {
            passed_check.push(format!("{what}: {v:?}"));
        }
        if claimed_detector.contains(&v.as_str()) {
            assert!(!reached, "{v:?} reached the model: {}", scrubbed[i]);
        }
        if claimed_check.contains(&v.as_str()) {
            assert!(caught, "the check missed {v:?}");
        }
    }
    println!(
        "{} variants; past the detector ({}): {passed_detector:#?}\nmissed by the privacy check ({}): {passed_check:#?}",
        variants.len(),
        passed_detector.len(),
        passed_check.len()
    );
}

/// False positives of known-value detection (names, joined names, known
/// dates) on the sample question set, the ordinary and hard questions of
/// tests/data/known, and every day from 1900 to 2030 written as
/// `YYYY-MM-DD` and `MM/DD/YYYY`: how many texts a detector hit of a
/// data value changes. Printed with `--nocapture`; the question sets must
/// not be changed by a date.
#[test]
fn known_value_false_positives() {
    use sqlveil::detect::Detector;
    let policy = policy();
    let engine = PolarsEngine::open(root().join("examples/data"), &policy).unwrap();
    let d = Detector::with_known_values(
        &policy,
        &engine,
        &sqlveil::detect::KnownValuesOptions::new(),
    )
    .unwrap();
    let mut texts: Vec<(String, String)> = questions()
        .questions
        .iter()
        .map(|q| ("questions.toml".to_string(), q.question.clone()))
        .collect();
    for f in ["ordinary_questions.txt", "hard_questions.txt"] {
        let t = std::fs::read_to_string(root().join("tests/data/known").join(f)).unwrap();
        texts.extend(
            t.lines()
                .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
                .map(|l| (f.to_string(), l.to_string())),
        );
    }
    let mut by_set: std::collections::BTreeMap<String, (usize, usize, usize)> = Default::default();
    for (set, t) in &texts {
        let hits = d.find(t);
        let known: Vec<String> = hits
            .iter()
            .filter(|h| h.detector.starts_with("known:"))
            .map(|h| format!("{}={}", &t[h.range.clone()], h.detector))
            .collect();
        let dates = hits.iter().filter(|h| h.class == "generalized").count();
        let e = by_set.entry(set.clone()).or_default();
        e.0 += 1;
        e.1 += usize::from(!known.is_empty());
        e.2 += usize::from(dates > 0);
        if !known.is_empty() {
            println!("{set}: {t:?}: {known:?}");
        }
        if set != "hard_questions.txt" {
            assert_eq!(dates, 0, "{t}");
        }
    }
    for (set, (n, changed, dated)) in &by_set {
        println!("{set}: {n} texts, {changed} with a known-value hit, {dated} with a date hit");
    }
    let (mut days, mut iso, mut us, mut dob_days, mut dob_hits) = (0, 0, 0, 0, 0);
    let mut day = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
    let end = chrono::NaiveDate::from_ymd_opt(2030, 12, 31).unwrap();
    while day <= end {
        days += 1;
        let a = !d.find(&format!("on {}", day.format("%Y-%m-%d"))).is_empty();
        let b = !d.find(&format!("on {}", day.format("%m/%d/%Y"))).is_empty();
        iso += usize::from(a);
        us += usize::from(b);
        if (1940..=2010).contains(&chrono::Datelike::year(&day)) {
            dob_days += 1;
            dob_hits += usize::from(a);
        }
        day = day.succ_opt().unwrap();
    }
    println!(
        "days 1900-2030: {days}; replaced as YYYY-MM-DD {iso} ({:.2}%), as MM/DD/YYYY {us} ({:.2}%); of 1940-2010: {dob_hits}/{dob_days} ({:.2}%)",
        100.0 * iso as f64 / days as f64,
        100.0 * us as f64 / days as f64,
        100.0 * dob_hits as f64 / dob_days as f64
    );
}
