//! The "Banks" pages (banks of known media with their precision, a bank's entries, importing hash
//! lists, disabling entries) and reviewers' verdicts on the matches a case page shows. All of it
//! goes through `matching::banks`, as the API does.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::pages::{Chrome, Done, Flash, action_label, chrome, html};
use super::{ConsoleError, Form, Viewer};
use crate::access::Permission;
use crate::error::{Error, FieldError};
use crate::matching::banks;
use crate::matching::{Bank, BankEntry, ListFormat, MatchVerdict, MediaMatch};
use crate::store::users::UserRow;
use crate::web::AppState;

type Page = Result<Response, ConsoleError>;

/// How many entries a bank's page lists; the export holds them all.
const ENTRIES_SHOWN: i64 = 200;

/// A precision as the pages show it. Rounding never claims a perfect (or a worthless) bank that
/// is not: one false positive in two thousand shows as 99.9%, not 100%.
pub fn percent(precision: Option<f64>) -> String {
    let Some(p) = precision else {
        return "no verdicts yet".to_string();
    };
    let tenths = (p * 1000.0).round();
    let tenths = if p < 1.0 && tenths >= 1000.0 {
        999.0
    } else if p > 0.0 && tenths <= 0.0 {
        1.0
    } else {
        tenths
    };
    if tenths % 10.0 == 0.0 {
        format!("{}%", tenths / 10.0)
    } else {
        format!("{:.1}%", tenths / 10.0)
    }
}

/// How far a case's media was from the banked hash, in the words reviewers use for PDQ.
pub fn distance_text(distance: u32) -> String {
    format!("{distance} of 256 bits")
}

/// The format the import form names.
fn list_format(name: &str) -> Option<ListFormat> {
    match name {
        "text" => Some(ListFormat::Text),
        "csv" => Some(ListFormat::Csv),
        _ => None,
    }
}

/// A refused import's problem named after the form's fields: the list's own problems name their
/// lines already, but the whole list is the form's `hashes` box, not a request body.
fn form_error(e: FieldError) -> FieldError {
    if e.field == "body" {
        FieldError::new("hashes", e.message)
    } else {
        e
    }
}

/// What an import did, in a sentence.
fn import_notice(added: usize, already_banked: usize) -> String {
    let hashes = |n: usize| format!("{n} hash{}", if n == 1 { "" } else { "es" });
    match (added, already_banked) {
        (0, 1) => "Nothing new: the bank held that hash already.".to_string(),
        (0, n) => format!("Nothing new: the bank held all {} already.", hashes(n)),
        (a, 0) => format!("Imported {}.", hashes(a)),
        (a, n) => format!(
            "Imported {}; {} the bank held already were left as they were.",
            hashes(a),
            hashes(n)
        ),
    }
}

/// Outcomes of the bank pages' writes, by code, so a link cannot put words on the page.
fn done_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "entry_enabled" => "Entry enabled: it matches new media again.",
        "entry_disabled" => "Entry disabled: it no longer matches new media.",
        _ => return None,
    })
}

pub fn verdict_text(verdict: Option<MatchVerdict>) -> &'static str {
    match verdict {
        Some(MatchVerdict::TruePositive) => "same media (true positive)",
        Some(MatchVerdict::FalsePositive) => "different media (false positive)",
        None => "not judged yet",
    }
}

/// A bank as the pages show it, with the import form's values when they need correcting.
pub struct BankLine {
    pub bank: Bank,
    pub auto_action: &'static str,
    pub precision: String,
    pub hashes: String,
    pub list_name: String,
    pub csv: bool,
    pub errors: Vec<FieldError>,
}

impl BankLine {
    fn of(bank: Bank) -> Self {
        Self {
            auto_action: bank.auto_action.map_or("—", action_label),
            precision: percent(bank.precision),
            bank,
            hashes: String::new(),
            list_name: String::new(),
            csv: false,
            errors: Vec::new(),
        }
    }
}

#[derive(Template)]
#[template(path = "banks.html")]
struct BanksPage {
    chrome: Chrome,
    banks: Vec<BankLine>,
    may_manage: bool,
}

#[derive(Deserialize, Default)]
pub struct BanksQuery {
    done: Option<String>,
    added: Option<usize>,
    already: Option<usize>,
}

async fn banks_page(
    state: &AppState,
    v: &Viewer,
    flash: Option<Flash>,
) -> Result<BanksPage, ConsoleError> {
    let banks = banks::list(&state.desk, &v.actor).await?;
    let mut frame = chrome(state, v, "Banks", "/banks", &Done::default()).await?;
    frame.flash = flash;
    Ok(BanksPage {
        chrome: frame,
        banks: banks.into_iter().map(BankLine::of).collect(),
        may_manage: v.may(Permission::ManageBanks),
    })
}

pub async fn banks_list(
    State(state): State<AppState>,
    v: Viewer,
    Query(q): Query<BanksQuery>,
) -> Page {
    // Only counts come in the link; the words are the page's own.
    let flash = match (q.done.as_deref(), q.added, q.already) {
        (Some("imported"), Some(added), Some(already)) => Some(Flash {
            ok: true,
            text: import_notice(added, already),
        }),
        _ => None,
    };
    html(banks_page(&state, &v, flash).await?)
}

#[derive(Deserialize)]
pub struct ImportForm {
    csrf: Option<String>,
    #[serde(default)]
    hashes: String,
    #[serde(default)]
    list_name: String,
    #[serde(default)]
    format: String,
}

pub async fn import(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<ImportForm>,
) -> Page {
    v.check_csrf(f.csrf.as_deref())?;
    // Refused before the form is read: someone who may not import learns nothing of it.
    v.actor.require(Permission::ManageBanks)?;
    let list_name = Some(f.list_name.trim()).filter(|n| !n.is_empty());
    let outcome = match list_format(&f.format) {
        Some(format) => {
            banks::import(&state.desk, &v.actor, id, &f.hashes, format, list_name).await
        }
        None => Err(Error::field("format", "choose text or csv")),
    };
    match outcome {
        Ok(added) => Ok(Redirect::to(&format!(
            "/banks?done=imported&added={}&already={}#bank-{id}",
            added.added, added.already_banked
        ))
        .into_response()),
        Err(Error::Invalid(errors)) => {
            let mut page = banks_page(&state, &v, None).await?;
            if let Some(line) = page.banks.iter_mut().find(|b| b.bank.id == id) {
                line.errors = errors.into_iter().map(form_error).collect();
                line.csv = f.format == "csv";
                line.hashes = f.hashes;
                line.list_name = f.list_name;
            }
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "bank.html")]
struct BankPage {
    chrome: Chrome,
    bank: BankLine,
    entries: Vec<BankEntry>,
    may_manage: bool,
}

pub async fn bank(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<i64>,
    Query(done): Query<Done>,
) -> Page {
    let bank = banks::get(&state.desk, &v.actor, id).await?;
    let entries = banks::entries(&state.desk, &v.actor, id, 0, ENTRIES_SHOWN).await?;
    let mut frame = chrome(&state, &v, &bank.name, "/banks", &Done::default()).await?;
    frame.flash = done.done.as_deref().and_then(done_text).map(|t| Flash {
        ok: true,
        text: t.to_string(),
    });
    html(BankPage {
        chrome: frame,
        bank: BankLine::of(bank),
        entries,
        may_manage: v.may(Permission::ManageBanks),
    })
}

#[derive(Deserialize)]
pub struct EntryToggle {
    csrf: Option<String>,
    /// The state wanted, not a flip: a form sent twice leaves the entry as it asked.
    enabled: bool,
}

pub async fn toggle_entry(
    State(state): State<AppState>,
    v: Viewer,
    Path((id, entry_id)): Path<(i64, i64)>,
    Form(f): Form<EntryToggle>,
) -> Page {
    v.check_csrf(f.csrf.as_deref())?;
    banks::change_entry(&state.desk, &v.actor, id, entry_id, Some(f.enabled), false).await?;
    let done = if f.enabled {
        "entry_enabled"
    } else {
        "entry_disabled"
    };
    Ok(Redirect::to(&format!("/banks/{id}?done={done}#entry-{entry_id}")).into_response())
}

// ---------------------------------------------------------------- matches on the case page

/// A match as the case page shows it.
pub struct MatchLine {
    pub id: i64,
    pub bank_id: i64,
    pub bank_name: String,
    pub entry_id: i64,
    pub distance: String,
    pub hash: String,
    pub media_url: Option<String>,
    pub matched_at: DateTime<Utc>,
    pub verdict: Option<MatchVerdict>,
    pub verdict_text: &'static str,
    /// Who judged it and when; empty before a verdict.
    pub judged: String,
}

impl MatchLine {
    pub fn of(m: MediaMatch, users: &[UserRow]) -> Self {
        let judged = match (m.verdict_by, m.verdict_at) {
            (Some(by), Some(at)) => format!(
                "{}, {}",
                users
                    .iter()
                    .find(|u| u.id == by)
                    .map_or_else(|| format!("user {by}"), |u| u.username.clone()),
                at.format("%d %b %H:%M")
            ),
            _ => String::new(),
        };
        Self {
            id: m.id,
            bank_id: m.bank_id,
            bank_name: m.bank_name,
            entry_id: m.entry_id,
            distance: distance_text(m.distance),
            hash: m.hash,
            media_url: m.media_url,
            matched_at: m.matched_at,
            verdict: m.verdict,
            verdict_text: verdict_text(m.verdict),
            judged,
        }
    }

    pub fn is(&self, verdict: &str) -> bool {
        self.verdict.is_some_and(|v| v.as_str() == verdict)
    }
}

#[derive(Deserialize)]
pub struct VerdictForm {
    csrf: Option<String>,
    #[serde(default)]
    verdict: String,
}

pub async fn judge(
    State(state): State<AppState>,
    v: Viewer,
    Path((id, match_id)): Path<(i64, i64)>,
    Form(f): Form<VerdictForm>,
) -> Page {
    v.check_csrf(f.csrf.as_deref())?;
    v.actor.require(Permission::WorkCases)?;
    let verdict = MatchVerdict::parse(&f.verdict)
        .ok_or_else(|| Error::field("verdict", "must be true_positive or false_positive"))?;
    banks::judge(&state.desk, &v.actor, id, match_id, verdict).await?;
    Ok(Redirect::to(&format!("/cases/{id}?done=judged#known-media")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_is_a_percentage_that_never_rounds_to_perfect() {
        assert_eq!(percent(None), "no verdicts yet");
        assert_eq!(percent(Some(0.75)), "75%");
        assert_eq!(percent(Some(1.0)), "100%");
        assert_eq!(percent(Some(0.0)), "0%");
        assert_eq!(percent(Some(2.0 / 3.0)), "66.7%");
        assert_eq!(percent(Some(1999.0 / 2000.0)), "99.9%");
        assert_eq!(percent(Some(1.0 / 5000.0)), "0.1%");
    }

    #[test]
    fn imports_are_told_in_words() {
        assert_eq!(import_notice(1, 0), "Imported 1 hash.");
        assert_eq!(
            import_notice(3, 2),
            "Imported 3 hashes; 2 hashes the bank held already were left as they were."
        );
        assert_eq!(
            import_notice(0, 2),
            "Nothing new: the bank held all 2 hashes already."
        );
        assert_eq!(
            import_notice(0, 1),
            "Nothing new: the bank held that hash already."
        );
        assert_eq!(distance_text(7), "7 of 256 bits");
        assert_eq!(list_format("csv"), Some(ListFormat::Csv));
        assert_eq!(list_format("xml"), None);
        assert_eq!(form_error(FieldError::new("body", "empty")).field, "hashes");
        assert_eq!(form_error(FieldError::new("line 3", "bad")).field, "line 3");
    }
}
