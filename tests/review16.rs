//! Adversarial review of issue 16 (known-value forms, known dates, the eval
//! privacy check): a customer's protected value written as users write it,
//! asked through `Chat::ask` under the eval harness with a recording model.
//! Each probe checks (a) whether the value reached the model's requests and
//! (b) whether the eval privacy check reported it. Findings that break the
//! claim are `#[ignore = "finding: …"]`.

use std::sync::Arc;

use sqlveil::eval::{self, EvalOptions, QuestionSet, RecordingModel, Report};
use sqlveil::llm::ScriptedModel;
use sqlveil::tokens::MemoryVault;
use sqlveil::{Chat, MasterKey, PolarsEngine, Policy};

use crate::util::root;

const KEY: [u8; 32] = [
    30, 105, 183, 17, 251, 5, 178, 230, 82, 231, 251, 53, 244, 129, 253, 255, 0, 67, 157, 215, 184,
    188, 164, 41, 18, 60, 162, 91, 211, 121, 117, 31,
];

/// What happened to one probe: whether `needle` reached the model, and
/// whether the eval check reported something for that question
/// (unreviewed findings).
struct Probe {
    seen: bool,
    reported: bool,
    texts: String,
}

/// Runs each `(question, needle, reviewed columns)` through `Chat::ask` in
/// an eval run with a recording model (known values built from the data).
fn run(probes: &[(&str, &str, &[&str])]) -> (Vec<Probe>, Report) {
    let mut toml = String::new();
    for (i, (q, _, rev)) in probes.iter().enumerate() {
        toml.push_str(&format!(
            "[[question]]\nid = \"p{i}\"\nquestion = {}\ngold = \"SELECT COUNT(*) AS n FROM customers\"\nprivacy_reviewed = {}\n",
            serde_json::to_string(q).unwrap(),
            serde_json::to_string(rev).unwrap(),
        ));
    }
    let set = QuestionSet::from_toml_str(&toml).unwrap();
    let model = Arc::new(ScriptedModel::cycle([
        "```sql\nSELECT COUNT(*) AS n FROM customers\n```",
    ]));
    let seen = Arc::new(RecordingModel::new(model));
    let policy = Policy::from_path(root().join("rules/sample.toml")).unwrap();
    let engine = Arc::new(PolarsEngine::open(root().join("examples/data"), &policy).unwrap());
    let chat = Chat::builder(policy, engine, seen.clone(), MasterKey::from_bytes(&KEY))
        .vault(Arc::new(MemoryVault::new()))
        .write_answer(false)
        .build()
        .unwrap();
    let mut out = Vec::new();
    let r = eval::run(&chat, &set, &seen, &EvalOptions::default()).unwrap();
    let reqs = seen.requests();
    for (i, (q, needle, _)) in probes.iter().enumerate() {
        // What the model saw of the question: its scrubbed text, which must
        // be in some request (checked), so `seen` looks at the question only
        // (the schema in the system prompt holds digits and words too).
        let scrubbed = chat.scrub(q).unwrap();
        let mut texts = String::new();
        for rq in &reqs {
            if rq.texts().any(|t| t.contains(scrubbed.as_str())) {
                for t in rq.texts() {
                    texts.push_str(t);
                    texts.push('\n');
                }
            }
        }
        assert!(
            !texts.is_empty(),
            "no request for {q:?} (scrubbed {scrubbed:?})"
        );
        let id = format!("p{i}");
        out.push(Probe {
            seen: scrubbed.contains(needle),
            reported: r
                .privacy
                .leaks
                .iter()
                .any(|l| l.question.as_deref() == Some(id.as_str()) && !l.reviewed),
            texts: scrubbed,
        });
    }
    (out, r)
}

fn assert_hidden(probes: &[(&str, &str)]) {
    let p: Vec<(&str, &str, &[&str])> = probes.iter().map(|(q, n)| (*q, *n, &[][..])).collect();
    let (res, _) = run(&p);
    let mut bad = Vec::new();
    for ((q, n), r) in probes.iter().zip(&res) {
        println!(
            "{q:?} -> model saw {:?} (check reported: {})",
            r.texts, r.reported
        );
        if r.seen {
            bad.push(format!(
                "{q:?}: {n:?} reached the model as {:?}; eval check reported it: {}",
                r.texts, r.reported
            ));
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

fn assert_reported(probes: &[(&str, &str)]) {
    let p: Vec<(&str, &str, &[&str])> = probes.iter().map(|(q, n)| (*q, *n, &[][..])).collect();
    let (res, _) = run(&p);
    let mut bad = Vec::new();
    for ((q, n), r) in probes.iter().zip(&res) {
        if r.seen && !r.reported {
            bad.push(format!(
                "{q:?}: {n:?} reached the model as {:?} and the eval check did not report it",
                r.texts
            ));
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

// ---------------------------------------------------------------- held

#[test]
fn held_names_in_many_forms() {
    assert_hidden(&[
        ("What did Liam Johnson order?", "Johnson"),
        ("What did Johnson, Liam order?", "Johnson"),
        ("What did Liam Johnson's orders total?", "Johnson"),
        ("What did Liam Johnson\u{2019}s orders total?", "Johnson"),
        ("What did LIAM JOHNSON order?", "JOHNSON"),
        ("What did L\u{0456}am Johnson order?", "Johnson"),
        ("What did Li\u{200B}am John\u{200B}son order?", "John"),
        ("What did Liam\u{00AD}Johnson order?", "Johnson"),
        ("What did Liam\nJohnson order?", "Johnson"),
        ("See https://crm.example.com/customers/liam-johnson/orders", "johnson"),
        ("Tag #LiamJohnson and @liamjohnson and @liam_johnson", "ohnson"),
        ("What did Zoe Hall order?", "Hall"),
        ("What did Jose Martin order?", "Martin"),
        ("What did Sarah O\u{2019}Brien order?", "Brien"),
        ("Liam Johnson-Garcia ordered", "Johnson"),
        ("\u{FF2C}\u{FF49}\u{FF41}\u{FF4D} \u{FF2A}\u{FF4F}\u{FF48}\u{FF4E}\u{FF53}\u{FF4F}\u{FF4E} ordered", "\u{FF2A}\u{FF4F}"),
        ("Dr Liam Johnson MD ordered", "Johnson"),
    ]);
}

#[test]
fn held_dates_in_many_forms() {
    assert_hidden(&[
        ("Who was born 1993-06-24?", "06"),
        ("Who was born 24/06/1993?", "24/06"),
        ("Who was born 24.06.1993?", "24.06"),
        ("Who was born 19930624?", "0624"),
        ("Who was born 24 Jun 1993?", "Jun"),
        ("Who was born June 24th, 1993?", "June"),
        ("Who was born Thu 24 Jun 1993?", "Jun"),
        ("Who was born 1993-06-24 00:00:00?", "06"),
        ("Who was born Jun 24 '93?", "Jun"),
        ("Who was born 6/24/93?", "6/24"),
        ("Who was born 24061993?", "2406"),
        (
            "Who was born \u{FF12}\u{FF14}/\u{FF10}\u{FF16}/\u{FF11}\u{FF19}\u{FF19}\u{FF13}?",
            "\u{FF12}\u{FF14}",
        ),
        ("Who was born 24Jun1993?", "Jun"),
    ]);
}

#[test]
fn held_numbers_and_contacts() {
    assert_hidden(&[
        ("Whose SSN is 213 67 8559?", "8559"),
        ("Whose SSN is 213.67.8559?", "8559"),
        ("Whose SSN is 213-67-\n8559?", "8559"),
        ("Whose card is 4613.6712.1149.0486?", "4613"),
        ("Whose card is 4613 67121 1490486?", "4613"),
        ("Whose phone is 512.555.0151?", "0151"),
        ("Whose phone is +15125550151?", "0151"),
        ("Who is CUST 686571?", "686571"),
        ("Who is CUST-686-571?", "571"),
        ("Mail liam.johnson(at)hotmail.com please", "johnson"),
        ("Mail liam.johnson [at] hotmail [dot] com please", "johnson"),
    ]);
}

// ---------------------------------------------------------------- findings

/// Was a finding (critical): a birth date as 24-Jun-93 / 24-JUN-1993 /
/// 1993-Jun-24 / 24/Jun/1993 / Jun-24-1993 reached the model unchanged.
#[test]
fn finding_dd_mon_yy_dates() {
    assert_hidden(&[
        ("Who was born 24-Jun-93?", "24-Jun-93"),
        ("Who was born 24-JUN-1993?", "24-JUN-1993"),
        ("Who was born 1993-Jun-24?", "1993-Jun-24"),
        ("Liam Johnson born 24-Jun-93", "24-Jun-93"),
        ("Who was born 24/Jun/1993?", "24/Jun/1993"),
        ("Who was born Jun-24-1993?", "Jun-24-1993"),
    ]);
}

/// Was a finding (critical): a birth date as an ISO timestamp
/// 1993-06-24T00:00 reached the model unchanged.
#[test]
fn finding_iso_timestamps() {
    assert_hidden(&[
        ("Who was born 1993-06-24T00:00?", "1993-06-24"),
        ("Who was born 1993-06-24T00:00:00Z?", "1993-06-24"),
    ]);
}

#[test]
#[ignore = "finding (low): ISO week date, ordinal date and Excel serial of a birth date reach the model"]
fn finding_exotic_dates() {
    assert_hidden(&[
        ("Who was born 1993-W25-4?", "W25-4"),
        ("Who was born 1993-175?", "1993-175"),
        ("Who was born on day 34144 (Excel)?", "34144"),
    ]);
}

/// Was a finding (medium): initial and surname joined reached the model.
/// Run together in one case (`ljohnson`) they still do, by design: see
/// `finding_usernames`.
#[test]
fn usernames_of_initial_and_surname() {
    assert_hidden(&[
        ("What did LJohnson order?", "LJohnson"),
        ("What did l.johnson order?", "l.johnson"),
        ("What did L. Johnson order?", "Johnson"),
    ]);
}

#[test]
#[ignore = "finding (medium): initial and surname in one case (ljohnson; by design, as `shopper` is S. Hopper's at size), name + digits (liamjohnson93) and name + initial (liam_j) reach the model; the eval check reports the first two"]
fn finding_usernames() {
    assert_hidden(&[
        ("What did ljohnson order?", "ljohnson"),
        ("What did liamjohnson93 order?", "liamjohnson"),
        ("What did liam_j order?", "liam_j"),
    ]);
}

/// Was a finding (medium): transliterations of umlauts and apostrophes
/// left the surname for the model.
#[test]
fn transliterations_and_apostrophes() {
    assert_hidden(&[
        ("What did Priya Mueller order?", "Mueller"),
        ("What did Sarah OBrien order?", "OBrien"),
        ("What did Sarah O Brien order?", "O Brien"),
        ("What did Sarah Obrien order?", "Obrien"),
    ]);
}

/// A phone's local part reaches the model: by design since the second
/// review (at real sizes every `NNN-NNNN`, a range such as `200-5000`, is
/// some phone's). The eval check reports it. (The phone's mask in the
/// sample rules shows its last four digits, so those are not the needle.)
#[test]
#[ignore = "finding (medium, by design): a phone's last seven digits alone (555-0151) reach the model; the eval check reports them"]
fn a_phone_by_its_local_part() {
    assert_hidden(&[
        ("Who has phone 555-0151?", "555-0151"),
        ("Whose phone is five one two 555 0151?", "555 0151"),
        ("Who has phone 555.0151?", "555.0151"),
    ]);
}

#[test]
#[ignore = "finding (medium): a customer number's bare digits (686571) and an SSN in words reach the model"]
fn finding_bare_numbers() {
    assert_hidden(&[
        ("Who is customer 686571?", "686571"),
        (
            "Whose SSN is two one three six seven eight five five nine?",
            "five five nine",
        ),
    ]);
}

#[test]
#[ignore = "finding (low): an obfuscated email leaves its first part: `liam dot <email_…>`"]
fn finding_obfuscated_email() {
    assert_hidden(&[(
        "Mail liam dot johnson at hotmail dot com please",
        "liam dot",
    )]);
}

#[test]
#[ignore = "finding (low): one-letter typos of a surname (documented limit) leave it for the model"]
fn finding_typos() {
    assert_hidden(&[
        ("What did Liam Jonhson order?", "Jonhson"),
        ("What did Liam Johnsen order?", "Johnsen"),
        ("What did Liam Jhonson order?", "Jhonson"),
    ]);
}

// The eval check on what passed the detector.
#[test]
fn check_reports_what_passed_held() {
    assert_reported(&[
        ("Who was born 24-Jun-93?", "24-Jun-93"),
        ("Who was born 24-JUN-1993?", "24-JUN-1993"),
        ("Who was born 1993-06-24T00:00?", "1993-06-24"),
        ("What did liamjohnson93 order?", "liamjohnson"),
        ("Who is customer 686571?", "686571"),
        (
            "Mail liam dot johnson at hotmail dot com please",
            "liam dot",
        ),
    ]);
}

/// Was a finding (medium): the check did not report these either.
#[test]
fn check_reports_usernames_transliterations_and_partial_phones() {
    assert_reported(&[
        ("What did ljohnson order?", "ljohnson"),
        ("What did LJohnson order?", "LJohnson"),
        ("What did Priya Mueller order?", "Mueller"),
        ("What did Sarah OBrien order?", "OBrien"),
        ("What did Sarah Obrien order?", "Obrien"),
        ("Who has phone 555-0151?", "555-0151"),
        ("Who was born 240693?", "240693"),
        ("Who was born 062493?", "062493"),
        ("Who was born 1993\u{5E74}6\u{6708}24\u{65E5}?", "24"),
    ]);
}

#[test]
#[ignore = "finding (low): the eval privacy check does not report typos, spelled-out digits, ISO week/ordinal/serial dates"]
fn finding_check_misses() {
    assert_reported(&[
        ("What did Liam Jonhson order?", "Jonhson"),
        (
            "Whose SSN is two one three six seven eight five five nine?",
            "five five nine",
        ),
        ("Who was born 1993-W25-4?", "W25-4"),
        ("Who was born 1993-175?", "1993-175"),
    ]);
}

/// What the check reports for one question, under review marks chosen by
/// `pick` from the unreviewed run's fingerprints: (column, reviewed).
fn leaks_under_review(q: &str, pick: impl Fn(&[String]) -> Vec<String>) -> Vec<(String, bool)> {
    let (_, first) = run(&[(q, "", &[])]);
    let prints: Vec<String> = first
        .privacy
        .leaks
        .iter()
        .map(|l| l.fingerprint.clone())
        .collect();
    let marks = pick(&prints);
    let marks: Vec<&str> = marks.iter().map(String::as_str).collect();
    let (_, r) = run(&[(q, "", &marks)]);
    r.privacy
        .leaks
        .iter()
        .map(|l| (l.column.clone(), l.reviewed))
        .collect()
}

#[test]
fn review_of_another_column_does_not_hide_a_birth_date() {
    let l = leaks_under_review(
        // A form the detector still misses (24-Jun-93 was one until the
        // review's fix), so that it reaches the model and the check.
        "Who was born June the 24th 1993?",
        |_| {
            vec![
                "customers.zip#00000000".into(),
                "customers.signup_date#00000000".into(),
            ]
        },
    );
    println!("{l:?}");
    assert!(l.iter().any(|(_, rev)| !rev), "{l:?}");
}

/// Was a finding (medium): `privacy_reviewed` named a column, so reviewing
/// one chance match of customers.date_of_birth hid every other customer's
/// birth date in the same question. A mark now names one finding.
#[test]
fn review_of_one_value_does_not_hide_another_of_the_column() {
    // 1993-06-24 is Liam Johnson's, 1976-06-27 Richard Jones's, in a form
    // the detector misses, so both reach the model and the check.
    let q = "Compare the customer born June the 24th 1993 with the one born June the 27th 1976";
    let l = leaks_under_review(q, |prints| {
        assert!(prints.len() >= 2, "{prints:?}");
        vec![prints[0].clone()]
    });
    println!("{l:?}");
    assert!(l.iter().any(|(_, rev)| *rev), "{l:?}");
    assert!(
        l.iter().any(|(_, rev)| !rev),
        "every finding hidden by one review: {l:?}"
    );
}

#[test]
#[ignore = "finding (false positive): ordinary words and places that are name parts are replaced by person tokens; a range bound that is a signup day becomes a month"]
fn finding_false_positives() {
    let ordinary = [
        "Mark all returned orders from Seattle",
        "Green products sold in King County?",
        "Show orders from Young customers under 30",
        "How many White Label products were sold?",
        "Orders shipped to San Jose last month",
        "Thomas the Tank Engine toys sold?",
        "Orders between 2024-01-07 and 2024-02-01",
    ];
    let p: Vec<(&str, &str, &[&str])> = ordinary.iter().map(|q| (*q, "", &[][..])).collect();
    let (res, _) = run(&p);
    let mut changed = Vec::new();
    for (q, r) in ordinary.iter().zip(&res) {
        if r.texts != *q {
            changed.push(format!("{q:?} -> {:?}", r.texts));
        }
    }
    assert!(changed.is_empty(), "{changed:#?}");
}

/// Was a finding (medium): six-digit and CJK dates reached the model.
#[test]
fn six_digit_and_cjk_dates() {
    assert_hidden(&[
        ("Who was born 240693?", "240693"),
        ("Who was born 062493?", "062493"),
        ("Who was born 1993\u{5E74}6\u{6708}24\u{65E5}?", "24"),
        (
            "\u{8C01}1993\u{5E74}6\u{6708}24\u{65E5}\u{51FA}\u{751F}?",
            "24",
        ),
    ]);
}

#[test]
#[ignore = "finding (medium): `June the 24th 1993` reaches the model"]
fn finding_more_date_forms() {
    assert_hidden(&[("Who was born June the 24th 1993?", "24th")]);
}

#[test]
#[ignore = "finding (medium): an email with spaces around its dots and @, and an email's local part alone (w.martin9), reach the model"]
fn finding_spaced_email_and_local_part() {
    assert_hidden(&[
        ("Mail liam . johnson @ hotmail . com please", "johnson"),
        ("What did w.martin9 order?", "martin9"),
        ("What did wmartin9 order?", "wmartin9"),
    ]);
}

#[test]
#[ignore = "finding (low): a name in another script (Cyrillic transliteration) and a plural surname reach the model"]
fn finding_scripts_and_plurals() {
    assert_hidden(&[
        ("What did \u{041B}\u{0438}\u{0430}\u{043C} \u{0414}\u{0436}\u{043E}\u{043D}\u{0441}\u{043E}\u{043D} order?", "\u{0414}\u{0436}"),
        ("What did the Johnsons order?", "Johnsons"),
    ]);
}

#[test]
fn check_on_more_forms() {
    // Which of these the eval check reports (printed; only the first two are
    // asserted, the rest recorded in the report).
    // The first two still pass the detector (24/Jun/1993 and Jun-24-1993
    // were here until the review's fix made the detector replace them).
    let probes: &[(&str, &str)] = &[
        ("What did w.martin9 order?", "martin9"),
        ("Who was born June the 24th 1993?", "24th"),
        ("Mail liam . johnson @ hotmail . com please", "johnson"),
        ("Who was born 24/Jun/1993?", "24/Jun/1993"),
        ("Who was born Jun-24-1993?", "Jun-24-1993"),
        ("Who was born 240693?", "240693"),
        ("Who was born 1993\u{5E74}6\u{6708}24\u{65E5}?", "24"),
    ];
    let p: Vec<(&str, &str, &[&str])> = probes.iter().map(|(q, n)| (*q, *n, &[][..])).collect();
    let (res, _) = run(&p);
    for ((q, _), r) in probes.iter().zip(&res) {
        println!(
            "CHECK {q:?} -> model saw {:?}; reported {}",
            r.texts, r.reported
        );
    }
    assert!(res[0].reported && res[1].reported);
}

fn build_with_example(toml: &str) -> Result<Chat, sqlveil::Error> {
    let examples = sqlveil::chat::ExampleSet::from_toml_str(toml)?;
    let model = Arc::new(ScriptedModel::cycle(["SELECT 1"]));
    let policy = Policy::from_path(root().join("rules/sample.toml")).unwrap();
    let engine = Arc::new(PolarsEngine::open(root().join("examples/data"), &policy).unwrap());
    Chat::builder(policy, engine, model, MasterKey::from_bytes(&KEY))
        .vault(Arc::new(MemoryVault::new()))
        .examples(examples)
        .build()
}

fn example(question: &str, notes: &str) -> String {
    format!(
        "[[examples]]\nname = \"x\"\nquestion = {}\nsql = \"SELECT COUNT(*) AS n FROM customers\"\nnotes = {}\n",
        serde_json::to_string(question).unwrap(),
        serde_json::to_string(notes).unwrap()
    )
}

#[test]
fn examples_refuse_values_the_detector_knows() {
    for (q, n) in [
        ("How many orders has liam_johnson placed?", "ok"),
        ("How many orders?", "Asked by Liam Johnson on 1993-06-24"),
        ("Who was born 24.06.1993?", "ok"),
    ] {
        assert!(
            build_with_example(&example(q, n)).is_err(),
            "{q:?} / {n:?} accepted"
        );
    }
}

/// Was part of the finding below: example texts holding 24-Jun-93 or
/// 1993-06-24T00:00 were accepted.
#[test]
fn examples_refuse_month_name_and_timestamp_dates() {
    for q in [
        "How many customers were born 24-Jun-93?",
        "How many customers were born 1993-06-24T00:00?",
    ] {
        assert!(build_with_example(&example(q, "ok")).is_err(), "{q}");
    }
}

/// Was a finding (critical, the detector's gap): example texts holding
/// `ljohnson` or `liam . johnson @ hotmail . com` were accepted. The
/// independent check now reads examples too.
#[test]
fn examples_refuse_forms_only_the_check_finds() {
    let mut accepted = Vec::new();
    for (q, n) in [
        ("How many orders has L.Johnson placed?", "ok"),
        ("How many orders has ljohnson placed?", "ok"),
        ("How many orders?", "from liam . johnson @ hotmail . com"),
        ("How many orders has Priya Mueller placed?", "ok"),
        ("Who was born 240693?", "ok"),
        ("How many orders?", "call 512 555 0151"),
    ] {
        if build_with_example(&example(q, n)).is_ok() {
            accepted.push(format!("{q:?} / {n:?}"));
        }
    }
    assert!(accepted.is_empty(), "{accepted:#?}");
}

#[test]
#[ignore = "finding (medium): a percent-encoded space in a URL (Liam%20Johnson) leaves the surname, a unique surname in lower case (wolstenholme, cromusshaw) passes, an HTML entity (Zo&euml;) and digits for letters (L1am J0hnson) pass"]
fn finding_encodings_and_lowercase_parts() {
    assert_hidden(&[
        (
            "Open https://crm.example.com/search?q=Liam%20Johnson",
            "Johnson",
        ),
        ("What did wolstenholme order?", "wolstenholme"),
        ("What did cromusshaw order?", "cromusshaw"),
        ("What did Zo&euml; Hall order?", "Zo&euml;"),
        ("What did L1am J0hnson order?", "J0hnson"),
    ]);
}
