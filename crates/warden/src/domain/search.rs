//! Case search: what a search asks for, checked and translated into a plan the store runs. The
//! free text becomes full-text terms here, so the rules (every word, any case, the last word also
//! as a prefix, quoted phrases) are the same on both engines and are tested without a database.
//!
//! The user's text never reaches a query language as typed: it is cut into words of letters and
//! digits, each word is quoted for the engine's syntax, and the result is bound as a parameter.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::case::CaseStatus;
use super::priority::Priority;
use super::report::Source;
use super::validate::Checker;
use crate::error::Result;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;
pub const MAX_TEXT_CHARS: usize = 500;
/// Each term is one more lookup in the index; a search box needs no more than this.
pub const MAX_TERMS: usize = 16;

/// What a piece of indexed text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    /// The subject's snapshot text, as first reported and whenever a report brought new text.
    Subject,
    /// A report's free text.
    Report,
    /// A note on the case.
    Note,
}

impl DocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subject => "subject",
            Self::Report => "report",
            Self::Note => "note",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Subject, Self::Report, Self::Note]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// The subject text a report brings to a case, if it is new: the case keeps every version it was
/// reported with, so a search finds the words of an edited post as well as of its first version.
pub fn new_subject_text<'a>(current: Option<&str>, incoming: Option<&'a str>) -> Option<&'a str> {
    incoming.filter(|t| !t.trim().is_empty() && current != Some(*t))
}

/// A search over cases, as the API takes it. Every value is text so that a bad one is reported
/// with its field's name, like any other invalid input; blank values count as absent (HTML forms
/// send empty fields).
#[derive(Debug, Clone, Default, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Free text. Every word must occur in the case (its subject's text, its reports or its notes),
    /// in any case; the last word also matches as a prefix (`wall` finds `wallet`); `"two words"`
    /// must occur together. Other punctuation separates words.
    pub q: Option<String>,
    /// A case status, e.g. `triaged`.
    pub status: Option<String>,
    pub queue: Option<String>,
    /// A policy area, e.g. `scams.financial`, or a family of them: `scams.*`.
    pub policy_area: Option<String>,
    /// Cases with at least one report from this source, e.g. `trusted_flagger`.
    pub source: Option<String>,
    /// P0 … P4
    pub priority: Option<String>,
    /// ISO 3166-1 alpha-2 country, upper case.
    pub region: Option<String>,
    /// Opened on or after this day (YYYY-MM-DD, UTC).
    #[param(value_type = Option<String>, format = Date)]
    #[schema(value_type = Option<String>, format = Date)]
    pub opened_from: Option<String>,
    /// Opened on or before this day (YYYY-MM-DD, UTC).
    #[param(value_type = Option<String>, format = Date)]
    #[schema(value_type = Option<String>, format = Date)]
    pub opened_to: Option<String>,
    /// The user id of the person holding the case.
    #[param(value_type = Option<i64>)]
    #[schema(value_type = Option<i64>)]
    pub assignee: Option<String>,
    /// `priority`, `opened`, `updated` or `deadline`, with `-` in front for descending, or
    /// `relevance`. Default: `relevance` when there is text to search for, else `priority`
    /// (most urgent first).
    pub sort: Option<String>,
    /// 1–200, default 50.
    #[param(value_type = Option<i64>)]
    #[schema(value_type = Option<i64>)]
    pub limit: Option<String>,
    /// How many results to skip, default 0.
    #[param(value_type = Option<i64>)]
    #[schema(value_type = Option<i64>)]
    pub offset: Option<String>,
}

/// One thing the free text asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// A lower-cased word; with `prefix`, also every word that starts with it.
    Word { word: String, prefix: bool },
    /// Words that must follow each other in one text.
    Phrase(Vec<String>),
}

/// The full-text syntax a term is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// SQLite FTS5: `"word"`, `"word"*`, `"two words"`.
    Fts5,
    /// PostgreSQL `to_tsquery`: `'word'`, `'word':*`, `('two' <-> 'words')`.
    TsQuery,
}

impl Term {
    pub fn render(&self, syntax: Syntax) -> String {
        match (self, syntax) {
            (Self::Word { word, prefix }, Syntax::Fts5) => {
                format!("{}{}", fts5_quote(word), if *prefix { "*" } else { "" })
            }
            (Self::Word { word, prefix }, Syntax::TsQuery) => {
                format!("{}{}", tsquery_quote(word), if *prefix { ":*" } else { "" })
            }
            (Self::Phrase(words), Syntax::Fts5) => fts5_quote(&words.join(" ")),
            (Self::Phrase(words), Syntax::TsQuery) => format!(
                "({})",
                words
                    .iter()
                    .map(|w| tsquery_quote(w))
                    .collect::<Vec<_>>()
                    .join(" <-> ")
            ),
        }
    }
}

/// A query matching text with any of the terms: it picks the text a snippet is cut from and
/// ranks cases. That a case has every term is checked term by term, since the words of a search
/// may be spread over a case's subject, reports and notes.
pub fn any_of(terms: &[Term], syntax: Syntax) -> String {
    let or = match syntax {
        Syntax::Fts5 => " OR ",
        Syntax::TsQuery => " | ",
    };
    terms
        .iter()
        .map(|t| t.render(syntax))
        .collect::<Vec<_>>()
        .join(or)
}

/// An FTS5 string: `"` doubled inside double quotes. Quoted, operators (`AND`, `NEAR`, `*`, `:`,
/// parentheses) are plain text. Words never contain `"`; the quoting holds even if one did.
fn fts5_quote(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// A tsquery lexeme: `'` doubled and `\` escaped inside single quotes.
fn tsquery_quote(word: &str) -> String {
    format!("'{}'", word.replace('\\', "\\\\").replace('\'', "''"))
}

/// Words are runs of letters and digits, lower-cased, as both engines' tokenizers see them.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Free text → terms. Text between double quotes is a phrase (an unclosed quote runs to the end);
/// a quoted single word is matched exactly. The last word, if not quoted, is also a prefix: it is
/// probably still being typed.
pub fn terms(text: &str) -> Vec<Term> {
    let mut terms: Vec<Term> = Vec::new();
    let parts: Vec<&str> = text.split('"').collect();
    for (i, part) in parts.iter().enumerate() {
        let mut ws = words(part);
        if i % 2 == 0 {
            terms.extend(ws.into_iter().map(|word| Term::Word {
                word,
                prefix: false,
            }));
        } else if ws.len() == 1 {
            terms.push(Term::Word {
                word: ws.remove(0),
                prefix: false,
            });
        } else if !ws.is_empty() {
            terms.push(Term::Phrase(ws));
        }
    }
    let last_is_bare = parts.len() % 2 == 1 && !words(parts[parts.len() - 1]).is_empty();
    if last_is_bare && let Some(Term::Word { prefix, .. }) = terms.last_mut() {
        *prefix = true;
    }
    // Each term once; a word that must occur whole needs no prefix search as well.
    let mut unique: Vec<Term> = Vec::with_capacity(terms.len());
    for t in terms {
        let exact = match &t {
            Term::Word { word, .. } => Term::Word {
                word: word.clone(),
                prefix: false,
            },
            phrase => phrase.clone(),
        };
        if !unique.contains(&t) && !unique.contains(&exact) {
            unique.push(t);
        }
    }
    unique
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Relevance,
    Priority,
    Opened,
    Updated,
    Deadline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

impl Sort {
    pub fn parse(s: &str) -> Option<Self> {
        if s == "relevance" {
            return Some(Self {
                key: SortKey::Relevance,
                descending: false,
            });
        }
        let (descending, name) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let key = match name {
            "priority" => SortKey::Priority,
            "opened" => SortKey::Opened,
            "updated" => SortKey::Updated,
            "deadline" => SortKey::Deadline,
            _ => return None,
        };
        Some(Self { key, descending })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AreaFilter {
    Exact(String),
    /// Areas starting with this, e.g. `scams.` for `scams.*`.
    Family(String),
}

/// A checked search, ready for the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPlan {
    pub terms: Vec<Term>,
    pub status: Option<CaseStatus>,
    pub queue: Option<String>,
    pub policy_area: Option<AreaFilter>,
    pub source: Option<Source>,
    pub priority: Option<Priority>,
    pub region: Option<String>,
    pub opened_from: Option<DateTime<Utc>>,
    /// Opened before this instant (the start of the day after `opened_to`).
    pub opened_before: Option<DateTime<Utc>>,
    pub assignee: Option<i64>,
    pub sort: Sort,
    pub limit: i64,
    pub offset: i64,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn day(c: &mut Checker, field: &str, v: &Option<String>) -> Option<NaiveDate> {
    let s = given(v)?;
    let parsed = (s.len() == 10)
        .then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .flatten();
    if parsed.is_none() {
        c.fail(field, "must be a date as YYYY-MM-DD");
    }
    parsed
}

fn number(
    c: &mut Checker,
    field: &str,
    v: &Option<String>,
    ok: impl Fn(i64) -> bool,
    rule: &str,
) -> Option<i64> {
    let s = given(v)?;
    match s.parse::<i64>() {
        Ok(n) if ok(n) => Some(n),
        _ => {
            c.fail(field, rule);
            None
        }
    }
}

impl SearchQuery {
    /// Checks every field, naming each bad one, and translates the free text.
    pub fn plan(&self) -> Result<SearchPlan> {
        let mut c = Checker::new();
        let text = given(&self.q).unwrap_or("");
        c.optional_text("q", Some(text), MAX_TEXT_CHARS);
        let terms = terms(text);
        if terms.len() > MAX_TERMS {
            c.fail(
                "q",
                format!("at most {MAX_TERMS} different words and phrases"),
            );
        }
        let status = given(&self.status).and_then(|s| {
            let parsed = CaseStatus::parse(s);
            if parsed.is_none() {
                let all: Vec<_> = CaseStatus::ALL.iter().map(|s| s.as_str()).collect();
                c.fail("status", format!("must be one of: {}", all.join(", ")));
            }
            parsed
        });
        let queue = given(&self.queue).map(|q| {
            c.slug("queue", q, 64);
            q.to_string()
        });
        let policy_area = given(&self.policy_area).map(|a| match a.strip_suffix(".*") {
            Some(family) => {
                c.slug("policy_area", family, 64);
                AreaFilter::Family(format!("{family}."))
            }
            None => {
                c.slug("policy_area", a, 64);
                AreaFilter::Exact(a.to_string())
            }
        });
        let source = given(&self.source).and_then(|s| {
            let parsed = Source::parse(s);
            if parsed.is_none() {
                let all: Vec<_> = Source::ALL.iter().map(|s| s.as_str()).collect();
                c.fail("source", format!("must be one of: {}", all.join(", ")));
            }
            parsed
        });
        let priority = given(&self.priority).and_then(|s| {
            let parsed = Priority::parse(s);
            if parsed.is_none() {
                c.fail("priority", "must be one of P0, P1, P2, P3, P4");
            }
            parsed
        });
        let region = given(&self.region).map(|r| {
            c.country("region", r);
            r.to_string()
        });
        let from = day(&mut c, "opened_from", &self.opened_from);
        let to = day(&mut c, "opened_to", &self.opened_to);
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            c.fail("opened_to", "must not be before opened_from");
        }
        let assignee = number(
            &mut c,
            "assignee",
            &self.assignee,
            |_| true,
            "must be a user id",
        );
        let sort = given(&self.sort).and_then(|s| {
            let parsed = Sort::parse(s);
            if parsed.is_none() {
                c.fail(
                    "sort",
                    "must be relevance, or priority, opened, updated or deadline, each with an optional '-' for descending",
                );
            }
            parsed
        });
        let limit = number(
            &mut c,
            "limit",
            &self.limit,
            |n| (1..=MAX_LIMIT).contains(&n),
            "must be a number from 1 to 200",
        );
        let offset = number(
            &mut c,
            "offset",
            &self.offset,
            |n| n >= 0,
            "must be a number, 0 or more",
        );
        c.finish()?;
        // Relevance means nothing without words to be relevant to.
        let by_priority = Sort {
            key: SortKey::Priority,
            descending: false,
        };
        let sort = match sort {
            Some(s) if s.key == SortKey::Relevance && terms.is_empty() => by_priority,
            Some(s) => s,
            None if terms.is_empty() => by_priority,
            None => Sort {
                key: SortKey::Relevance,
                descending: false,
            },
        };
        let midnight = |d: NaiveDate| d.and_time(NaiveTime::MIN).and_utc();
        Ok(SearchPlan {
            terms,
            status,
            queue,
            policy_area,
            source,
            priority,
            region,
            opened_from: from.map(midnight),
            opened_before: to.and_then(|t| t.succ_opt()).map(midnight),
            assignee,
            sort,
            limit: limit.unwrap_or(DEFAULT_LIMIT),
            offset: offset.unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn word(w: &str) -> Term {
        Term::Word {
            word: w.into(),
            prefix: false,
        }
    }

    fn prefix(w: &str) -> Term {
        Term::Word {
            word: w.into(),
            prefix: true,
        }
    }

    fn both(text: &str) -> (String, String) {
        let t = terms(text);
        (any_of(&t, Syntax::Fts5), any_of(&t, Syntax::TsQuery))
    }

    #[test]
    fn every_word_lower_cased_and_the_last_also_a_prefix() {
        assert_eq!(
            terms("Crypto WALLET scam"),
            [word("crypto"), word("wallet"), prefix("scam")]
        );
        let t = terms("crypto wall");
        assert_eq!(
            t.iter().map(|t| t.render(Syntax::Fts5)).collect::<Vec<_>>(),
            ["\"crypto\"", "\"wall\"*"]
        );
        assert_eq!(
            t.iter()
                .map(|t| t.render(Syntax::TsQuery))
                .collect::<Vec<_>>(),
            ["'crypto'", "'wall':*"]
        );
    }

    #[test]
    fn quoted_text_is_a_phrase_and_a_quoted_word_is_exact() {
        assert_eq!(
            terms("\"Send coins\" wallet"),
            [
                Term::Phrase(vec!["send".into(), "coins".into()]),
                prefix("wallet")
            ]
        );
        assert_eq!(
            both("\"send coins\""),
            ("\"send coins\"".into(), "('send' <-> 'coins')".into())
        );
        // Ends with a quote: nothing is being typed, nothing is a prefix.
        assert_eq!(terms("scam \"wallet\""), [word("scam"), word("wallet")]);
        // An unclosed quote runs to the end.
        assert_eq!(
            terms("scam \"send coins"),
            [
                word("scam"),
                Term::Phrase(vec!["send".into(), "coins".into()])
            ]
        );
        assert_eq!(terms("\"\" \"  \""), []);
    }

    #[test]
    fn empty_and_punctuation_only_text_has_no_terms() {
        for text in [
            "",
            "   ",
            "*",
            "\"",
            "''",
            "&|!():*",
            "-- ; /* */",
            "\u{2014}",
        ] {
            assert_eq!(terms(text), [], "{text:?}");
        }
    }

    #[test]
    fn query_syntax_typed_by_a_user_is_only_words() {
        // FTS5 and tsquery operators become words to find, or separators.
        // The stray quote opens a phrase that runs to the end; `=` and `-` separate words.
        assert_eq!(
            both("wallet\" OR 1=1 --"),
            (
                "\"wallet\" OR \"or 1 1\"".into(),
                "'wallet' | ('or' <-> '1' <-> '1')".into()
            )
        );
        assert_eq!(
            both("wallet OR 1=1 --"),
            (
                "\"wallet\" OR \"or\" OR \"1\"".into(),
                "'wallet' | 'or' | '1'".into()
            )
        );
        assert_eq!(
            terms("NEAR(scam wallet) AND x OR y NOT z"),
            [
                word("near"),
                word("scam"),
                word("wallet"),
                word("and"),
                word("x"),
                word("or"),
                word("y"),
                word("not"),
                prefix("z"),
            ]
        );
        assert_eq!(
            terms("body:scam* case_id:1 & 'wallet' | (x) !y <-> z:*"),
            [
                word("body"),
                word("scam"),
                word("case"),
                word("id"),
                word("1"),
                word("wallet"),
                word("x"),
                word("y"),
                prefix("z"),
            ]
        );
        assert_eq!(
            both("it's o'brien"),
            (
                "\"it\" OR \"s\" OR \"o\" OR \"brien\"*".into(),
                "'it' | 's' | 'o' | 'brien':*".into()
            )
        );
        // Nothing but letters, digits and the syntax added here survives.
        for text in [
            "a\"b*c:d&e|f'g(h)i NEAR j",
            "'; DROP TABLE cases; --",
            "\\' OR '1'='1",
        ] {
            for t in terms(text) {
                let words = match &t {
                    Term::Word { word, .. } => vec![word.clone()],
                    Term::Phrase(ws) => ws.clone(),
                };
                assert!(
                    words.iter().all(|w| w.chars().all(char::is_alphanumeric)),
                    "{text:?}: {t:?}"
                );
            }
        }
    }

    #[test]
    fn quoting_escapes_the_quote_characters() {
        assert_eq!(fts5_quote("a\"b"), "\"a\"\"b\"");
        assert_eq!(tsquery_quote("it's"), "'it''s'");
        assert_eq!(tsquery_quote("a\\b"), "'a\\\\b'");
    }

    #[test]
    fn words_are_unicode_letters_and_digits() {
        assert_eq!(
            terms("Müller café 300% scam@coins.example"),
            [
                word("müller"),
                word("café"),
                word("300"),
                word("scam"),
                word("coins"),
                prefix("example")
            ]
        );
        assert_eq!(terms("wallet wallet"), [word("wallet")]);
        assert_eq!(terms("wall wallet wall"), [word("wall"), word("wallet")]);
        assert_eq!(terms("scam scam x"), [word("scam"), prefix("x")]);
    }

    fn fields(e: Error) -> Vec<String> {
        match e {
            Error::Invalid(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_sort_by_relevance_only_with_text() {
        let plan = SearchQuery::default().plan().unwrap();
        assert_eq!(
            (plan.sort.key, plan.limit, plan.offset),
            (SortKey::Priority, 50, 0)
        );
        let q = SearchQuery {
            q: Some("wallet".into()),
            ..Default::default()
        };
        assert_eq!(q.plan().unwrap().sort.key, SortKey::Relevance);
        let q = SearchQuery {
            q: Some(" * ".into()),
            sort: Some("relevance".into()),
            ..Default::default()
        };
        assert_eq!(q.plan().unwrap().sort.key, SortKey::Priority);
        let q = SearchQuery {
            q: Some("wallet".into()),
            sort: Some("-opened".into()),
            ..Default::default()
        };
        assert_eq!(
            q.plan().unwrap().sort,
            Sort {
                key: SortKey::Opened,
                descending: true
            }
        );
    }

    #[test]
    fn filters_are_parsed_and_blank_ones_ignored() {
        let q = SearchQuery {
            status: Some("in_review".into()),
            queue: Some("".into()),
            policy_area: Some("scams.*".into()),
            source: Some("trusted_flagger".into()),
            priority: Some("p1".into()),
            region: Some("DE".into()),
            opened_from: Some("2026-05-01".into()),
            opened_to: Some("2026-05-31".into()),
            assignee: Some("7".into()),
            limit: Some("200".into()),
            offset: Some("400".into()),
            ..Default::default()
        };
        let plan = q.plan().unwrap();
        assert_eq!(plan.status, Some(CaseStatus::InReview));
        assert_eq!(plan.queue, None);
        assert_eq!(plan.policy_area, Some(AreaFilter::Family("scams.".into())));
        assert_eq!(plan.source, Some(Source::TrustedFlagger));
        assert_eq!(plan.priority, Some(Priority::P1));
        assert_eq!(
            plan.opened_from.unwrap().to_rfc3339(),
            "2026-05-01T00:00:00+00:00"
        );
        // Inclusive: the whole last day counts.
        assert_eq!(
            plan.opened_before.unwrap().to_rfc3339(),
            "2026-06-01T00:00:00+00:00"
        );
        assert_eq!(
            (plan.assignee, plan.limit, plan.offset),
            (Some(7), 200, 400)
        );
    }

    #[test]
    fn bad_filters_are_named() {
        let q = SearchQuery {
            status: Some("open".into()),
            queue: Some("Ads Fraud".into()),
            policy_area: Some("scams%".into()),
            source: Some("pigeon".into()),
            priority: Some("P9".into()),
            region: Some("de".into()),
            opened_from: Some("2026-13-01".into()),
            opened_to: Some("yesterday".into()),
            assignee: Some("lena".into()),
            sort: Some("-relevance".into()),
            limit: Some("0".into()),
            offset: Some("-1".into()),
            ..Default::default()
        };
        assert_eq!(
            fields(q.plan().unwrap_err()),
            [
                "status",
                "queue",
                "policy_area",
                "source",
                "priority",
                "region",
                "opened_from",
                "opened_to",
                "assignee",
                "sort",
                "limit",
                "offset"
            ]
        );
        let q = SearchQuery {
            opened_from: Some("2026-05-02".into()),
            opened_to: Some("2026-05-01".into()),
            limit: Some("201".into()),
            ..Default::default()
        };
        assert_eq!(fields(q.plan().unwrap_err()), ["opened_to", "limit"]);
        let q = SearchQuery {
            q: Some("w ".repeat(17)),
            ..Default::default()
        };
        assert!(q.plan().is_ok(), "repeated words count once");
        let many: String = (0..17).map(|i| format!("w{i} ")).collect();
        let q = SearchQuery {
            q: Some(many),
            ..Default::default()
        };
        assert_eq!(fields(q.plan().unwrap_err()), ["q"]);
        let q = SearchQuery {
            q: Some("x".repeat(501)),
            ..Default::default()
        };
        assert_eq!(fields(q.plan().unwrap_err()), ["q"]);
    }

    #[test]
    fn new_subject_text_only_when_it_changed() {
        assert_eq!(new_subject_text(None, Some("hello")), Some("hello"));
        assert_eq!(new_subject_text(Some("hello"), Some("hello")), None);
        assert_eq!(
            new_subject_text(Some("hello"), Some("edited")),
            Some("edited")
        );
        assert_eq!(new_subject_text(Some("hello"), None), None);
        assert_eq!(new_subject_text(None, Some("  ")), None);
    }
}
