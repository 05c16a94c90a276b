//! The chat pipeline: what a model receives, repair, reveal, cache, audit.

use std::collections::HashMap;
use std::sync::Arc;

use polars::prelude::DataFrame;
use sqlveil::audit::{verify, AuditLogBuilder};
use sqlveil::error::{ModelError, Reason};
use sqlveil::llm::{ModelRequest, ScriptedModel};
use sqlveil::tokens::MemoryVault;
use sqlveil::{
    Chat, Context, Engine, Error, ErrorKind, LanguageModel, MasterKey, PolarsEngine, Policy,
};

use crate::planted::{assert_no_secret, plant, secret_windows, RULES};
use crate::util::{cells, root, tempdir_with};

const HEADER: &str =
    "id,name,email,phone,card,secret,passport,badge,born,joined,zip,age,salary,notes,city,team\n";

fn chat_over(dir: &std::path::Path, model: Arc<dyn LanguageModel>) -> Chat {
    let policy = Policy::from_toml_str(RULES).unwrap();
    let engine = Arc::new(PolarsEngine::open(dir, &policy).unwrap());
    Chat::builder(policy, engine, model, MasterKey::from_bytes(&[42; 32]))
        .vault(Arc::new(MemoryVault::new()))
        .build()
        .unwrap()
}

fn sample_chat(model: Arc<dyn LanguageModel>) -> sqlveil::chat::ChatBuilder {
    let policy = Policy::from_path(root().join("rules/sample.toml")).unwrap();
    let engine = Arc::new(PolarsEngine::open(root().join("examples/data"), &policy).unwrap());
    Chat::builder(policy, engine, model, MasterKey::from_bytes(&[9; 32]))
        .vault(Arc::new(MemoryVault::new()))
}

fn fenced(sql: &str) -> String {
    format!("Here you go:\n```sql\n{sql}\n```\n")
}

/// An engine whose every query fails the way a failed cast does: with the
/// engine's own text quoting planted values.
struct FailingEngine {
    inner: PolarsEngine,
}

impl Engine for FailingEngine {
    fn catalog(&self) -> &sqlveil::schema::Catalog {
        self.inner.catalog()
    }
    fn dialect(&self) -> sqlveil::schema::Dialect {
        self.inner.dialect()
    }
    fn execute(&self, sql: &str, max_rows: u64) -> Result<DataFrame, Error> {
        if sql.contains("'FAILCAST'") {
            // Not a guarded query: the raw engine casting names to numbers,
            // whose error lists the values it could not convert.
            return self
                .inner
                .execute("SELECT CAST(name AS INTEGER) AS x FROM people", 10);
        }
        self.inner.execute(sql, max_rows)
    }
    fn distinct_values(
        &self,
        table: &str,
        column: &str,
        limit: Option<u64>,
        each: &mut dyn FnMut(&str) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.inner.distinct_values(table, column, limit, each)
    }
    fn is_unique(&self, table: &str, column: &str) -> Result<bool, Error> {
        self.inner.is_unique(table, column)
    }
}

/// The good queries a model ends with, one per question.
const GOOD: &[&str] = &[
    "SELECT * FROM people",
    "SELECT name, email, phone, card, passport, badge, born, joined, zip, age, notes, city FROM people",
    "SELECT city, AVG(salary) AS a, COUNT(salary) AS c FROM people GROUP BY city",
    "SELECT name, COUNT(*) AS n FROM people GROUP BY name",
    "SELECT notes FROM people WHERE city = 'Bergen'",
];

/// First answers that fail: refused by the guard, or failing on the engine
/// with an error text that quotes planted values.
const BAD: &[&str] = &[
    "SELECT nmae FROM people",
    "SELECT salary FROM people",
    "SELECT city FROM people WHERE team = 'FAILCAST'",
    "SELECT name FROM people ORDER BY name",
];

#[test]
fn planted_values_never_reach_the_model() {
    let planted = plant();
    let dir = tempdir_with(&[("people.csv", &planted.csv)]);
    let policy = Policy::from_toml_str(RULES).unwrap();
    let engine = FailingEngine {
        inner: PolarsEngine::open(dir.path(), &policy).unwrap(),
    };

    // The model answers each question with a failing query first, then a
    // good one; the answer-writing call gets an answer that quotes the rows.
    let model = Arc::new(ScriptedModel::from_fn(|req: &ModelRequest| {
        let first = &req.messages[0].content;
        if req.system.starts_with("You answer") {
            let rows = first.split("Result: ").nth(1).unwrap_or("");
            return Ok(format!(
                "From the rows: {}",
                rows.lines().nth(2).unwrap_or("")
            ));
        }
        let i: usize = first
            .split("case ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|s| s.parse().ok())
            .unwrap();
        Ok(fenced(if req.messages.len() == 1 {
            BAD[i % BAD.len()]
        } else {
            GOOD[i % GOOD.len()]
        }))
    }));
    let chat = Chat::builder(
        policy.clone(),
        Arc::new(engine),
        model.clone(),
        MasterKey::from_bytes(&[42; 32]),
    )
    .vault(Arc::new(MemoryVault::new()))
    .build()
    .unwrap();

    // Windows of planted values, less those in the schema's own text (a
    // column named `notes` is not a leak of the note `leak.07@notesmail`).
    let empty = tempdir_with(&[("people.csv", HEADER)]);
    // The redaction of the denied column names the column, not its value.
    let public = chat_over(empty.path(), Arc::new(ScriptedModel::new([""]))).sql_prompt("")
        + "[redacted:secret]";
    let secret: HashMap<String, &'static str> = secret_windows(&planted)
        .into_iter()
        .filter(|(w, _)| !public.contains(w.as_str()))
        .collect();

    let mut answered = 0;
    for i in 0..GOOD.len().max(BAD.len()) * 2 {
        // The question carries planted values: of the kinds the pattern
        // detectors find, and the data's own (a name, a passport number, a
        // denied secret), which known-value detection finds.
        let question = format!(
            "case {i} : is quillon.secret{i:02}@plantedmail.test the one who called from +1 415 555 {:04} and paid with 4111 1111 1111 1111? Is that Quillon Vandermeer{i:02}x, passport PXQ{:06}, code TOPSECRET-{i:04}-ZX?",
            3000 + i,
            481_516 + i
        );
        let ctx = Context::new("tester").role("support");
        match chat.ask(&question, &ctx) {
            Ok(a) => {
                answered += 1;
                assert_eq!(a.attempts.len(), 2, "case {i}: {:?}", a.attempts);
                assert!(a.attempts[0].error.is_some());
                assert!(a.model_answer.is_some());
            }
            Err(e) => panic!("case {i}: {e}"),
        }
    }
    assert_eq!(answered, 10);
    let requests = model.requests();
    // Per question: the SQL call, the repair call, the answer call.
    assert_eq!(requests.len(), 30);
    let mut checked = 0;
    for (n, r) in requests.iter().enumerate() {
        for text in r.texts() {
            checked += assert_no_secret(&format!("request {n}"), text, &secret);
            // The question's values are not planted in the data; check them
            // by name.
            assert!(!text.contains("quillon.secret"), "request {n}: {text}");
            assert!(!text.contains("415 555"), "request {n}: {text}");
            assert!(!text.contains("4111 1111"), "request {n}: {text}");
            assert!(!text.contains("Quillon"), "request {n}: {text}");
            assert!(!text.contains("PXQ"), "request {n}: {text}");
            assert!(!text.contains("TOPSECRET"), "request {n}: {text}");
        }
    }
    assert!(checked > 50_000, "{checked}");
    // The engine's failing cast went back to the model as its category,
    // without the engine's text (which lists the names it failed on).
    let repair = requests
        .iter()
        .find_map(|r| {
            r.messages
                .iter()
                .find(|m| m.content.contains("engine could not run the query"))
        })
        .expect("an engine error was sent back");
    assert!(repair.content.contains(" error)"), "{}", repair.content);
}

#[test]
fn repair_ends_with_the_valid_query() {
    let model = Arc::new(ScriptedModel::new([
        fenced("SELECT segmnt, COUNT(*) AS n FROM customers GROUP BY segmnt"),
        fenced("SELECT segment, COUNT(*) AS n FROM customers GROUP BY segment ORDER BY segment"),
    ]));
    let chat = sample_chat(model.clone())
        .write_answer(false)
        .build()
        .unwrap();
    let a = chat
        .ask("How many customers per segment?", Context::new("t"))
        .unwrap();
    assert_eq!(
        cells(&a.rows),
        ["business", "consumer", "vip", "49", "145", "6"]
    );
    assert_eq!(a.attempts.len(), 2);
    let e = a.attempts[0].error.as_ref().unwrap();
    assert_eq!(e.code, "unknown_column");
    // The feedback names the schema's column, never the model's own text.
    assert!(
        e.feedback.contains("Did you mean `segment`?"),
        "{}",
        e.feedback
    );
    assert!(!e.feedback.contains("segmnt"), "{}", e.feedback);
    // The repair request carries the model's first answer and the error.
    let reqs = model.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].messages.len(), 3);
    assert!(reqs[1].messages[2].content.contains("not accepted"));
    assert_eq!(a.answer, None);
}

#[test]
fn a_model_that_never_repairs_ends_with_a_refusal() {
    let model = Arc::new(ScriptedModel::cycle([fenced("SELECT ssn FROM customers")]));
    let chat = sample_chat(model.clone()).max_repairs(3).build().unwrap();
    let e = chat
        .ask("What are the SSNs?", Context::new("t"))
        .unwrap_err();
    assert_eq!(e.refusal().unwrap().reason(), Reason::DeniedColumn);
    assert_eq!(model.requests().len(), 4);

    // No SQL at all, every time: a typed error of its own.
    let model = Arc::new(ScriptedModel::cycle(["I would rather not."]));
    let chat = sample_chat(model.clone()).max_repairs(1).build().unwrap();
    let e = chat.ask("Anything?", Context::new("t")).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::NoSql), "{e:?}");
    assert_eq!(model.requests().len(), 2);
}

#[test]
fn model_failures_end_the_request() {
    let model = Arc::new(ScriptedModel::with_results([Err(
        ModelError::RateLimited {
            retry_after: Some(std::time::Duration::from_secs(3)),
        },
    )]));
    let chat = sample_chat(model).build().unwrap();
    let e = chat.ask("Anything?", Context::new("t")).unwrap_err();
    assert_eq!(e.code(), "model");
    assert!(e.to_string().contains("rate limiting"), "{e}");
}

const NAMES_SQL: &str =
    "SELECT full_name AS customer, city FROM customers WHERE city = 'Austin' LIMIT 3";

#[test]
fn reveal_follows_the_role() {
    let model = Arc::new(ScriptedModel::cycle([
        fenced(NAMES_SQL),
        // The answer quotes a token from the rows it received.
        "FIRST_TOKEN is one of them.".to_string(),
    ]));
    // A model that copies the first token of the rows into its answer.
    let copying = Arc::new(ScriptedModel::from_fn({
        let model = model.clone();
        move |req: &ModelRequest| {
            let text = model.complete(req)?.text;
            let token = req.messages[0]
                .content
                .split_whitespace()
                .find(|w| w.starts_with("<person_"))
                .unwrap_or("")
                .to_string();
            Ok(text.replace("FIRST_TOKEN", &token))
        }
    }));
    let chat = sample_chat(copying).cache_capacity(0).build().unwrap();
    let support = chat
        .ask(
            "Who are our customers in Austin?",
            Context::new("t").role("support"),
        )
        .unwrap();
    let analyst = chat
        .ask(
            "Who are our customers in Austin?",
            Context::new("t").role("analyst"),
        )
        .unwrap();
    // Both models saw tokens only.
    for a in [&support, &analyst] {
        assert!(cells(&a.model_rows)[0].starts_with("<person_"));
        assert!(a.model_answer.as_deref().unwrap().starts_with("<person_"));
    }
    // Support sees the names (of customers in Austin in the sample data, in
    // the guard's keyed order); the analyst keeps the tokens.
    let name = cells(&support.rows)[0].clone();
    let data =
        std::fs::read_to_string(crate::util::root().join("examples/data/customers.csv")).unwrap();
    assert!(
        data.lines()
            .any(|l| l.contains(&format!(",{name},")) && l.contains(",Austin,")),
        "{name}"
    );
    assert_eq!(
        support.answer.as_deref(),
        Some(format!("{name} is one of them.").as_str())
    );
    assert!(support.revealed >= 2);
    // Its Debug (what a log line of the answer would print) shows neither
    // the revealed answer nor the revealed rows.
    let debug = format!("{support:?} {support:#?}");
    assert!(!debug.contains(&name), "{debug}");
    assert!(debug.contains("<person_"), "{debug}");
    assert_eq!(analyst.answer, analyst.model_answer);
    assert!(cells(&analyst.rows)[0].starts_with("<person_"));
    assert_eq!(analyst.revealed, 0);
    // A question longer than the cap is refused before any work.
    let e = chat
        .ask(&"Who? ".repeat(5000), Context::new("t"))
        .unwrap_err();
    assert!(e.to_string().contains("more than the 8192 allowed"), "{e}");
    // An unknown role is refused before the model is called.
    let e = chat
        .ask("Who?", Context::new("t").role("admin"))
        .unwrap_err();
    assert!(e.to_string().contains("role `admin`"), "{e}");
}

#[test]
fn the_same_question_gives_the_same_sql_from_the_cache() {
    let model = Arc::new(ScriptedModel::new([fenced(NAMES_SQL)]));
    let chat = sample_chat(model.clone())
        .write_answer(false)
        .build()
        .unwrap();
    let ctx = Context::new("t");
    let a = chat.ask("Who lives in Austin?", &ctx).unwrap();
    let b = chat.ask("Who lives in Austin?", &ctx).unwrap();
    assert!(!a.cached && b.cached);
    assert_eq!(a.sql, b.sql);
    assert_eq!(cells(&a.model_rows), cells(&b.model_rows));
    assert_eq!(model.requests().len(), 1);
    assert_eq!(b.model_calls, 0);
    // Another question is another key: the scripted model has no answer left.
    assert!(chat.ask("Who lives in Boston?", &ctx).is_err());

    // With the cache off, the model is asked every time.
    let model = Arc::new(ScriptedModel::cycle([fenced(NAMES_SQL)]));
    let chat = sample_chat(model.clone())
        .write_answer(false)
        .cache_capacity(0)
        .build()
        .unwrap();
    chat.ask("Who lives in Austin?", &ctx).unwrap();
    chat.ask("Who lives in Austin?", &ctx).unwrap();
    assert_eq!(model.requests().len(), 2);
}

#[test]
fn the_prompt_shows_only_what_the_model_may_see() {
    let model = Arc::new(ScriptedModel::new([fenced(NAMES_SQL), "ok".to_string()]));
    let chat = sample_chat(model.clone()).build().unwrap();
    chat.ask(
        "Write to liam.johnson@hotmail.com about card 4613 6712 1149 0486",
        Context::new("t"),
    )
    .unwrap();
    let reqs = model.requests();
    let system = &reqs[0].system;
    for denied in ["ssn", "street"] {
        assert!(
            !system.contains(denied),
            "{denied} in the prompt:\n{system}"
        );
    }
    assert!(system.contains("polars SELECT statement"));
    assert!(
        system.contains(
            "income (integer): aggregate only: AVG, SUM, COUNT over groups of at least 5 people"
        ),
        "{system}"
    );
    assert!(
        system.contains("date_of_birth (date): year only"),
        "{system}"
    );
    assert!(system.contains("full_name (text): shown as a token <person_…>"));
    let question = &reqs[0].messages[0].content;
    assert!(
        question.starts_with("Question: Write to <email_"),
        "{question}"
    );
    assert!(!question.contains("4613"), "{question}");
    // The answer call sees the question, the SQL and the protected rows.
    let answer = &reqs[1].messages[0].content;
    assert!(answer.contains("customer | city"), "{answer}");
    assert!(answer.contains("<person_"), "{answer}");

    // A small budget keeps the tables the question is about.
    let model = Arc::new(ScriptedModel::new([""]));
    let chat = sample_chat(model).schema_budget(120).build().unwrap();
    let p = chat.sql_prompt("total amount of shipped orders per product category");
    assert!(p.contains("TABLE orders"), "{p}");
    assert!(!p.contains("TABLE tickets"), "{p}");
}

#[test]
fn sample_values_come_only_from_allow_columns_and_are_scanned() {
    let model = Arc::new(ScriptedModel::new([""]));
    let chat = sample_chat(model).sample_values(3).build().unwrap();
    let p = chat.sql_prompt("");
    assert!(p.contains("segment (text): shown as is. consumer, business or vip. Values include: business, consumer, vip"), "{p}");
    // No sample of a protected column.
    assert!(!p.contains("Liam Johnson"));
    assert!(!p.contains("@hotmail.com"));
}

#[test]
fn every_request_is_audited_without_values() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("audit.jsonl");
    let key = MasterKey::from_bytes(&[9; 32]);
    let log = Arc::new(AuditLogBuilder::new().open(&log_path, Some(&key)).unwrap());
    let model = Arc::new(ScriptedModel::new([
        fenced("SELECT ssn FROM customers WHERE email = 'liam.johnson@hotmail.com'"),
        fenced(NAMES_SQL),
        "ok".to_string(),
    ]));
    let chat = sample_chat(model).audit(log).build().unwrap();
    chat.ask(
        "Is liam.johnson@hotmail.com in Austin?",
        Context::new("alice").role("support").request_id("r-1"),
    )
    .unwrap();
    let log = std::fs::read_to_string(&log_path).unwrap();
    // One event per attempt (the refused one too), then the request's.
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 3, "{log}");
    assert!(lines[0].contains("\"kind\":\"attempt\""), "{log}");
    assert!(lines[0].contains("\"decision\":\"refused\""), "{log}");
    assert!(lines[0].contains("\"code\":\"raw_literal\""), "{log}");
    assert!(lines[1].contains("\"kind\":\"attempt\""), "{log}");
    assert!(lines[1].contains("\"decision\":\"allowed\""), "{log}");
    assert!(
        lines.iter().all(|l| l.contains("\"request_id\":\"r-1\"")),
        "{log}"
    );
    assert!(!log.contains("liam"), "{log}");
    assert!(!log.contains("Liam"), "{log}");
    assert!(log.contains("\"kind\":\"ask\""), "{log}");
    assert!(log.contains("\"request_id\":\"r-1\""), "{log}");
    assert!(log.contains("\"calls\":3"), "{log}");
    let report = verify(std::slice::from_ref(&log_path), Some(&key)).unwrap();
    assert!(report.is_intact(), "{report:?}");
}

#[test]
fn one_chat_serves_concurrent_requests() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Chat>();
    let model = Arc::new(ScriptedModel::cycle([
        fenced("SELECT segment, COUNT(*) AS n FROM customers GROUP BY segment ORDER BY segment"),
        "done".to_string(),
    ]));
    let chat = Arc::new(
        sample_chat(model)
            .cache_capacity(0)
            .write_answer(false)
            .build()
            .unwrap(),
    );
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let chat = chat.clone();
            std::thread::spawn(move || {
                let a = chat
                    .ask(
                        &format!("Segments, take {i}?"),
                        Context::new(format!("user{i}")),
                    )
                    .unwrap();
                cells(&a.rows)
            })
        })
        .collect();
    for h in handles {
        assert_eq!(
            h.join().unwrap(),
            ["business", "consumer", "vip", "49", "145", "6"]
        );
    }
}

/// Issue 11, finding 4: the model's own text is never a source of tokens.
/// A model that writes a guessed name as a column got back the real
/// customer's token (known-value detection ran over the feedback), and an
/// unchanged name for a non-customer: a membership oracle.
#[test]
fn repair_feedback_is_not_a_guessing_oracle() {
    let feedback_for = |guess: &str| {
        let model = Arc::new(ScriptedModel::new([
            fenced(&format!("SELECT \"{guess}\" FROM customers")),
            fenced(&format!(
                "SELECT city FROM customers WHERE full_name = '{guess}'"
            )),
            fenced("SELECT segment FROM customers LIMIT 1"),
        ]));
        let chat = sample_chat(model.clone())
            .write_answer(false)
            .build()
            .unwrap();
        let a = chat.ask("Which city?", Context::new("t")).unwrap();
        assert_eq!(a.attempts.len(), 3);
        let token = chat
            .tokens()
            .issue(&sqlveil::rules::TokenClass::new("person").unwrap(), guess)
            .unwrap();
        let feedback: Vec<String> = a
            .attempts
            .iter()
            .filter_map(|t| t.error.as_ref().map(|e| e.feedback.clone()))
            .collect();
        for r in model.requests() {
            for text in r.texts() {
                assert!(
                    !text.contains(&token),
                    "the guess's token reached the model: {text}"
                );
            }
        }
        feedback
    };
    let customer = feedback_for("Charles Garcia");
    let stranger = feedback_for("Zebulon Quixworth");
    assert_eq!(
        customer, stranger,
        "the feedback tells a customer from a stranger"
    );
    for f in &customer {
        assert!(!f.contains("Charles") && !f.contains("Garcia"), "{f}");
    }
}

/// SSNs, phone numbers and card numbers in a question, in every spelling
/// people write them, never reach the model.
#[test]
fn questions_are_scrubbed_in_every_spelling() {
    use crate::planted::{assert_no_number, spelled_numbers};
    let numbers = spelled_numbers();
    let model = Arc::new(ScriptedModel::from_fn(|req: &ModelRequest| {
        if req.system.starts_with("You answer") {
            return Ok("It is Oslo.".to_string());
        }
        Ok(fenced(
            "SELECT city, COUNT(*) AS n FROM people GROUP BY city",
        ))
    }));
    let dir = tempdir_with(&[("people.csv", &plant().csv)]);
    let chat = chat_over(dir.path(), model.clone());
    for (_, written, _) in &numbers {
        let q = format!("Which city is the customer with {written} in?");
        chat.ask(&q, Context::new("tester"))
            .unwrap_or_else(|e| panic!("{q}: {e}"));
    }
    let requests = model.requests();
    assert!(requests.len() >= numbers.len(), "{}", requests.len());
    for (n, r) in requests.iter().enumerate() {
        for text in r.texts() {
            assert_no_number(&format!("request {n}"), text, &numbers);
        }
    }
}
