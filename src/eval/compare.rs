//! Two runs side by side, question by question.

use serde::{Deserialize, Serialize};

use super::{Outcome, Report};

/// One question in two runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QuestionDiff {
    /// The question's id.
    pub id: String,
    /// Its outcome in the first run (`None`: not in it).
    pub a: Option<Outcome>,
    /// Its outcome in the second run.
    pub b: Option<Outcome>,
    /// Model calls in each run.
    pub calls: (Option<u32>, Option<u32>),
    /// Tokens in each run.
    pub tokens: (Option<u64>, Option<u64>),
}

impl QuestionDiff {
    /// Whether the outcome changed from right to wrong (or went missing).
    pub fn regressed(&self) -> bool {
        self.a.is_some_and(Outcome::correct) && !self.b.is_some_and(Outcome::correct)
    }

    /// Whether the outcome changed from wrong to right.
    pub fn improved(&self) -> bool {
        !self.a.is_some_and(Outcome::correct) && self.b.is_some_and(Outcome::correct)
    }
}

/// Two reports compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Comparison {
    /// Per question, in the first run's order, then questions only the
    /// second run has.
    pub questions: Vec<QuestionDiff>,
    /// Right outcomes in each run.
    pub correct: (usize, usize),
    /// Privacy findings in each run.
    pub leaks: (usize, usize),
}

/// Compares two runs question by question.
///
/// # Example
/// ```no_run
/// let a: sqlveil::eval::Report = serde_json::from_str(&std::fs::read_to_string("a.json")?)?;
/// let b: sqlveil::eval::Report = serde_json::from_str(&std::fs::read_to_string("b.json")?)?;
/// print!("{}", sqlveil::eval::compare(&a, &b).table());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn compare(a: &Report, b: &Report) -> Comparison {
    let mut questions = Vec::new();
    for qa in &a.questions {
        let qb = b.questions.iter().find(|q| q.id == qa.id);
        questions.push(QuestionDiff {
            id: qa.id.clone(),
            a: Some(qa.outcome),
            b: qb.map(|q| q.outcome),
            calls: (Some(qa.model_calls), qb.map(|q| q.model_calls)),
            tokens: (
                Some(qa.prompt_tokens + qa.completion_tokens),
                qb.map(|q| q.prompt_tokens + q.completion_tokens),
            ),
        });
    }
    for qb in &b.questions {
        if !a.questions.iter().any(|q| q.id == qb.id) {
            questions.push(QuestionDiff {
                id: qb.id.clone(),
                a: None,
                b: Some(qb.outcome),
                calls: (None, Some(qb.model_calls)),
                tokens: (None, Some(qb.prompt_tokens + qb.completion_tokens)),
            });
        }
    }
    Comparison {
        questions,
        correct: (a.summary.correct, b.summary.correct),
        leaks: (a.privacy.leaks.len(), b.privacy.leaks.len()),
    }
}

impl Comparison {
    /// A text table: every question, its outcome in each run, and a mark
    /// where it got better (`+`) or worse (`-`).
    pub fn table(&self) -> String {
        let tag = |o: Option<Outcome>| o.map_or("-", Outcome::as_tag);
        let num = |o: Option<u64>| o.map_or("-".to_string(), |n| n.to_string());
        let mut out = format!(
            "  {:<28} {:<20} {:<20} {:>11} {:>15}\n",
            "question", "A", "B", "calls A/B", "tokens A/B"
        );
        for q in &self.questions {
            let mark = if q.regressed() {
                '-'
            } else if q.improved() {
                '+'
            } else {
                ' '
            };
            out.push_str(&format!(
                "{mark} {:<28} {:<20} {:<20} {:>11} {:>15}\n",
                q.id,
                tag(q.a),
                tag(q.b),
                format!(
                    "{}/{}",
                    num(q.calls.0.map(u64::from)),
                    num(q.calls.1.map(u64::from))
                ),
                format!("{}/{}", num(q.tokens.0), num(q.tokens.1)),
            ));
        }
        let better = self.questions.iter().filter(|q| q.improved()).count();
        let worse = self.questions.iter().filter(|q| q.regressed()).count();
        out.push_str(&format!(
            "\nright: A {} B {}; {better} better, {worse} worse; privacy findings: A {} B {}\n",
            self.correct.0, self.correct.1, self.leaks.0, self.leaks.1
        ));
        out
    }
}
