//! Known-media matching: banks of PDQ hashes of media confirmed as violating, matched against the
//! media of every new report. A match is recorded on the case, raises its priority and may take a
//! bank's automatic action; reviewers then say whether it was right, and each bank shows its
//! precision.
//!
//! This module holds the pure rules (what a bank is, hash lists in and out, precision);
//! `index` keeps the banks' hashes in memory for lookups, `checks` hashes and matches the media
//! intake queued.

use chrono::{DateTime, Utc};
use pdq::Hash256;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::enforcement::ActionKind;
use crate::domain::validate::Checker;
use crate::error::FieldError;

pub mod banks;
pub mod checks;
pub mod index;

pub use index::{BankIndex, Banks, Hit};

/// The industry's matching threshold for PDQ: distances up to 31 of 256 bits are the same image.
pub const DEFAULT_THRESHOLD: u32 = 31;
/// Beyond this a bank would match unrelated images (random hashes sit near 128 apart).
pub const MAX_THRESHOLD: u32 = 63;
/// Hashes of featureless images (quality below 50) match too much to be banked or matched.
pub const MIN_QUALITY: u8 = 50;
/// The most hashes one hash list may bring.
pub const MAX_LIST_ENTRIES: usize = 1_000_000;

/// A bank as it is created.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBank {
    /// A unique name, e.g. "Confirmed terrorist propaganda".
    pub name: String,
    /// The policy the bank's media was confirmed under (an id; any version).
    pub policy: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The greatest Hamming distance that counts as a match; 31 when absent.
    #[serde(default)]
    pub match_threshold: Option<u32>,
    /// An action taken automatically on a match; it must be one the policy allows.
    #[serde(default)]
    pub auto_action: Option<ActionKind>,
}

/// A change to a bank; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BankChange {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub match_threshold: Option<u32>,
    /// `null` removes the automatic action; absent leaves it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<ActionKind>)]
    pub auto_action: Option<Option<ActionKind>>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// Tells a field sent as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Whether an automatic action may act without a person: only those that act on the content
/// itself, never on the account (suspensions need a person) and never a strike.
pub fn may_act_automatically(action: ActionKind) -> bool {
    matches!(
        action,
        ActionKind::Remove
            | ActionKind::RestrictVisibility
            | ActionKind::AgeRestrict
            | ActionKind::Label
            | ActionKind::Demote
            | ActionKind::RejectAd
    )
}

fn check_threshold(c: &mut Checker, threshold: u32) {
    if threshold > MAX_THRESHOLD {
        c.fail(
            "match_threshold",
            format!(
                "must be at most {MAX_THRESHOLD} bits (the usual threshold is {DEFAULT_THRESHOLD})"
            ),
        );
    }
}

fn check_auto_action(c: &mut Checker, action: ActionKind, allowed: Option<&[ActionKind]>) {
    if !may_act_automatically(action) {
        c.fail(
            "auto_action",
            format!(
                "{} needs a person's decision; automatic actions act only on content",
                action.as_str()
            ),
        );
    } else if let Some(allowed) = allowed
        && !allowed.contains(&action)
    {
        c.fail(
            "auto_action",
            format!("the bank's policy does not allow {}", action.as_str()),
        );
    }
}

impl NewBank {
    /// Every problem with the bank; `allowed` is what its policy allows, `None` when the policy
    /// does not exist.
    pub fn check(&self, c: &mut Checker, allowed: Option<&[ActionKind]>) {
        c.required_text("name", &self.name, 200);
        c.optional_text("description", self.description.as_deref(), 2000);
        if self.policy.trim().is_empty() {
            c.fail(
                "policy",
                "is required: the policy the bank's media violates",
            );
        } else if allowed.is_none() {
            c.fail("policy", "no such policy");
        }
        check_threshold(c, self.match_threshold.unwrap_or(DEFAULT_THRESHOLD));
        if let Some(a) = self.auto_action {
            check_auto_action(c, a, allowed);
        }
    }
}

impl BankChange {
    pub fn check(&self, c: &mut Checker, allowed: &[ActionKind]) {
        c.optional_text("description", self.description.as_deref(), 2000);
        if let Some(t) = self.match_threshold {
            check_threshold(c, t);
        }
        if let Some(Some(a)) = self.auto_action {
            check_auto_action(c, a, Some(allowed));
        }
    }
}

/// A bank with its figures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Bank {
    pub id: i64,
    pub name: String,
    pub policy: String,
    pub description: String,
    pub match_threshold: u32,
    pub auto_action: Option<ActionKind>,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    /// Entries in the bank, enabled or not (removed ones not counted).
    pub entries: i64,
    pub enabled_entries: i64,
    pub matches: i64,
    pub true_positives: i64,
    pub false_positives: i64,
    /// True positives among the matches reviewers have judged; absent before any verdict.
    pub precision: Option<f64>,
}

/// The share of judged matches that were right.
pub fn precision(true_positives: i64, false_positives: i64) -> Option<f64> {
    let judged = true_positives + false_positives;
    (judged > 0).then(|| true_positives as f64 / judged as f64)
}

/// How an entry came into its bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A decision under a policy that banks confirmed media.
    Decision,
    /// A hash list imported from elsewhere (a hash-sharing programme, another platform).
    Import,
    /// Added by hand through the API.
    Manual,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Decision => "decision",
            Self::Import => "import",
            Self::Manual => "manual",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Decision, Self::Import, Self::Manual]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// One hash in a bank, with where it came from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BankEntry {
    pub id: i64,
    pub bank_id: i64,
    /// 64 hex digits in the reference order.
    pub hash: String,
    pub quality: Option<u8>,
    pub origin: Origin,
    pub decision_id: Option<i64>,
    pub case_id: Option<i64>,
    pub list_name: Option<String>,
    pub note: Option<String>,
    pub enabled: bool,
    pub added_at: DateTime<Utc>,
    pub added_by: Option<i64>,
}

/// One line of a hash list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedHash {
    pub hash: Hash256,
    pub quality: Option<u8>,
    pub note: Option<String>,
}

/// What is wrong with a hash's quality score, if anything: it is 0 to 100, and a bank takes none
/// below [`MIN_QUALITY`].
pub fn quality_problem(quality: u8) -> Option<String> {
    if quality > 100 {
        Some("must be 0 to 100".into())
    } else if quality < MIN_QUALITY {
        Some(format!(
            "is below {MIN_QUALITY}: such a hash matches featureless images"
        ))
    } else {
        None
    }
}

/// The two shapes of hash list banks take and give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListFormat {
    /// One hex hash per line; blank lines and `#` comments are skipped.
    Text,
    /// A header row naming the columns: `hash` (required), `quality` and `note` (optional);
    /// other columns are ignored.
    Csv,
}

/// Reads a hash list, naming every bad line (`line 3: …`). Quality, when given, must be 0–100;
/// entries below [`MIN_QUALITY`] are refused, since they would match featureless images.
pub fn parse_hash_list(text: &str, format: ListFormat) -> Result<Vec<ListedHash>, Vec<FieldError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut fail = |line: usize, message: String| {
        if errors.len() < 100 {
            errors.push(FieldError::new(format!("line {line}"), message));
        }
    };
    match format {
        ListFormat::Text => {
            for (i, line) in text.lines().enumerate() {
                let line_no = i + 1;
                let t = line.trim();
                if t.is_empty() || t.starts_with('#') {
                    continue;
                }
                // `hex quality path` as the reference tool prints it, or a bare hash.
                let hash = t.split_whitespace().next().unwrap_or_default();
                match hash.parse::<Hash256>() {
                    Ok(hash) => out.push(ListedHash {
                        hash,
                        quality: None,
                        note: None,
                    }),
                    Err(e) => fail(line_no, e.to_string()),
                }
            }
        }
        ListFormat::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .trim(csv::Trim::All)
                .flexible(true)
                .from_reader(text.as_bytes());
            let headers = match reader.headers() {
                Ok(h) => h.clone(),
                Err(e) => return Err(vec![FieldError::new("line 1", e.to_string())]),
            };
            let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
            let Some(hash_at) = column("hash") else {
                return Err(vec![FieldError::new(
                    "line 1",
                    "the header must name a `hash` column",
                )]);
            };
            let (quality_at, note_at) = (column("quality"), column("note"));
            for (i, record) in reader.records().enumerate() {
                let line_no = i + 2;
                let record = match record {
                    Ok(r) => r,
                    Err(e) => {
                        fail(line_no, e.to_string());
                        continue;
                    }
                };
                let hash = match record.get(hash_at).unwrap_or_default().parse::<Hash256>() {
                    Ok(h) => h,
                    Err(e) => {
                        fail(line_no, e.to_string());
                        continue;
                    }
                };
                let quality = match quality_at.and_then(|q| record.get(q)) {
                    None | Some("") => None,
                    Some(q) => match q.parse::<u8>() {
                        Ok(q) => match quality_problem(q) {
                            None => Some(q),
                            Some(problem) => {
                                fail(line_no, format!("quality {q} {problem}"));
                                continue;
                            }
                        },
                        Err(_) => {
                            fail(
                                line_no,
                                format!("quality {q:?} is not a number from 0 to 100"),
                            );
                            continue;
                        }
                    },
                };
                let note = note_at
                    .and_then(|n| record.get(n))
                    .filter(|n| !n.is_empty())
                    .map(|n| n.chars().take(500).collect());
                out.push(ListedHash {
                    hash,
                    quality,
                    note,
                });
            }
        }
    }
    if out.is_empty() && errors.is_empty() {
        errors.push(FieldError::new("body", "the list holds no hashes"));
    }
    if out.len() > MAX_LIST_ENTRIES {
        errors.push(FieldError::new(
            "body",
            format!("at most {MAX_LIST_ENTRIES} hashes in one list"),
        ));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// A bank's entries as a hash list another desk (or `warden pdq match --bank`) can read.
pub fn export_hash_list(entries: &[BankEntry], format: ListFormat) -> String {
    let mut out = String::new();
    match format {
        ListFormat::Text => {
            for e in entries {
                out.push_str(&e.hash);
                out.push('\n');
            }
        }
        ListFormat::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let _ = w.write_record([
                "hash",
                "quality",
                "note",
                "origin",
                "decision_id",
                "case_id",
                "list_name",
                "enabled",
                "added_at",
            ]);
            for e in entries {
                let _ = w.write_record([
                    e.hash.clone(),
                    e.quality.map(|q| q.to_string()).unwrap_or_default(),
                    e.note.clone().unwrap_or_default(),
                    e.origin.as_str().to_string(),
                    e.decision_id.map(|d| d.to_string()).unwrap_or_default(),
                    e.case_id.map(|d| d.to_string()).unwrap_or_default(),
                    e.list_name.clone().unwrap_or_default(),
                    e.enabled.to_string(),
                    e.added_at.to_rfc3339(),
                ]);
            }
            out = String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default();
        }
    }
    out
}

/// A reviewer's judgement of a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchVerdict {
    /// The media is the banked media (or a copy of it).
    TruePositive,
    /// A different image that happens to hash close.
    FalsePositive,
}

impl MatchVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TruePositive => "true_positive",
            Self::FalsePositive => "false_positive",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::TruePositive, Self::FalsePositive]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// A match of a case's media against a bank entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MediaMatch {
    pub id: i64,
    pub case_id: i64,
    pub bank_id: i64,
    pub bank_name: String,
    pub entry_id: i64,
    pub distance: u32,
    /// The hash of the case's media.
    pub hash: String,
    /// Where the media was fetched from; absent for a hash the platform sent.
    pub media_url: Option<String>,
    pub matched_at: DateTime<Utc>,
    pub verdict: Option<MatchVerdict>,
    pub verdict_by: Option<i64>,
    pub verdict_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    const B: &str = "0000f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

    #[test]
    fn text_lists_take_bare_hashes_and_the_reference_tools_lines() {
        let list = format!("# a comment\n{A}\n\n{B} 100 /images/b.jpg\n");
        let hashes = parse_hash_list(&list, ListFormat::Text).unwrap();
        assert_eq!(hashes.len(), 2);
        assert_eq!(hashes[0].hash.to_hex(), A);
        assert_eq!(hashes[1].hash.to_hex(), B);
    }

    #[test]
    fn bad_lines_are_named_and_nothing_is_taken() {
        let list = format!("{A}\nnot-a-hash\n{}\n", &A[..60]);
        let errors = parse_hash_list(&list, ListFormat::Text).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].field, "line 2");
        assert_eq!(errors[1].field, "line 3");
        assert!(errors[1].message.contains("60 characters"), "{errors:?}");
        assert_eq!(
            parse_hash_list("# nothing\n", ListFormat::Text).unwrap_err()[0].field,
            "body"
        );
    }

    #[test]
    fn csv_lists_carry_quality_and_notes_and_refuse_featureless_hashes() {
        let list = format!("id,hash,quality,note\n1,{A},92,from partner list\n2,{B},,\n");
        let hashes = parse_hash_list(&list, ListFormat::Csv).unwrap();
        assert_eq!(hashes[0].quality, Some(92));
        assert_eq!(hashes[0].note.as_deref(), Some("from partner list"));
        assert_eq!(hashes[1].quality, None);
        let low = format!("hash,quality\n{A},30\n{B},101\n");
        let errors = parse_hash_list(&low, ListFormat::Csv).unwrap_err();
        assert!(errors.iter().any(|e| e.field == "line 3"), "{errors:?}");
        assert!(
            errors
                .iter()
                .any(|e| e.field == "line 2" && e.message.contains("below 50")),
            "{errors:?}"
        );
        let no_hash = parse_hash_list("digest\nabc\n", ListFormat::Csv).unwrap_err();
        assert!(no_hash[0].message.contains("`hash` column"));
    }

    #[test]
    fn exported_lists_read_back() {
        let entry = |hash: &str| BankEntry {
            id: 1,
            bank_id: 1,
            hash: hash.into(),
            quality: Some(90),
            origin: Origin::Import,
            decision_id: None,
            case_id: Some(7),
            list_name: Some("partner".into()),
            note: Some("a, note".into()),
            enabled: true,
            added_at: DateTime::<Utc>::UNIX_EPOCH,
            added_by: None,
        };
        let entries = [entry(A), entry(B)];
        for format in [ListFormat::Text, ListFormat::Csv] {
            let back = parse_hash_list(&export_hash_list(&entries, format), format).unwrap();
            let hexes: Vec<String> = back.iter().map(|h| h.hash.to_hex()).collect();
            assert_eq!(hexes, [A, B]);
        }
        let csv = export_hash_list(&entries, ListFormat::Csv);
        let back = parse_hash_list(&csv, ListFormat::Csv).unwrap();
        assert_eq!(back[0].note.as_deref(), Some("a, note"));
    }

    #[test]
    fn banks_are_checked_against_their_policy() {
        let bank = NewBank {
            name: "Confirmed propaganda".into(),
            policy: "community.terrorism".into(),
            description: None,
            match_threshold: Some(80),
            auto_action: Some(ActionKind::SuspendAccount),
        };
        let mut c = Checker::new();
        bank.check(
            &mut c,
            Some(&[ActionKind::Remove, ActionKind::SuspendAccount]),
        );
        let fields: Vec<&str> = c.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["match_threshold", "auto_action"]);
        let mut c = Checker::new();
        NewBank {
            auto_action: Some(ActionKind::Remove),
            match_threshold: None,
            ..bank.clone()
        }
        .check(&mut c, Some(&[ActionKind::Label]));
        assert_eq!(c.errors.len(), 1);
        assert!(c.errors[0].message.contains("does not allow remove"));
        let mut c = Checker::new();
        bank.check(&mut c, None);
        assert!(c.errors.iter().any(|e| e.field == "policy"));
    }

    #[test]
    fn precision_is_the_share_of_judged_matches_that_were_right() {
        assert_eq!(precision(0, 0), None);
        assert_eq!(precision(3, 1), Some(0.75));
        assert_eq!(precision(0, 2), Some(0.0));
    }
}
