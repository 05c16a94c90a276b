//! The prompts a model receives: the schema it may see, within a budget.
//!
//! The schema lists only columns that are not `deny`, with their types, the
//! tables' and columns' descriptions and how each column is shown. When it
//! is larger than the token budget, the tables and columns most relevant to
//! the question are kept (words shared with names and descriptions), with the
//! join keys between the tables kept.
//!
//! The texts themselves live in `src/chat/prompts/*.vN.txt`, so that a change
//! of wording is a visible change of file (and of [`PROMPT_VERSION`], which
//! keys the SQL cache).

use std::collections::{BTreeMap, BTreeSet};

use crate::guard::Guard;
use crate::llm::estimate_tokens;
use crate::rules::{Action, ColumnPolicy, Filter, Generalization, MaskKind, Policy};
use crate::tokens::Tokens;

/// The version of the prompt texts; part of the SQL cache's key.
pub const PROMPT_VERSION: &str = "v2";

pub(crate) const SQL_PROMPT: &str = include_str!("prompts/sql.v2.txt");
pub(crate) const ANSWER_PROMPT: &str = include_str!("prompts/answer.v1.txt");
pub(crate) const REPAIR_PROMPT: &str = include_str!("prompts/repair.v1.txt");

/// One column's line of the schema.
#[derive(Debug, Clone)]
struct ColumnLine {
    name: String,
    text: String,
    words: BTreeSet<String>,
}

/// One table of the schema, rendered once when the pipeline is built.
#[derive(Debug, Clone)]
struct TableBlock {
    header: String,
    words: BTreeSet<String>,
    subject: Option<String>,
    columns: Vec<ColumnLine>,
}

/// The schema a model may see, ready to be cut to a question's budget.
#[derive(Debug, Clone)]
pub(crate) struct Schema {
    tables: Vec<TableBlock>,
}

/// Lowercase words of a text, split on anything but letters and digits
/// (so `customer_id` gives `customer` and `id`), with a plural `s` dropped.
fn words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 2)
        .map(|w| {
            let w = w.to_lowercase();
            match w.strip_suffix('s') {
                Some(stem) if stem.len() >= 3 && !stem.ends_with('s') => stem.to_string(),
                _ => w,
            }
        })
        .collect()
}

/// Words too common in questions to say anything about relevance.
const STOP: &[&str] = &[
    "the", "of", "and", "or", "in", "on", "by", "for", "to", "from", "with", "what", "which",
    "who", "how", "many", "much", "is", "are", "was", "were", "per", "each", "all", "an", "at",
    "me", "show", "list", "give", "do", "does", "did", "have", "ha", "their", "there", "that",
    "thi", "it", "as", "one", "row", "id",
];

/// How a column is shown to the model, in words.
pub(crate) fn shown_as(p: &ColumnPolicy) -> String {
    let shown = match &p.action {
        Action::Allow => "shown as is".to_string(),
        Action::Deny => "never shown".to_string(),
        Action::Tokenize { class } => format!("shown as a token <{class}_…>, never as its value"),
        Action::Mask(m) => match m.kind {
            MaskKind::Email => "masked: first letter and domain (j***@example.com)".to_string(),
            MaskKind::Last4 => "masked: only the last 4 characters shown".to_string(),
            MaskKind::First4 => "masked: only the first 4 characters shown".to_string(),
            MaskKind::Full => "masked entirely".to_string(),
            MaskKind::Hash => "shown as a keyed hash".to_string(),
        },
        Action::Generalize(g) => match g {
            Generalization::Year => "year only".to_string(),
            Generalization::Month => "year and month only (YYYY-MM)".to_string(),
            Generalization::Prefix(n) => format!("first {n} characters only"),
            Generalization::Bucket(n) => format!("rounded down to a multiple of {n}"),
            Generalization::Round(n) => format!("rounded to the nearest multiple of {n}"),
        },
        Action::Scan => "free text, with personal data replaced by tokens".to_string(),
        Action::Aggregate {
            functions,
            min_group_size,
        } => {
            let f: Vec<String> = functions
                .iter()
                .map(|f| f.as_tag().to_uppercase())
                .collect();
            format!(
                "aggregate only: {} over groups of at least {min_group_size} people",
                f.join(", ")
            )
        }
    };
    let filter = match (&p.action, p.filter) {
        (Action::Aggregate { .. }, _) => "",
        (_, Filter::Any) => "",
        (Action::Tokenize { .. }, _) | (_, Filter::Equality) => {
            "; WHERE/JOIN/GROUP BY by equality only (= or IN with tokens)"
        }
        (_, _) => "; not usable in WHERE, JOIN or ORDER BY",
    };
    format!("{shown}{filter}")
}

impl Schema {
    /// The schema a guard lets a model see, from the policy's descriptions.
    pub(crate) fn new(
        policy: &Policy,
        guard: &Guard,
        samples: &SampleValues,
        tokens: &Tokens,
    ) -> Schema {
        let mut tables = Vec::new();
        for t in policy.tables() {
            let visible = guard.visible_columns(&t.name);
            if visible.is_empty() {
                continue;
            }
            // Names and descriptions come from the rules and the data (a
            // file's column names): token look-alikes in them are made
            // harmless, so that the model is never shown a token it could
            // filter by or have revealed.
            let header = match &t.description {
                Some(d) => format!("TABLE {}: {}", t.name, one_line(d)),
                None => format!("TABLE {}", t.name),
            };
            let header = tokens.neutralize(&header).0.into_owned();
            let mut table_words = words(&t.name);
            if let Some(d) = &t.description {
                table_words.extend(words(d));
            }
            let columns = visible
                .into_iter()
                .map(|(name, p, ty)| {
                    let mut text = format!("  - {name} ({ty}): {}", shown_as(p));
                    if let Some(d) = &p.description {
                        text.push_str(". ");
                        text.push_str(&one_line(d));
                    }
                    let mut text = tokens.neutralize(&text).0.into_owned();
                    if let Some(values) = samples.get(&(t.name.clone(), name.to_string())) {
                        text.push_str(". Values include: ");
                        text.push_str(&values.join(", "));
                    }
                    let mut w = words(name);
                    if let Some(d) = &p.description {
                        w.extend(words(d));
                    }
                    ColumnLine {
                        name: name.to_string(),
                        text,
                        words: w,
                    }
                })
                .collect();
            tables.push(TableBlock {
                header,
                words: table_words,
                subject: t.subject.clone(),
                columns,
            });
        }
        Schema { tables }
    }

    /// The schema text for a question, within `budget` tokens when it can be.
    ///
    /// All of it when it fits. Otherwise tables are taken in order of
    /// relevance to the question, whole while they fit; the last one taken
    /// keeps its most relevant columns, its subject and the columns it shares
    /// a name with another chosen table (join keys). At least one table is
    /// always shown.
    pub(crate) fn render(&self, question: &str, budget: usize) -> String {
        let full: Vec<(usize, Vec<usize>)> = self
            .tables
            .iter()
            .enumerate()
            .map(|(i, t)| (i, (0..t.columns.len()).collect()))
            .collect();
        let text = self.text(&full);
        if estimate_tokens(&text) as usize <= budget {
            return text;
        }
        let q: BTreeSet<String> = words(question)
            .into_iter()
            .filter(|w| !STOP.contains(&w.as_str()))
            .collect();
        let score = |w: &BTreeSet<String>| w.intersection(&q).count();
        let mut order: Vec<(usize, usize)> = self
            .tables
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let s =
                    3 * score(&t.words) + t.columns.iter().map(|c| score(&c.words)).sum::<usize>();
                (i, s)
            })
            .collect();
        // Most relevant first; ties keep the rule file's order.
        order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut chosen: Vec<(usize, Vec<usize>)> = Vec::new();
        let mut used = 0usize;
        for (i, s) in order {
            if s == 0 && !chosen.is_empty() {
                break;
            }
            let t = &self.tables[i];
            let cost = estimate_tokens(&self.text(&[(i, (0..t.columns.len()).collect())])) as usize;
            if used + cost <= budget {
                used += cost;
                chosen.push((i, (0..t.columns.len()).collect()));
                continue;
            }
            // Partial table: join keys and subject first, then by relevance.
            let names: BTreeSet<&str> = chosen
                .iter()
                .flat_map(|(j, _)| self.tables[*j].columns.iter().map(|c| c.name.as_str()))
                .collect();
            let mut cols: Vec<(usize, usize)> = t
                .columns
                .iter()
                .enumerate()
                .map(|(k, c)| {
                    let key = names.contains(c.name.as_str())
                        || t.subject.as_deref() == Some(c.name.as_str());
                    (k, if key { usize::MAX } else { score(&c.words) })
                })
                .collect();
            cols.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let mut keep = Vec::new();
            for (k, _) in cols {
                let mut trial = keep.clone();
                trial.push(k);
                trial.sort_unstable();
                let c = estimate_tokens(&self.text(&[(i, trial.clone())])) as usize;
                if used + c <= budget || (chosen.is_empty() && keep.is_empty()) {
                    keep = trial;
                }
            }
            if !keep.is_empty() {
                chosen.push((i, keep));
            }
            break;
        }
        // Shown in the rule file's order.
        chosen.sort_by_key(|c| c.0);
        self.text(&chosen)
    }

    fn text(&self, parts: &[(usize, Vec<usize>)]) -> String {
        let mut out = String::new();
        for (i, cols) in parts {
            let Some(t) = self.tables.get(*i) else {
                continue;
            };
            out.push_str(&t.header);
            out.push('\n');
            for k in cols {
                if let Some(c) = t.columns.get(*k) {
                    out.push_str(&c.text);
                    out.push('\n');
                }
            }
            if cols.len() < t.columns.len() {
                out.push_str("  (other columns of this table are left out)\n");
            }
        }
        out
    }

    /// The headers of the tables the schema shows.
    #[cfg(test)]
    fn headers(&self) -> Vec<&str> {
        self.tables.iter().map(|t| t.header.as_str()).collect()
    }
}

/// Sample values of `allow` columns, already scanned: (table, column) → values.
pub(crate) type SampleValues = BTreeMap<(String, String), Vec<String>>;

pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Fills a template's `{name}` slots.
pub(crate) fn fill(template: &str, slots: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (k, v) in slots {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Catalog, CatalogColumn, CatalogTable, ColumnType};

    fn schema() -> Schema {
        let policy = Policy::from_toml_str(
            r#"
            version = 1
            [tables.people]
            description = "One row per person"
            subject = "person_id"
            [tables.people.columns]
            person_id = { action = "tokenize", class = "person" }
            ssn = { action = "deny" }
            city = { action = "allow" }
            [tables.visits]
            description = "Hospital visits"
            subject = "person_id"
            [tables.visits.columns]
            person_id = { action = "tokenize", class = "person" }
            ward = { action = "allow", description = "Ward name" }
            cost = { action = "aggregate", functions = ["sum"], min_group_size = 5 }
            "#,
        )
        .unwrap();
        let col = |n: &str, ty| CatalogColumn {
            name: n.to_string(),
            ty,
        };
        let catalog = Catalog::new(vec![
            CatalogTable {
                name: "people".into(),
                columns: vec![
                    col("person_id", ColumnType::Text),
                    col("ssn", ColumnType::Text),
                    col("city", ColumnType::Text),
                ],
            },
            CatalogTable {
                name: "visits".into(),
                columns: vec![
                    col("person_id", ColumnType::Text),
                    col("ward", ColumnType::Text),
                    col("cost", ColumnType::Float),
                ],
            },
        ]);
        let guard = Guard::new(&policy, &catalog).unwrap();
        let tokens = Tokens::new(
            &policy,
            crate::tokens::MasterKey::from_bytes(&[7; 32]),
            Some(std::sync::Arc::new(crate::tokens::MemoryVault::new())),
        )
        .unwrap();
        Schema::new(&policy, &guard, &SampleValues::new(), &tokens)
    }

    /// Second review, F8: a column name that looks like a token (a key of
    /// an NDJSON row, a CSV header) is never shown to the model as one.
    #[test]
    fn token_shaped_names_are_neutralized() {
        let policy = Policy::from_toml_str(
            r#"
            version = 1
            [tables.t]
            description = "About <person_KK5XCIV7>"
            [tables.t.columns]
            name = { action = "tokenize", class = "person" }
            "<person_KK5XCIV7>" = { action = "allow", description = "see <person_ABCDEFGH>" }
            "#,
        )
        .unwrap();
        let col = |n: &str| CatalogColumn {
            name: n.to_string(),
            ty: ColumnType::Text,
        };
        let catalog = Catalog::new(vec![CatalogTable {
            name: "t".into(),
            columns: vec![col("name"), col("<person_KK5XCIV7>")],
        }]);
        let guard = Guard::new(&policy, &catalog).unwrap();
        let tokens = Tokens::new(
            &policy,
            crate::tokens::MasterKey::from_bytes(&[7; 32]),
            Some(std::sync::Arc::new(crate::tokens::MemoryVault::new())),
        )
        .unwrap();
        let text = Schema::new(&policy, &guard, &SampleValues::new(), &tokens).render("", 10_000);
        assert!(
            !text.contains("KK5XCIV7") && !text.contains("ABCDEFGH"),
            "{text}"
        );
        assert!(text.contains("<person_?>"), "{text}");
    }

    #[test]
    fn deny_columns_are_never_listed() {
        let s = schema();
        let text = s.render("anything", 10_000);
        assert!(!text.contains("ssn"), "{text}");
        assert!(text.contains("person_id (text): shown as a token <person_…>"));
        assert!(text.contains("cost (float): aggregate only: SUM over groups of at least 5"));
        assert_eq!(
            s.headers(),
            [
                "TABLE people: One row per person",
                "TABLE visits: Hospital visits"
            ]
        );
    }

    #[test]
    fn a_small_budget_keeps_the_relevant_table() {
        let s = schema();
        let text = s.render("total cost per ward of the hospital visits", 30);
        assert!(text.contains("TABLE visits"), "{text}");
        assert!(!text.contains("TABLE people"), "{text}");
        let text = s.render("how many people live in each city", 30);
        assert!(text.contains("TABLE people"), "{text}");
        assert!(!text.contains("TABLE visits"), "{text}");
    }

    #[test]
    fn words_split_names_and_drop_plurals() {
        let w = words("customer_id Orders, shipped");
        assert!(w.contains("customer") && w.contains("order") && w.contains("shipped"));
    }
}
