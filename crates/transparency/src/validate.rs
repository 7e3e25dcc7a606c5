//! The API's validation rules, checked before sending so that nothing is refused or silently
//! dropped.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::codes::{is_eea_country, is_language_code};
use crate::enums::{
    ContentType, DecisionGround, DecisionMonetary, DecisionVisibility, Keyword, SourceType,
};
use crate::statement::Statement;

/// One broken rule: the API field it concerns and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct Violation {
    /// The API field name (in a batch, `statements.<index>.<field>`).
    pub field: String,
    /// What the rule asks for.
    pub reason: String,
}

impl Violation {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Violation {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Limits of the free-text fields, in characters.
const SHORT_TEXT: usize = 500;
const LONG_TEXT: usize = 2000;
const FACTS_TEXT: usize = 5000;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a constant date")
}

/// A text counts as given when it has something besides white space: the API trims strings and
/// turns empty ones into `null` before it validates.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|s| !s.trim().is_empty())
}

/// Collects the violations of one statement.
#[derive(Default)]
struct Report(Vec<Violation>);

impl Report {
    fn push(&mut self, field: &str, reason: impl Into<String>) {
        self.0.push(Violation::new(field, reason));
    }

    fn max_len(&mut self, field: &str, value: Option<&str>, max: usize) {
        if let Some(text) = value {
            let len = text.chars().count();
            if len > max {
                self.push(
                    field,
                    format!("must be at most {max} characters (has {len})"),
                );
            }
        }
    }

    /// A text the API requires when `condition` holds and excludes (drops) otherwise.
    fn required_iff(
        &mut self,
        field: &str,
        value: &Option<String>,
        condition: bool,
        when: &str,
        max: usize,
    ) {
        let text = given(value);
        match (condition, text) {
            (true, None) => self.push(field, format!("is required when {when}")),
            (false, Some(_)) => self.push(
                field,
                format!("is only allowed when {when} (the API would drop it)"),
            ),
            _ => {}
        }
        self.max_len(field, text, max);
    }

    fn date_between(&mut self, field: &str, value: NaiveDate, from: NaiveDate, to: NaiveDate) {
        if value < from || value > to {
            self.push(
                field,
                format!("must be between {from} and {to} (is {value})"),
            );
        }
    }

    fn end_date(&mut self, field: &str, value: Option<NaiveDate>, application: NaiveDate) {
        let Some(end) = value else { return };
        let latest = date(2038, 1, 1);
        if end > latest {
            self.push(field, format!("must be {latest} or earlier (is {end})"));
        }
        if end < application {
            self.push(
                field,
                format!("must not be before application_date {application} (is {end})"),
            );
        }
    }
}

/// `^[a-zA-Z0-9-_]+$`, the API's pattern for `puid`.
fn is_puid(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// An absolute `http` or `https` URL with a host: what the API's `url` rule accepts, narrowed to
/// the web.
fn is_http_url(url: &str) -> bool {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some(rest) = strip_prefix_ignore_case(url, "https://")
        .or_else(|| strip_prefix_ignore_case(url, "http://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // Drop user information; what is left is the host and an optional port.
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        let Some((ip, after)) = bracketed.split_once(']') else {
            return false;
        };
        if ip.is_empty()
            || !ip
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return false;
        }
        match after {
            "" => (None, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (None, Some(port)),
                None => return false,
            },
        }
    } else {
        match host_port.split_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(host_port), None),
        }
    };
    if let Some(port) = port
        && (port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    match host {
        None => true, // a bracketed IP literal, checked above
        Some(host) => {
            !host.is_empty()
                && host.split('.').all(|label| {
                    !label.is_empty()
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                        && label.chars().all(|c| c.is_alphanumeric() || c == '-')
                })
        }
    }
}

impl Statement {
    /// Checks every rule of the Transparency Database API (`StatementStoreRequest` and the
    /// multiple-statement rules) and returns all violations, not just the first.
    ///
    /// Stricter than the API where the API would silently drop a field (an `*_other` text without
    /// its `OTHER`, grounds that do not match `decision_ground`, `source_identity` with
    /// `SOURCE_VOLUNTARY`, `category_specification_other` without `KEYWORD_OTHER`), and where
    /// its documentation asks more than its rules enforce (end dates not before the application
    /// date, http(s) URLs only, no repeated countries). Uniqueness of `puid` per platform is
    /// only known to the API; within one call see [`crate::Batch::validate`].
    pub fn validate(&self) -> Result<(), Vec<Violation>> {
        let mut r = Report::default();

        // At least one of the four decisions; the API reports the lack on each of them.
        let decisions = [
            ("decision_visibility", !self.decision_visibility.is_empty()),
            ("decision_monetary", self.decision_monetary.is_some()),
            ("decision_provision", self.decision_provision.is_some()),
            ("decision_account", self.decision_account.is_some()),
        ];
        if decisions.iter().all(|(_, present)| !present) {
            for (field, _) in decisions {
                r.push(
                    field,
                    "at least one of decision_visibility, decision_monetary, decision_provision \
                     and decision_account is required",
                );
            }
        }

        r.required_iff(
            "decision_visibility_other",
            &self.decision_visibility_other,
            self.decision_visibility
                .contains(&DecisionVisibility::Other),
            "decision_visibility contains DECISION_VISIBILITY_OTHER",
            SHORT_TEXT,
        );
        r.required_iff(
            "decision_monetary_other",
            &self.decision_monetary_other,
            self.decision_monetary == Some(DecisionMonetary::Other),
            "decision_monetary is DECISION_MONETARY_OTHER",
            SHORT_TEXT,
        );

        if let Some(url) = given(&self.decision_ground_reference_url) {
            if !is_http_url(url) {
                r.push(
                    "decision_ground_reference_url",
                    "must be an absolute http or https URL",
                );
            }
            r.max_len("decision_ground_reference_url", Some(url), SHORT_TEXT);
        }

        let illegal = self.decision_ground == DecisionGround::IllegalContent;
        let illegal_when = "decision_ground is DECISION_GROUND_ILLEGAL_CONTENT";
        r.required_iff(
            "illegal_content_legal_ground",
            &self.illegal_content_legal_ground,
            illegal,
            illegal_when,
            SHORT_TEXT,
        );
        r.required_iff(
            "illegal_content_explanation",
            &self.illegal_content_explanation,
            illegal,
            illegal_when,
            LONG_TEXT,
        );

        let incompatible = self.decision_ground == DecisionGround::IncompatibleContent;
        let incompatible_when = "decision_ground is DECISION_GROUND_INCOMPATIBLE_CONTENT";
        r.required_iff(
            "incompatible_content_ground",
            &self.incompatible_content_ground,
            incompatible,
            incompatible_when,
            SHORT_TEXT,
        );
        r.required_iff(
            "incompatible_content_explanation",
            &self.incompatible_content_explanation,
            incompatible,
            incompatible_when,
            LONG_TEXT,
        );
        if let Some(answer) = self.incompatible_content_illegal
            && !incompatible
        {
            r.push(
                "incompatible_content_illegal",
                format!(
                    "is only allowed when {incompatible_when} (is {answer}; the API would drop it)"
                ),
            );
        }

        if self.content_type.is_empty() {
            r.push("content_type", "is required: at least one content type");
        }
        r.required_iff(
            "content_type_other",
            &self.content_type_other,
            self.content_type.contains(&ContentType::Other),
            "content_type contains CONTENT_TYPE_OTHER",
            SHORT_TEXT,
        );

        let other_keyword = self.category_specification.contains(&Keyword::Other);
        if given(&self.category_specification_other).is_some() && !other_keyword {
            r.push(
                "category_specification_other",
                "is only allowed when category_specification contains KEYWORD_OTHER (the API \
                 would drop it)",
            );
        }
        r.max_len(
            "category_specification_other",
            given(&self.category_specification_other),
            SHORT_TEXT,
        );

        for (i, code) in self.territorial_scope.iter().enumerate() {
            if !is_eea_country(code) {
                r.push(
                    "territorial_scope",
                    format!(
                        "entry {i} ({code:?}) is not the upper-case ISO 3166-1 alpha-2 code of \
                         an EEA country"
                    ),
                );
            } else if self.territorial_scope[..i].contains(code) {
                r.push(
                    "territorial_scope",
                    format!("entry {i} ({code:?}) is listed more than once"),
                );
            }
        }

        if let Some(language) = given(&self.content_language)
            && !is_language_code(language)
        {
            let reason = if is_language_code(&language.to_ascii_uppercase()) {
                format!("must be upper case ({:?})", language.to_ascii_uppercase())
            } else {
                format!("{language:?} is not an ISO 639-1 language code")
            };
            r.push("content_language", reason);
        }

        let latest = date(2038, 1, 1);
        r.date_between("content_date", self.content_date, date(2000, 1, 1), latest);
        r.date_between(
            "application_date",
            self.application_date,
            date(2020, 1, 1),
            latest,
        );
        for (field, value) in [
            (
                "end_date_account_restriction",
                self.end_date_account_restriction,
            ),
            (
                "end_date_monetary_restriction",
                self.end_date_monetary_restriction,
            ),
            (
                "end_date_service_restriction",
                self.end_date_service_restriction,
            ),
            (
                "end_date_visibility_restriction",
                self.end_date_visibility_restriction,
            ),
        ] {
            r.end_date(field, value, self.application_date);
        }

        if self.decision_facts.trim().is_empty() {
            r.push("decision_facts", "is required");
        }
        r.max_len("decision_facts", Some(&self.decision_facts), FACTS_TEXT);

        let source_identity = given(&self.source_identity);
        if source_identity.is_some() && self.source_type == SourceType::Voluntary {
            r.push(
                "source_identity",
                "must be absent when source_type is SOURCE_VOLUNTARY (the API would drop it)",
            );
        }
        r.max_len("source_identity", source_identity, SHORT_TEXT);

        if self.puid.is_empty() {
            r.push("puid", "is required");
        } else if !is_puid(&self.puid) {
            r.push(
                "puid",
                "may only contain the letters a-z and A-Z, the digits 0-9, '-' and '_'",
            );
        }
        r.max_len("puid", Some(&self.puid), SHORT_TEXT);

        if r.0.is_empty() { Ok(()) } else { Err(r.0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enums::{Category, DecisionAccount, DecisionProvision, YesNo};
    use crate::fixtures::{date, valid, valid_incompatible};

    /// Breaks `base` with `change` and returns the violations, after checking that `base` itself
    /// passes (so that every test can fail).
    fn break_it(base: fn() -> Statement, change: impl FnOnce(&mut Statement)) -> Vec<Violation> {
        let mut s = base();
        assert_eq!(s.validate(), Ok(()), "the fixture itself must pass");
        change(&mut s);
        s.validate()
            .expect_err("the broken statement must be refused")
    }

    /// Every violation names `field`, and there is at least one.
    fn only(violations: &[Violation], field: &str) {
        assert!(!violations.is_empty());
        for v in violations {
            assert_eq!(v.field, field, "unexpected violation {v}");
        }
    }

    fn text(n: usize) -> String {
        "é".repeat(n)
    }

    #[test]
    fn the_fixtures_pass() {
        assert_eq!(valid().validate(), Ok(()));
        assert_eq!(valid_incompatible().validate(), Ok(()));
    }

    #[test]
    fn violation_displays_field_and_reason() {
        let v = Violation::new("puid", "is required");
        assert_eq!(v.to_string(), "puid: is required");
    }

    // --- decision_*: at least one of the four

    #[test]
    fn at_least_one_decision_is_required() {
        let v = break_it(valid, |s| s.decision_visibility.clear());
        let fields: Vec<&str> = v.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "decision_visibility",
                "decision_monetary",
                "decision_provision",
                "decision_account"
            ]
        );
    }

    #[test]
    fn any_one_decision_is_enough() {
        for change in [
            |s: &mut Statement| s.decision_monetary = Some(DecisionMonetary::Suspension),
            |s: &mut Statement| s.decision_provision = Some(DecisionProvision::TotalTermination),
            |s: &mut Statement| s.decision_account = Some(DecisionAccount::Terminated),
        ] {
            let mut s = valid();
            s.decision_visibility.clear();
            change(&mut s);
            assert_eq!(s.validate(), Ok(()));
        }
    }

    // --- decision_visibility_other

    #[test]
    fn decision_visibility_other_is_required_with_other() {
        let v = break_it(valid, |s| {
            s.decision_visibility.push(DecisionVisibility::Other)
        });
        only(&v, "decision_visibility_other");
        let v = break_it(valid, |s| {
            s.decision_visibility.push(DecisionVisibility::Other);
            s.decision_visibility_other = Some("  ".into());
        });
        only(&v, "decision_visibility_other");
    }

    #[test]
    fn decision_visibility_other_is_refused_without_other() {
        let v = break_it(valid, |s| {
            s.decision_visibility_other = Some("Shadow ban".into())
        });
        only(&v, "decision_visibility_other");
    }

    #[test]
    fn decision_visibility_other_is_at_most_500_characters() {
        let v = break_it(valid, |s| {
            s.decision_visibility.push(DecisionVisibility::Other);
            s.decision_visibility_other = Some(text(501));
        });
        only(&v, "decision_visibility_other");
    }

    // --- decision_monetary_other

    #[test]
    fn decision_monetary_other_is_required_with_other() {
        let v = break_it(valid, |s| {
            s.decision_monetary = Some(DecisionMonetary::Other)
        });
        only(&v, "decision_monetary_other");
    }

    #[test]
    fn decision_monetary_other_is_refused_without_other() {
        let v = break_it(valid, |s| {
            s.decision_monetary = Some(DecisionMonetary::Suspension);
            s.decision_monetary_other = Some("Held".into());
        });
        only(&v, "decision_monetary_other");
    }

    #[test]
    fn decision_monetary_other_is_at_most_500_characters() {
        let v = break_it(valid, |s| {
            s.decision_monetary = Some(DecisionMonetary::Other);
            s.decision_monetary_other = Some(text(501));
        });
        only(&v, "decision_monetary_other");
    }

    // --- decision_ground_reference_url

    #[test]
    fn decision_ground_reference_url_must_be_an_http_url() {
        for bad in [
            "notvalidurl",
            "example.org/terms",
            "ftp://example.org/terms",
            "https://",
            "https:///terms",
            "https://exa mple.org",
            "https://example..org",
            "https://-example.org",
            "https://example.org:port/",
            "mailto:legal@example.org",
        ] {
            let v = break_it(valid, |s| {
                s.decision_ground_reference_url = Some(bad.into())
            });
            only(&v, "decision_ground_reference_url");
        }
    }

    #[test]
    fn decision_ground_reference_url_accepts_web_urls() {
        for good in [
            "https://www.goodurl.com",
            "http://example.org/terms?v=3#section-4",
            "HTTPS://EXAMPLE.ORG",
            "https://user@example.org:8443/tos",
            "https://[2001:db8::1]/tos",
            "https://bundesjustizamt.de/DE/Themen/NetzDG/NetzDG_node.html",
            "https://müller.de/agb",
        ] {
            let mut s = valid();
            s.decision_ground_reference_url = Some(good.into());
            assert_eq!(s.validate(), Ok(()), "{good}");
        }
    }

    #[test]
    fn decision_ground_reference_url_is_at_most_500_characters() {
        let v = break_it(valid, |s| {
            s.decision_ground_reference_url =
                Some(format!("https://example.org/{}", "a".repeat(481)))
        });
        only(&v, "decision_ground_reference_url");
    }

    // --- illegal_content_*

    #[test]
    fn illegal_content_legal_ground_is_required_for_illegal_content() {
        let v = break_it(valid, |s| s.illegal_content_legal_ground = None);
        only(&v, "illegal_content_legal_ground");
    }

    #[test]
    fn illegal_content_explanation_is_required_for_illegal_content() {
        let v = break_it(valid, |s| {
            s.illegal_content_explanation = Some(String::new())
        });
        only(&v, "illegal_content_explanation");
    }

    #[test]
    fn illegal_content_legal_ground_is_at_most_500_characters() {
        let v = break_it(valid, |s| s.illegal_content_legal_ground = Some(text(501)));
        only(&v, "illegal_content_legal_ground");
    }

    #[test]
    fn illegal_content_explanation_is_at_most_2000_characters() {
        let v = break_it(valid, |s| s.illegal_content_explanation = Some(text(2001)));
        only(&v, "illegal_content_explanation");
    }

    #[test]
    fn illegal_content_legal_ground_is_refused_for_incompatible_content() {
        let v = break_it(valid_incompatible, |s| {
            s.illegal_content_legal_ground = Some("Section 130 StGB".into())
        });
        only(&v, "illegal_content_legal_ground");
    }

    #[test]
    fn illegal_content_explanation_is_refused_for_incompatible_content() {
        let v = break_it(valid_incompatible, |s| {
            s.illegal_content_explanation = Some("Illegal too".into())
        });
        only(&v, "illegal_content_explanation");
    }

    // --- incompatible_content_*

    #[test]
    fn incompatible_content_ground_is_required_for_incompatible_content() {
        let v = break_it(valid_incompatible, |s| s.incompatible_content_ground = None);
        only(&v, "incompatible_content_ground");
    }

    #[test]
    fn incompatible_content_explanation_is_required_for_incompatible_content() {
        let v = break_it(valid_incompatible, |s| {
            s.incompatible_content_explanation = None
        });
        only(&v, "incompatible_content_explanation");
    }

    #[test]
    fn incompatible_content_ground_is_at_most_500_characters() {
        let v = break_it(valid_incompatible, |s| {
            s.incompatible_content_ground = Some(text(501))
        });
        only(&v, "incompatible_content_ground");
    }

    #[test]
    fn incompatible_content_explanation_is_at_most_2000_characters() {
        let v = break_it(valid_incompatible, |s| {
            s.incompatible_content_explanation = Some(text(2001))
        });
        only(&v, "incompatible_content_explanation");
    }

    #[test]
    fn incompatible_content_ground_is_refused_for_illegal_content() {
        let v = break_it(valid, |s| {
            s.incompatible_content_ground = Some("Guidelines 4".into())
        });
        only(&v, "incompatible_content_ground");
    }

    #[test]
    fn incompatible_content_explanation_is_refused_for_illegal_content() {
        let v = break_it(valid, |s| {
            s.incompatible_content_explanation = Some("Against the guidelines".into())
        });
        only(&v, "incompatible_content_explanation");
    }

    #[test]
    fn incompatible_content_illegal_only_with_incompatible_content() {
        let v = break_it(valid, |s| s.incompatible_content_illegal = Some(YesNo::Yes));
        only(&v, "incompatible_content_illegal");
        let mut s = valid_incompatible();
        s.incompatible_content_illegal = Some(YesNo::Yes);
        assert_eq!(s.validate(), Ok(()));
    }

    // --- content_type

    #[test]
    fn content_type_is_required() {
        let v = break_it(valid, |s| s.content_type.clear());
        only(&v, "content_type");
    }

    #[test]
    fn content_type_other_is_required_with_other() {
        let v = break_it(valid, |s| s.content_type.push(ContentType::Other));
        only(&v, "content_type_other");
    }

    #[test]
    fn content_type_other_is_refused_without_other() {
        let v = break_it(valid, |s| s.content_type_other = Some("Sticker".into()));
        only(&v, "content_type_other");
    }

    #[test]
    fn content_type_other_is_at_most_500_characters() {
        let v = break_it(valid, |s| {
            s.content_type.push(ContentType::Other);
            s.content_type_other = Some(text(501));
        });
        only(&v, "content_type_other");
    }

    // --- category_specification_other

    #[test]
    fn category_specification_other_is_at_most_500_characters() {
        let v = break_it(valid, |s| {
            s.category_specification = vec![Keyword::Other];
            s.category_specification_other = Some(text(501));
        });
        only(&v, "category_specification_other");
    }

    #[test]
    fn category_specification_other_is_refused_without_keyword_other() {
        let v = break_it(valid, |s| {
            s.category_specification = vec![Keyword::HateSpeech];
            s.category_specification_other = Some("Slur in a username".into());
        });
        only(&v, "category_specification_other");
    }

    #[test]
    fn category_specification_other_is_optional_with_keyword_other() {
        let mut s = valid();
        s.category_specification = vec![Keyword::HateSpeech, Keyword::Other];
        s.category_addition = vec![Category::Violence];
        assert_eq!(s.validate(), Ok(()));
        s.category_specification_other = Some("Slur in a username".into());
        assert_eq!(s.validate(), Ok(()));
    }

    // --- territorial_scope

    #[test]
    fn territorial_scope_entries_are_eea_countries() {
        for bad in ["UK", "CH", "EU", "EL", "XY"] {
            let v = break_it(valid, |s| s.territorial_scope.push(bad.into()));
            only(&v, "territorial_scope");
            assert!(v[0].reason.contains(bad), "{}", v[0]);
        }
    }

    #[test]
    fn territorial_scope_entries_are_upper_case() {
        let v = break_it(valid, |s| s.territorial_scope = vec!["de".into()]);
        only(&v, "territorial_scope");
    }

    #[test]
    fn territorial_scope_has_no_duplicates() {
        let v = break_it(valid, |s| {
            s.territorial_scope = vec!["DE".into(), "AT".into(), "DE".into()]
        });
        only(&v, "territorial_scope");
        assert_eq!(v.len(), 1);
        assert!(v[0].reason.contains("entry 2"), "{}", v[0]);
    }

    #[test]
    fn territorial_scope_may_be_the_whole_eea() {
        let mut s = valid();
        s.territorial_scope = crate::EEA_COUNTRIES.iter().map(|c| c.to_string()).collect();
        assert_eq!(s.validate(), Ok(()));
    }

    // --- content_language

    #[test]
    fn content_language_is_upper_case() {
        let v = break_it(valid, |s| s.content_language = Some("de".into()));
        only(&v, "content_language");
        assert!(v[0].reason.contains("upper case"), "{}", v[0]);
    }

    #[test]
    fn content_language_is_an_iso_639_1_code() {
        for bad in ["XX", "DEU", "D", "E1"] {
            let v = break_it(valid, |s| s.content_language = Some(bad.into()));
            only(&v, "content_language");
        }
        let mut s = valid();
        s.content_language = Some("VI".into());
        assert_eq!(s.validate(), Ok(()));
    }

    // --- dates

    #[test]
    fn content_date_is_not_before_2000() {
        let v = break_it(valid, |s| s.content_date = date(1999, 12, 31));
        only(&v, "content_date");
    }

    #[test]
    fn content_date_is_not_after_2038_01_01() {
        let v = break_it(valid, |s| s.content_date = date(2038, 1, 2));
        only(&v, "content_date");
    }

    #[test]
    fn application_date_is_not_before_2020() {
        let v = break_it(valid, |s| {
            s.application_date = date(2019, 12, 31);
            s.content_date = date(2019, 12, 1);
        });
        only(&v, "application_date");
    }

    #[test]
    fn application_date_is_not_after_2038_01_01() {
        let v = break_it(valid, |s| s.application_date = date(2038, 1, 2));
        only(&v, "application_date");
    }

    #[test]
    fn dates_at_the_bounds_pass() {
        let mut s = valid();
        s.content_date = date(2000, 1, 1);
        s.application_date = date(2020, 1, 1);
        assert_eq!(s.validate(), Ok(()));
        s.content_date = date(2038, 1, 1);
        s.application_date = date(2038, 1, 1);
        s.end_date_account_restriction = Some(date(2038, 1, 1));
        assert_eq!(s.validate(), Ok(()));
    }

    /// Sets one of the four end dates, by field name.
    fn set_end(s: &mut Statement, field: &str, value: NaiveDate) {
        let slot = match field {
            "end_date_account_restriction" => &mut s.end_date_account_restriction,
            "end_date_monetary_restriction" => &mut s.end_date_monetary_restriction,
            "end_date_service_restriction" => &mut s.end_date_service_restriction,
            "end_date_visibility_restriction" => &mut s.end_date_visibility_restriction,
            other => panic!("no end date {other}"),
        };
        *slot = Some(value);
    }

    const END_DATES: [&str; 4] = [
        "end_date_account_restriction",
        "end_date_monetary_restriction",
        "end_date_service_restriction",
        "end_date_visibility_restriction",
    ];

    #[test]
    fn end_dates_are_not_after_2038_01_01() {
        for field in END_DATES {
            let v = break_it(valid, |s| set_end(s, field, date(2038, 1, 2)));
            only(&v, field);
        }
    }

    #[test]
    fn end_dates_are_not_before_the_application_date() {
        for field in END_DATES {
            let v = break_it(valid, |s| set_end(s, field, date(2025, 7, 1)));
            only(&v, field);
        }
        let mut s = valid();
        let application = s.application_date;
        for field in END_DATES {
            set_end(&mut s, field, application);
        }
        assert_eq!(s.validate(), Ok(()));
    }

    // --- decision_facts

    #[test]
    fn decision_facts_is_required() {
        let v = break_it(valid, |s| s.decision_facts.clear());
        only(&v, "decision_facts");
        let v = break_it(valid, |s| s.decision_facts = " \n\t".into());
        only(&v, "decision_facts");
    }

    #[test]
    fn decision_facts_is_at_most_5000_characters() {
        let v = break_it(valid, |s| s.decision_facts = text(5001));
        only(&v, "decision_facts");
    }

    // --- source_identity

    #[test]
    fn source_identity_is_at_most_500_characters() {
        let v = break_it(valid, |s| s.source_identity = Some(text(501)));
        only(&v, "source_identity");
    }

    #[test]
    fn source_identity_is_refused_for_voluntary_decisions() {
        let v = break_it(valid, |s| {
            s.source_type = SourceType::Voluntary;
            s.source_identity = Some("Our own classifier".into());
        });
        only(&v, "source_identity");
        let mut s = valid();
        s.source_type = SourceType::Voluntary;
        assert_eq!(s.validate(), Ok(()));
    }

    // --- puid

    #[test]
    fn puid_is_required() {
        let v = break_it(valid, |s| s.puid.clear());
        only(&v, "puid");
    }

    #[test]
    fn puid_is_at_most_500_characters() {
        let v = break_it(valid, |s| s.puid = "a".repeat(501));
        only(&v, "puid");
        let mut s = valid();
        s.puid = "a".repeat(500);
        assert_eq!(s.validate(), Ok(()));
    }

    #[test]
    fn puid_matches_the_api_pattern() {
        for bad in [
            "very bad é + pu.id",
            "case 42",
            "case/42",
            "case-42\n",
            "ünïcode",
        ] {
            let v = break_it(valid, |s| s.puid = bad.into());
            only(&v, "puid");
        }
        let mut s = valid();
        s.puid = "TK421_b5ec958d-892a-4c11".into();
        assert_eq!(s.validate(), Ok(()));
    }

    // --- general

    #[test]
    fn lengths_are_counted_in_characters_not_bytes() {
        // 500 two-byte characters are 1000 bytes, and still allowed.
        let mut s = valid();
        s.illegal_content_legal_ground = Some(text(500));
        s.illegal_content_explanation = Some(text(2000));
        s.decision_facts = text(5000);
        s.source_identity = Some(text(500));
        assert_eq!(s.validate(), Ok(()));
    }

    #[test]
    fn all_violations_are_collected() {
        let mut s = valid();
        s.decision_visibility = vec![DecisionVisibility::Other];
        s.illegal_content_explanation = None;
        s.content_type.clear();
        s.territorial_scope.push("CH".into());
        s.content_language = Some("en".into());
        s.decision_facts.clear();
        s.puid = "no spaces".into();
        let fields: Vec<String> = s
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(
            fields,
            [
                "decision_visibility_other",
                "illegal_content_explanation",
                "content_type",
                "territorial_scope",
                "content_language",
                "decision_facts",
                "puid"
            ]
        );
    }
}
