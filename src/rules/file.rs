//! The rule file as it is written: serde wire types, with spans so that
//! validation errors can name a line and column.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleFile {
    pub(crate) version: Spanned<i64>,
    #[serde(default)]
    pub(crate) defaults: Option<DefaultsFile>,
    #[serde(default)]
    pub(crate) tables: BTreeMap<Spanned<String>, TableFile>,
    #[serde(default)]
    pub(crate) detectors: Option<DetectorsFile>,
    #[serde(default)]
    pub(crate) roles: BTreeMap<Spanned<String>, RoleFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DefaultsFile {
    pub(crate) unlisted_columns: Option<Spanned<String>>,
    pub(crate) max_rows: Option<Spanned<i64>>,
    pub(crate) tokens: Option<Spanned<String>>,
    pub(crate) token_format: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TableFile {
    pub(crate) description: Option<String>,
    pub(crate) subject: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) columns: BTreeMap<Spanned<String>, Spanned<ColumnFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ColumnFile {
    pub(crate) action: Spanned<String>,
    pub(crate) description: Option<String>,
    pub(crate) class: Option<Spanned<String>>,
    pub(crate) mask: Option<Spanned<String>>,
    pub(crate) to: Option<Spanned<String>>,
    pub(crate) filter: Option<Spanned<String>>,
    pub(crate) functions: Option<Spanned<Vec<Spanned<String>>>>,
    pub(crate) min_group_size: Option<Spanned<i64>>,
    pub(crate) detect_values: Option<Spanned<bool>>,
    pub(crate) match_parts: Option<Spanned<bool>>,
    pub(crate) fixed_length: Option<Spanned<bool>>,
    pub(crate) link: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DetectorsFile {
    #[serde(default)]
    pub(crate) builtin: Vec<Spanned<String>>,
    #[serde(default)]
    pub(crate) pattern: Vec<Spanned<PatternFile>>,
    #[serde(default)]
    pub(crate) dictionary: Vec<Spanned<DictionaryFile>>,
    /// Context words per built-in detector, replacing its built-in list.
    #[serde(default)]
    pub(crate) context: BTreeMap<Spanned<String>, Spanned<Vec<Spanned<String>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PatternFile {
    pub(crate) name: Spanned<String>,
    pub(crate) regex: Spanned<String>,
    pub(crate) class: Spanned<String>,
    pub(crate) description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DictionaryFile {
    pub(crate) name: Spanned<String>,
    pub(crate) terms: Spanned<Vec<String>>,
    #[serde(default)]
    pub(crate) case_insensitive: bool,
    pub(crate) class: Spanned<String>,
    pub(crate) description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoleFile {
    #[serde(default)]
    pub(crate) reveal: Vec<Spanned<String>>,
}
