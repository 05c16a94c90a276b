//! Second adversarial review of issue 16's privacy changes (d4735bd,
//! f27b746): the independent matcher (`leak`) at example load and in the
//! eval check, the keyed `privacy_reviewed` fingerprints, and the
//! detector's new forms (initial+surname, transliterations, a phone's local
//! part, six-digit and CJK dates). Findings already open in review16.rs are
//! not repeated. Probes that hold are normal tests; those that break a claim
//! are `#[ignore = "finding (severity): …"]`.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use sqlveil::chat::ExampleSet;
use sqlveil::eval::{self, EvalOptions, QuestionSet, RecordingModel, Report};
use sqlveil::llm::ScriptedModel;
use sqlveil::tokens::MemoryVault;
use sqlveil::{Chat, MasterKey, PolarsEngine, Policy};

use crate::util::root;

const KEY: [u8; 32] = [7; 32];

fn sample() -> std::path::PathBuf {
    root().join("examples/data")
}

/// A chat over the data in `dir` (sample rules), a recording model, and
/// optional examples.
fn chat_on(
    dir: &Path,
    examples: Option<&str>,
) -> Result<(Chat, Arc<RecordingModel>), sqlveil::Error> {
    let model = Arc::new(ScriptedModel::cycle([
        "```sql\nSELECT COUNT(*) AS n FROM customers\n```",
    ]));
    let seen = Arc::new(RecordingModel::new(model));
    let policy = Policy::from_path(root().join("rules/sample.toml")).unwrap();
    let engine = Arc::new(PolarsEngine::open(dir, &policy).unwrap());
    let mut b = Chat::builder(policy, engine, seen.clone(), MasterKey::from_bytes(&KEY))
        .vault(Arc::new(MemoryVault::new()))
        .write_answer(false);
    if let Some(t) = examples {
        b = b.examples(ExampleSet::from_toml_str(t)?);
    }
    Ok((b.build()?, seen))
}

fn example(question: &str, notes: &str, sql: &str) -> String {
    format!(
        "[[examples]]\nname = \"x\"\nquestion = {}\nsql = {}\nnotes = {}\n",
        serde_json::to_string(question).unwrap(),
        serde_json::to_string(sql).unwrap(),
        serde_json::to_string(notes).unwrap()
    )
}

const COUNT: &str = "SELECT COUNT(*) AS n FROM customers";

/// Questions whose scrubbed text still holds the needle.
fn passing(chat: &Chat, probes: &[(&str, &str)]) -> Vec<String> {
    let mut out = Vec::new();
    for (q, n) in probes {
        let s = chat.scrub(q).unwrap();
        println!("{q:?} -> {s:?}");
        if s.contains(n) {
            out.push(format!("{q:?} -> {s:?}"));
        }
    }
    out
}

/// Questions the detector changed.
fn changed(chat: &Chat, qs: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for q in qs {
        let s = chat.scrub(q).unwrap();
        println!("{q:?} -> {s:?}");
        if s != *q {
            out.push(format!("{q:?} -> {s:?}"));
        }
    }
    out
}

/// The eval run over `questions` on the data in `dir`, with review marks.
fn eval_run(dir: &Path, questions: &[(&str, Vec<String>)]) -> Report {
    let mut toml = String::new();
    for (i, (q, rev)) in questions.iter().enumerate() {
        let _ = write!(
            toml,
            "[[question]]\nid = \"p{i}\"\nquestion = {}\ngold = \"{COUNT}\"\nprivacy_reviewed = {}\n",
            serde_json::to_string(q).unwrap(),
            serde_json::to_string(rev).unwrap(),
        );
    }
    let set = QuestionSet::from_toml_str(&toml).unwrap();
    let (chat, seen) = chat_on(dir, None).unwrap();
    eval::run(&chat, &set, &seen, &EvalOptions::default()).unwrap()
}

/// Per question: whether the eval check reported an unreviewed finding.
fn reported(dir: &Path, qs: &[&str]) -> Vec<bool> {
    let r = eval_run(
        dir,
        &qs.iter().map(|q| (*q, Vec::new())).collect::<Vec<_>>(),
    );
    (0..qs.len())
        .map(|i| {
            let id = format!("p{i}");
            r.privacy
                .leaks
                .iter()
                .any(|l| l.question.as_deref() == Some(id.as_str()) && !l.reviewed)
        })
        .collect()
}

/// A copy of the sample data with extra customers rows (CSV lines without
/// the header).
fn data_with(rows: &[String]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["orders.csv", "products.csv", "tickets.ndjson"] {
        std::fs::copy(sample().join(f), dir.path().join(f)).unwrap();
    }
    let mut c = std::fs::read_to_string(sample().join("customers.csv")).unwrap();
    for r in rows {
        c.push_str(r);
        c.push('\n');
    }
    std::fs::write(dir.path().join("customers.csv"), c).unwrap();
    dir
}

/// A customers row: id, name, phone, date of birth, signup date, number.
fn row(id: u64, name: &str, phone: &str, dob: &str, signup: &str, number: u64) -> String {
    let email = format!("c{id}@example.org");
    format!(
        "{id},CUST-{number:06},{name},{email},{phone},1 Main St,Austin,78701,{dob},900-00-{:04},4000000000000002,50000,consumer,{signup},",
        id % 10_000
    )
}

/// Planted customers for false positives and transliterations: surnames
/// whose initial form is a word (`T Rimmer` → `trimmer`), letters that do
/// not decompose (ø, ł, ß), a phone and a customer number a plain number
/// equals.
fn planted() -> Vec<String> {
    vec![
        row(
            9001,
            "Tom Rimmer",
            "(206) 555-3101",
            "1971-03-02",
            "2021-05-05",
            990_001,
        ),
        row(
            9002,
            "Cara Harger",
            "(206) 555-3102",
            "1972-03-02",
            "2021-05-06",
            990_002,
        ),
        row(
            9003,
            "Sam Hopper",
            "(206) 555-3103",
            "1973-03-02",
            "2021-05-07",
            990_003,
        ),
        row(
            9004,
            "Dana Rivers",
            "(206) 555-3104",
            "1974-03-02",
            "2021-05-08",
            990_004,
        ),
        row(
            9005,
            "S\u{F8}ren J\u{F8}rgensen",
            "(206) 555-3105",
            "1975-03-02",
            "2021-05-09",
            990_005,
        ),
        row(
            9006,
            "Micha\u{142} Wa\u{142}\u{119}sa",
            "(206) 555-3106",
            "1976-03-02",
            "2021-05-10",
            990_006,
        ),
        row(
            9007,
            "Anna Strau\u{DF}",
            "(206) 555-3107",
            "1977-03-02",
            "2021-05-11",
            990_007,
        ),
        row(
            9008,
            "Ruth Okafor",
            "(303) 200-5000",
            "1978-03-02",
            "2021-05-12",
            150_000,
        ),
        row(
            9009,
            "Omar Haddad",
            "(206) 250-0000",
            "1979-03-02",
            "2021-05-13",
            990_009,
        ),
        row(
            9010,
            "Nora Quill",
            "(206) 555-3110",
            "1980-03-02",
            "2021-05-14",
            990_010,
        )
        .replace(",50000,", ",100000,"),
    ]
}

// ---------------------------------------------------------------- held

#[test]
fn held_initial_and_surname_spellings() {
    let (chat, _) = chat_on(&sample(), None).unwrap();
    let p = passing(
        &chat,
        &[
            ("What did L Johnson order?", "ohnson"),
            ("What did l johnson order?", "ohnson"),
            ("What did L-Johnson order?", "ohnson"),
            ("What did l_johnson order?", "ohnson"),
            ("What did J. Martin order?", "Martin"),
            ("What did IWolstenholme order?", "olstenholme"),
        ],
    );
    assert!(p.is_empty(), "{p:#?}");
}

/// After this review, the lead made the detector take an initial and
/// surname only written as one (a break after the initial, or two
/// capitals): run together in one case it is a word as often as a name at
/// real sizes (`shopper`, `drivers`; see `initial_forms_are_not_words`).
/// The eval check reports these, and the example check refuses them.
#[test]
#[ignore = "finding (medium, by design): an initial and surname run together in one case (pmuller, jmartin, ljohnson, sobrien) pass the detector; the eval check reports them and the example check refuses them"]
fn finding_initial_and_surname_in_one_case() {
    let (chat, _) = chat_on(&sample(), None).unwrap();
    let p = passing(
        &chat,
        &[
            ("What did pmuller order?", "uller"),
            ("What did jmartin order?", "martin"),
            ("What did iwolstenholme order?", "olstenholme"),
            ("What did hcromusshaw order?", "romusshaw"),
            ("What did pmueller order?", "mueller"),
            ("What did sobrien order?", "obrien"),
            // Three capitals: not read as an initial (`SHOPPER`).
            ("What did SOBrien order?", "OBrien"),
        ],
    );
    assert!(p.is_empty(), "{p:#?}");
}

/// After this review, the lead removed a phone's last seven digits from
/// the detector's keys: at real sizes every `NNN-NNNN` (a range,
/// `200-5000`) is some phone's (see `plain_numbers_are_not_refused_at_size`).
/// The eval check reports them.
#[test]
#[ignore = "finding (medium, by design): a phone's last seven digits alone pass the detector; the eval check reports them"]
fn finding_phone_local_parts() {
    // The phone's mask shows its last four digits; `555` is the needle.
    let (chat, _) = chat_on(&sample(), None).unwrap();
    let p = passing(
        &chat,
        &[
            ("Who has phone 555 - 0151?", "555"),
            ("Who has phone 555\u{2013}0151?", "555"),
            ("Who has phone 555-01-51?", "555"),
            ("Who has phone 555/0151?", "555"),
            ("Who has phone 555_0151?", "555"),
            ("Who has phone 555\u{A0}0151?", "555"),
            ("Who has phone 555 01 51?", "555"),
            (
                "Who has phone \u{FF15}\u{FF15}\u{FF15}-\u{FF10}\u{FF11}\u{FF15}\u{FF11}?",
                "\u{FF15}",
            ),
        ],
    );
    assert!(p.is_empty(), "{p:#?}");
}

#[test]
fn held_six_digit_and_cjk_date_spellings() {
    // date_of_birth is generalized to its year: the needle is the day.
    let (chat, _) = chat_on(&sample(), None).unwrap();
    let p = passing(
        &chat,
        &[
            ("Who was born 93-06-24?", "24"),
            ("Who was born 93.06.24?", "24"),
            ("Who was born 93/06/24?", "24"),
            ("Who was born 24 06 93?", "24"),
            ("Who was born #240693?", "24"),
            ("Who was born \u{FF12}\u{FF14}\u{FF10}\u{FF16}\u{FF19}\u{FF13}?", "\u{FF12}"),
            (
                "Who was born \u{FF11}\u{FF19}\u{FF19}\u{FF13}\u{5E74}\u{FF16}\u{6708}\u{FF12}\u{FF14}\u{65E5}?",
                "\u{FF12}",
            ),
            ("Who was born 1993\u{5E74}6\u{6708}24\u{53F7}?", "24"),
            ("Who was born 1993\u{5E74}06\u{6708}24\u{65E5}?", "24"),
            ("Who was born 1993 \u{5E74} 6 \u{6708} 24 \u{65E5}?", "24"),
            ("Who was born 1993\u{5E74}6\u{6708}24\u{65E5}\u{751F}\u{307E}\u{308C}?", "24"),
            ("\u{C0DD}\u{C77C}\u{C740} 1993.06.24", "24"),
        ],
    );
    assert!(p.is_empty(), "{p:#?}");
}

/// Forms the detector leaves (findings below) that the eval check reports.
#[test]
fn held_check_reports_what_the_detector_leaves() {
    let qs = [
        "What did JohnsonL order?",
        "What did pmueller order?",
        "What did sobrien order?",
        "Who was born 93\u{5E74}6\u{6708}24\u{65E5}?",
        "Who has phone 5550151?",
    ];
    let r = reported(&sample(), &qs);
    let missed: Vec<_> = qs.iter().zip(&r).filter(|(_, r)| !**r).collect();
    assert!(missed.is_empty(), "{missed:?}");
}

#[test]
fn held_examples_refuse_forms_only_the_check_reads() {
    for (q, n) in [
        ("How many orders has pmueller placed?", "ok"),
        ("How many orders has sobrien placed?", "ok"),
        ("How many customers?", "born 93\u{5E74}6\u{6708}24\u{65E5}"),
        ("How many customers?", "call 512 555 0151"),
    ] {
        assert!(
            chat_on(&sample(), Some(&example(q, n, COUNT))).is_err(),
            "{q:?} / {n:?} accepted"
        );
    }
}

/// The quote-counting literal reader could be thrown off by `E'\''` or a
/// dollar-quoted string; the guard refuses both forms.
#[test]
fn held_guard_refuses_strings_the_literal_reader_would_misread() {
    for sql in [
        "SELECT COUNT(*) AS n FROM customers WHERE segment <> E'a\\'' AND segment <> 'pmueller'",
        "SELECT COUNT(*) AS n FROM customers WHERE segment <> $$pmueller$$",
    ] {
        let e = chat_on(&sample(), Some(&example("How many customers?", "ok", sql)));
        assert!(e.is_err(), "{sql}");
    }
}

/// Fingerprints: the same under the same key from run to run, one mark
/// reviews its own question's finding only, and neither the table nor the JSON holds the value.
#[test]
fn held_fingerprints_are_stable_scoped_and_opaque() {
    // Forms the detector misses (review16's open findings), so that they
    // reach the model and the check.
    let q0 = "Who was born June the 24th 1993?";
    let q1 = "Compare June the 24th 1993 with June the 27th 1976";
    let first = eval_run(&sample(), &[(q0, vec![]), (q1, vec![])]);
    let prints = |r: &Report, id: &str| -> Vec<String> {
        let mut v: Vec<String> = r
            .privacy
            .leaks
            .iter()
            .filter(|l| l.question.as_deref() == Some(id))
            .map(|l| l.fingerprint.clone())
            .collect();
        v.sort();
        v
    };
    let p0 = prints(&first, "p0");
    assert!(!p0.is_empty());
    let again = eval_run(&sample(), &[(q0, vec![]), (q1, vec![])]);
    assert_eq!(p0, prints(&again, "p0"));
    // Marks on p0 only: p0 all reviewed, p1's equal finding not.
    let marked = eval_run(&sample(), &[(q0, p0.clone()), (q1, vec![])]);
    assert!(marked
        .privacy
        .leaks
        .iter()
        .filter(|l| l.question.as_deref() == Some("p0"))
        .all(|l| l.reviewed));
    let p1: Vec<_> = marked
        .privacy
        .leaks
        .iter()
        .filter(|l| l.question.as_deref() == Some("p1"))
        .collect();
    assert!(p1.iter().any(|l| p0.contains(&l.fingerprint)), "{p1:?}");
    assert!(p1.iter().all(|l| !l.reviewed), "{p1:?}");
    let text = format!(
        "{}\n{}",
        first.table(),
        serde_json::to_string(&first.privacy).unwrap()
    );
    for v in [
        "1993-06-24",
        "19930624",
        "6241993",
        "24061993",
        "1976-06-27",
    ] {
        assert!(!text.contains(v), "{v} in the report");
    }
    // A bare column is refused.
    let bare = "[[question]]\nid = \"a\"\nquestion = \"x\"\ngold = \"SELECT 1\"\nprivacy_reviewed = [\"customers.date_of_birth\"]\n";
    assert!(QuestionSet::from_toml_str(bare).is_err());
}

// ---------------------------------------------------------------- findings

fn prompt_holds(seen: &RecordingModel, needle: &str) -> bool {
    seen.requests()
        .iter()
        .any(|r| r.texts().any(|t| t.contains(needle)))
}

/// An example's SQL comment is not read by the check (only its string
/// literals are), and the literal reader counts a `'` in a comment as a
/// quote, so a real literal after `-- customer's` is read as SQL text. The
/// example loads and its SQL, comment and literal included, goes into the
/// prompt.
#[test]
#[ignore = "finding (high): an example SQL comment (`-- for liam . johnson @ hotmail . com`, `/* pmueller */`), a literal after `-- customer's` ('pmueller') and an alias (`AS pmueller_orders`) are not checked and reach the model's prompt"]
fn finding_example_sql_comments_reach_the_prompt() {
    let mut bad = Vec::new();
    for (sql, needle) in [
        (
            "SELECT COUNT(*) AS n FROM customers -- for liam . johnson @ hotmail . com",
            "liam . johnson @ hotmail",
        ),
        (
            "SELECT COUNT(*) AS n FROM customers /* asked by pmueller */",
            "pmueller",
        ),
        (
            "SELECT COUNT(*) AS n FROM customers -- the customer's count\nWHERE segment <> 'pmueller'",
            "pmueller",
        ),
        // An identifier is not a literal either.
        (
            "SELECT COUNT(*) AS pmueller_orders FROM customers",
            "pmueller",
        ),
    ] {
        let t = example("How many customers are there?", "ok", sql);
        if let Ok((chat, seen)) = chat_on(&sample(), Some(&t)) {
            let _ = chat.ask("How many customers are there?", sqlveil::Context::new("t"));
            if prompt_holds(&seen, needle) {
                bad.push(format!("{sql:?}: {needle:?} reached the prompt"));
            }
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
#[ignore = "finding (medium): surname + initial usernames (johnsonl, JohnsonL) pass the detector; johnsonl passes the eval check and the example check too"]
fn finding_surname_then_initial() {
    let (chat, _) = chat_on(&sample(), None).unwrap();
    let mut bad = passing(
        &chat,
        &[
            ("What did johnsonl order?", "johnson"),
            ("What did JohnsonL order?", "Johnson"),
        ],
    );
    if reported(&sample(), &["What did johnsonl order?"]) == [false] {
        bad.push("the eval check does not report johnsonl".into());
    }
    if chat_on(
        &sample(),
        Some(&example(
            "How many orders has johnsonl placed?",
            "ok",
            COUNT,
        )),
    )
    .is_ok()
    {
        bad.push("an example with johnsonl loads".into());
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

/// Was a finding (medium): an initial and a transliterated or apostrophe
/// surname passed the detector. (Run together in one case they still do,
/// by design: `finding_initial_and_surname_in_one_case`.)
#[test]
fn initial_with_transliterated_surname() {
    let (chat, _) = chat_on(&sample(), None).unwrap();
    let p = passing(
        &chat,
        &[
            ("What did p.mueller order?", "mueller"),
            ("What did PMueller order?", "Mueller"),
            ("What did s.obrien order?", "obrien"),
        ],
    );
    assert!(p.is_empty(), "{p:#?}");
}

/// `cgarcia` is Charles Garcia and Carlos Garcia; the detector replaces it
/// with one of them, so the question is answered about one customer,
/// silently (as `lgarcia`: Liam, not Linda).
#[test]
#[ignore = "finding (medium): an initial+surname shared by two customers (C. Garcia: Charles and Carlos Garcia; L. Garcia; cjackson; mwilliams) becomes one customer's token, silently"]
fn finding_ambiguous_initial_goes_to_one_customer() {
    let (chat, _) = chat_on(&sample(), None).unwrap();
    let mut bad = Vec::new();
    for (short, a, b) in [
        ("C. Garcia", "Charles Garcia", "Carlos Garcia"),
        ("L. Garcia", "Liam Garcia", "Linda Garcia"),
    ] {
        let s = chat.scrub(short).unwrap();
        let (ta, tb) = (chat.scrub(a).unwrap(), chat.scrub(b).unwrap());
        if s == ta || s == tb {
            bad.push(format!(
                "{short} -> {s} (= {})",
                if s == ta { a } else { b }
            ));
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

/// Was part of the finding below: the digits of a number beside a
/// decimal point were read as a date.
#[test]
fn six_digits_beside_a_decimal_point_are_a_number() {
    let (chat, _) = chat_on(&sample(), None).unwrap();
    let bad = changed(
        &chat,
        &[
            "Which orders have amount 240693.50?",
            "Is the return rate 0.240693 or more?",
        ],
    );
    assert!(bad.is_empty(), "{bad:#?}");
}

/// Six digits that are not a date: an order number, the digits after a
/// decimal point. The detector reads them as a signup day or a birth day of
/// the sample data and changes the question (the check's matcher does not
/// read digits after a point as a date).
#[test]
#[ignore = "finding (medium, false positive): six-digit numbers are read as known dates: `order 161222` -> `order 2022-12`; an example asking about order 161222 is refused (`0.240693` and `240693.50` are numbers since)"]
fn finding_six_digit_numbers_read_as_dates() {
    let (chat, _) = chat_on(&sample(), None).unwrap();
    let mut bad = changed(&chat, &["What did order 161222 contain?"]);
    if chat_on(
        &sample(),
        Some(&example("What did order 161222 contain?", "ok", COUNT)),
    )
    .is_err()
    {
        bad.push("the example `What did order 161222 contain?` is refused".into());
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

/// With one customer named Tom Rimmer (Cara Harger, Sam Hopper, Dana
/// Rivers), a product of the catalogue (`Beard Trimmer`, `USB-C Charger
/// 65W`) and ordinary words (`shopper`, `drivers`) become a person token,
/// and examples that say them are refused. At 10 M customers these
/// surnames are all there.
/// Was a finding (medium, false positive at size): initial+surname keys
/// turned words into people (`Beard Trimmer`, T Rimmer; `USB-C Charger
/// 65W`, C Harger; `shopper`, S Hopper; `drivers`, D Rivers). (Examples
/// saying them are still refused, by design: see below.)
#[test]
fn initial_forms_are_not_words() {
    let dir = data_with(&planted());
    let (chat, _) = chat_on(dir.path(), None).unwrap();
    let qs = [
        "How many Beard Trimmer units were sold?",
        "Revenue of the USB-C Charger 65W?",
        "How many orders per shopper?",
        "Which drivers delivered the most orders?",
    ];
    let bad = changed(&chat, &qs);
    assert!(bad.is_empty(), "{bad:#?}");
}

/// The example check looks for an initial and surname run together
/// (`ljohnson`), so an example that says such a word is refused, loudly:
/// by design (a name in every prompt that retrieves the example is not
/// loud).
#[test]
#[ignore = "finding (low, by design): examples saying `shopper`, `drivers`, `Beard Trimmer` are refused where S. Hopper, D. Rivers, T. Rimmer are customers"]
fn finding_examples_with_words_that_are_initial_forms() {
    let dir = data_with(&planted());
    let mut bad = Vec::new();
    for q in [
        "How many Beard Trimmer units were sold?",
        "How many orders per shopper?",
        "Which drivers delivered the most orders?",
    ] {
        if let Err(e) = chat_on(dir.path(), Some(&example(q, "ok", COUNT))) {
            bad.push(format!("example {q:?} refused: {e}"));
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

/// Numbers an example check refuses because a customer number's digits
/// (six) or a phone's last seven digits equal them. The detector needs a
/// separator for a phone's local part and never reads a customer number's
/// bare digits; the example check needs neither. With customer numbers
/// CUST-nnnnnn, 10 M customers use every six-digit number; with 10 M phones
/// most seven-digit locals are someone's; round incomes (100000) are some
/// customer's.
/// Was a finding (medium, false refusal at size): an example saying
/// `150000` (a customer number's digits), `2500000` (a phone's last 7
/// digits) or `100000` (someone's income) was refused; the detector turned
/// `200-5000` into a phone.
#[test]
fn plain_numbers_are_not_refused_at_size() {
    let dir = data_with(&planted());
    let mut bad = Vec::new();
    for q in [
        "How many orders are above 150000 dollars in total?",
        "Which months had revenue above 2500000?",
        "How many customers earn more than 100000 a year?",
    ] {
        if let Err(e) = chat_on(dir.path(), Some(&example(q, "ok", COUNT))) {
            bad.push(format!("example {q:?} refused: {e}"));
        }
    }
    let (chat, _) = chat_on(dir.path(), None).unwrap();
    bad.extend(changed(&chat, &["How many orders had amounts 200-5000?"]));
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
#[ignore = "finding (low): ø and ł written as o and l (Soren Jorgensen, Michal Walesa) pass the detector and the check (ß as ss and ø as oe are found)"]
fn finding_more_transliterations() {
    let dir = data_with(&planted());
    let (chat, _) = chat_on(dir.path(), None).unwrap();
    let probes = [
        ("What did Soren Jorgensen order?", "Jorgensen"),
        ("What did Michal Walesa order?", "Walesa"),
        ("What did Anna Strauss order?", "Strauss"),
        ("What did Soeren Joergensen order?", "Joergensen"),
    ];
    let passed: Vec<&str> = probes
        .iter()
        .filter(|(q, n)| chat.scrub(q).unwrap().contains(n))
        .map(|(q, _)| *q)
        .collect();
    // What passed the detector and the check too.
    let mut bad = Vec::new();
    for (q, r) in passed.iter().zip(reported(dir.path(), &passed)) {
        println!("CHECK {q:?}: {r}");
        if !r {
            bad.push(format!("{q:?} passes the detector and the check"));
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
#[ignore = "finding (low): a CJK date with a two-digit year (93年6月24日) passes the detector (the check reports it); a Japanese era date (平成5年6月24日) and seven digits (1993624, 6241993) pass both"]
fn finding_more_date_spellings() {
    let (chat, _) = chat_on(&sample(), None).unwrap();
    let probes = [
        ("Who was born 93\u{5E74}6\u{6708}24\u{65E5}?", "24"),
        (
            "Who was born \u{5E73}\u{6210}5\u{5E74}6\u{6708}24\u{65E5}?",
            "24",
        ),
        ("Who was born 1993624?", "1993624"),
        ("Who was born 6241993?", "6241993"),
    ];
    let p = passing(&chat, &probes);
    let qs: Vec<&str> = probes.iter().map(|(q, _)| *q).collect();
    for (q, r) in qs.iter().zip(reported(&sample(), &qs)) {
        println!("CHECK {q:?}: {r}");
    }
    assert!(p.is_empty(), "{p:#?}");
}

/// A tiny deterministic generator for the synthetic data.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn day(from: chrono::NaiveDate, n: u64) -> String {
    (from + chrono::Days::new(n)).format("%Y-%m-%d").to_string()
}

/// At 100 k customers (birth days over 1940–2005, signup days over
/// 2018–2024: every day is someone's), the share of six-digit order
/// numbers the detector changes in `What did order N contain?`.
#[test]
#[ignore = "finding (medium, false positive at size): at 100 k customers the detector reads about 1 in 20 six-digit order numbers as a date (15 of 300: `order 240606` -> `order 2024-06`, `order 830402` -> `order 1983`)"]
fn finding_six_digit_numbers_at_size() {
    let mut g = Lcg(16);
    let first = ["Ann", "Ben", "Cho", "Dev", "Eva", "Finn", "Gus", "Hana"];
    let last = [
        "Alder", "Birch", "Cedar", "Dogwood", "Elm", "Fir", "Hazel", "Larch",
    ];
    let d0 = chrono::NaiveDate::from_ymd_opt(1940, 1, 1).unwrap();
    let s0 = chrono::NaiveDate::from_ymd_opt(2018, 1, 1).unwrap();
    let rows: Vec<String> = (0..100_000u64)
        .map(|i| {
            let name = format!(
                "{} {}{}",
                first[g.next(8) as usize],
                last[g.next(8) as usize],
                i
            );
            let phone = format!(
                "({}) {}-{:04}",
                200 + g.next(800),
                200 + g.next(800),
                g.next(10_000)
            );
            row(
                10_000 + i,
                &name,
                &phone,
                &day(d0, g.next(24_100)),
                &day(s0, g.next(2_555)),
                100_000 + i,
            )
        })
        .collect();
    let dir = data_with(&rows);
    let (chat, _) = chat_on(dir.path(), None).unwrap();
    let mut changed_n = 0;
    let mut examples = Vec::new();
    let n = 300;
    for _ in 0..n {
        let id = 100_000 + g.next(900_000);
        let q = format!("What did order {id} contain?");
        let s = chat.scrub(&q).unwrap();
        if s != q {
            changed_n += 1;
            if examples.len() < 5 {
                examples.push(format!("{q:?} -> {s:?}"));
            }
        }
    }
    println!("changed {changed_n} of {n} six-digit order numbers: {examples:#?}");
    assert_eq!(changed_n, 0, "{changed_n} of {n} changed: {examples:#?}");
}
