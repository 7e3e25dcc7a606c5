//! Reply templates: per purpose, audience and language, with `{placeholder}`s filled from the
//! case and its decision. Pure: loading checks every placeholder, rendering cannot fail.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use utoipa::ToSchema;

use super::validate::Checker;
use crate::error::Error;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Acknowledgement,
    OutcomeActionTaken,
    OutcomeNoAction,
    AppealReceived,
    AppealUpheld,
    AppealOverturned,
    AppealModified,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Reporter,
    AffectedUser,
    Partner,
    Regulator,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reporter => "reporter",
            Self::AffectedUser => "affected_user",
            Self::Partner => "partner",
            Self::Regulator => "regulator",
        }
    }
}

/// The placeholders a template may use.
pub const PLACEHOLDERS: [&str; 15] = [
    "case_ref",
    "report_ref",
    "subject_kind",
    "subject_ref",
    "received_date",
    "policy_title",
    "policy_ref",
    "actions",
    "territorial_scope",
    "explanation",
    "decision_date",
    "redress",
    "appeal_ref",
    "appeal_deadline",
    "appeal_outcome_explanation",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub purpose: Purpose,
    pub audience: Audience,
    pub language: String,
    pub subject: String,
    pub body: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateBook {
    #[serde(default)]
    pub templates: Vec<Template>,
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Rendered {
    pub language: String,
    pub subject: String,
    pub body: String,
}

/// Who hears from the desk about a report from this source; `None` for the platform's own.
pub fn audience_for(source: super::report::Source) -> Option<Audience> {
    use super::report::Source::*;
    match source {
        User | TrustedFlagger => Some(Audience::Reporter),
        Partner | Advertiser | Press | RightsHolder => Some(Audience::Partner),
        Regulator | Government | LawEnforcement => Some(Audience::Regulator),
        Internal | Automated => None,
    }
}

/// The redress options (DSA Art. 17(3)(f) and 20–21), in the reader's language where the desk
/// has it, else English: an internal complaint until `appeal_until` (none after an appeal), a
/// certified out-of-court body, and the courts.
pub fn redress(
    language: &str,
    appeal_until: Option<chrono::NaiveDate>,
    out_of_court_body: &str,
) -> String {
    let b = out_of_court_body;
    match (
        language,
        appeal_until.map(|d| d.format("%Y-%m-%d").to_string()),
    ) {
        ("de", Some(d)) => format!(
            "Sie können diese Entscheidung bis zum {d} über unser internes Beschwerdeverfahren kostenlos anfechten. \
             Sie können sich auch an {b} wenden oder ein Gericht anrufen."
        ),
        ("de", None) => format!("Sie können sich an {b} wenden oder ein Gericht anrufen."),
        ("fr", Some(d)) => format!(
            "Vous pouvez contester cette décision gratuitement via notre système interne de réclamation jusqu'au {d}. \
             Vous pouvez aussi saisir {b} ou une juridiction."
        ),
        ("fr", None) => format!("Vous pouvez saisir {b} ou une juridiction."),
        ("es", Some(d)) => format!(
            "Puede recurrir esta decisión de forma gratuita mediante nuestro sistema interno de reclamaciones hasta el {d}. \
             También puede acudir a {b} o a los tribunales."
        ),
        ("es", None) => format!("Puede acudir a {b} o a los tribunales."),
        (_, Some(d)) => format!(
            "You can appeal this decision free of charge through our internal complaint system until {d}. \
             You can also refer it to {b}, or go to court."
        ),
        (_, None) => format!("You can refer this decision to {b}, or go to court."),
    }
}

enum Piece<'a> {
    Text(&'a str),
    Brace(char),
    Field(&'a str),
}

/// Splits a template into literal text, escaped braces (`{{`, `}}`) and `{placeholders}`.
fn pieces(t: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = t;
    while let Some(i) = rest.find(['{', '}']) {
        out.push(Piece::Text(&rest[..i]));
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push(Piece::Brace(tail.as_bytes()[0] as char));
            rest = &tail[2..];
        } else if tail.starts_with('}') {
            return Err("has a lone '}' (write '}}' for a brace)".into());
        } else {
            let end = tail
                .find('}')
                .ok_or("has a '{' that is never closed (write '{{' for a brace)")?;
            out.push(Piece::Field(&tail[1..end]));
            rest = &tail[end + 1..];
        }
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

fn check_text(c: &mut Checker, field: &str, text: &str) {
    match pieces(text) {
        Err(e) => c.fail(field, e),
        Ok(ps) => {
            for p in ps {
                if let Piece::Field(name) = p
                    && !PLACEHOLDERS.contains(&name)
                {
                    c.fail(field, format!("uses unknown placeholder {{{name}}}"));
                }
            }
        }
    }
}

fn fill(text: &str, values: &BTreeMap<&str, String>) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    // Checked at load time; an unparsable text is shown as written rather than lost.
    let Ok(ps) = pieces(text) else {
        return text.to_string();
    };
    for p in ps {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Brace(b) => out.push(b),
            Piece::Field(name) => out.push_str(values.get(name).map_or("", |v| v.as_str())),
        }
    }
    out
}

impl TemplateBook {
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        let de = toml::Deserializer::parse(text)
            .map_err(|e| Error::field("templates", e.to_string()))?;
        let book: TemplateBook = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            Error::field(
                if path == "." {
                    "templates".into()
                } else {
                    path
                },
                e.into_inner().message().to_string(),
            )
        })?;
        book.check()?;
        Ok(book)
    }

    /// Every placeholder is known, every text is well formed, no variant is defined twice, and
    /// every purpose and audience has an English text to fall back on.
    pub fn check(&self) -> Result<(), Error> {
        let mut c = Checker::new();
        let mut seen = BTreeSet::new();
        for (i, t) in self.templates.iter().enumerate() {
            let at = |f: &str| format!("templates[{i}].{f}");
            c.language(&at("language"), &t.language);
            c.required_text(&at("subject"), &t.subject, 300);
            c.required_text(&at("body"), &t.body, 20_000);
            check_text(&mut c, &at("subject"), &t.subject);
            check_text(&mut c, &at("body"), &t.body);
            if !seen.insert((t.purpose, t.audience, t.language.as_str())) {
                c.fail(
                    &at("language"),
                    "this purpose and audience already has this language",
                );
            }
        }
        let languages: BTreeSet<(Purpose, Audience)> = self
            .templates
            .iter()
            .filter(|t| t.language == "en")
            .map(|t| (t.purpose, t.audience))
            .collect();
        for t in &self.templates {
            if !languages.contains(&(t.purpose, t.audience)) {
                c.fail(
                    "templates",
                    format!(
                        "{:?} to {} has no English text to fall back on",
                        t.purpose,
                        t.audience.as_str()
                    ),
                );
                break;
            }
        }
        c.finish()
    }

    /// The template for this purpose and audience in `language`, else in English; `None` when the
    /// desk sends no such message.
    pub fn find(
        &self,
        purpose: Purpose,
        audience: Audience,
        language: Option<&str>,
    ) -> Option<&Template> {
        let of = |lang: &str| {
            self.templates
                .iter()
                .find(|t| t.purpose == purpose && t.audience == audience && t.language == lang)
        };
        language.and_then(of).or_else(|| of("en"))
    }

    pub fn render(
        &self,
        purpose: Purpose,
        audience: Audience,
        language: Option<&str>,
        values: &BTreeMap<&str, String>,
    ) -> Option<Rendered> {
        let t = self.find(purpose, audience, language)?;
        Some(Rendered {
            language: t.language.clone(),
            subject: fill(&t.subject, values),
            body: fill(&t.body, values),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(body: &str) -> Result<TemplateBook, Error> {
        TemplateBook::from_toml(&format!(
            "[[templates]]\npurpose = \"acknowledgement\"\naudience = \"reporter\"\nlanguage = \"en\"\nsubject = \"Report {{report_ref}}\"\nbody = \"{body}\"\n\n\
             [[templates]]\npurpose = \"acknowledgement\"\naudience = \"reporter\"\nlanguage = \"de\"\nsubject = \"Meldung {{report_ref}}\"\nbody = \"Danke.\"\n"
        ))
    }

    fn fields(e: Error) -> Vec<String> {
        match e {
            Error::Invalid(v) => v.into_iter().map(|f| f.field).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn placeholders_are_filled_and_braces_escaped() {
        let b = book("Case {case_ref}: {{literal}} {redress}").unwrap();
        let values = BTreeMap::from([
            ("case_ref", "C-7".to_string()),
            ("report_ref", "R-9".to_string()),
            ("redress", "Appeal within 6 months.".to_string()),
        ]);
        let r = b
            .render(
                Purpose::Acknowledgement,
                Audience::Reporter,
                Some("fr"),
                &values,
            )
            .unwrap();
        assert_eq!(r.language, "en", "falls back to English");
        assert_eq!(r.subject, "Report R-9");
        assert_eq!(r.body, "Case C-7: {literal} Appeal within 6 months.");
        let de = b
            .render(
                Purpose::Acknowledgement,
                Audience::Reporter,
                Some("de"),
                &values,
            )
            .unwrap();
        assert_eq!(
            (de.language.as_str(), de.subject.as_str()),
            ("de", "Meldung R-9")
        );
        assert!(
            b.render(Purpose::AppealUpheld, Audience::Reporter, None, &values)
                .is_none()
        );
    }

    #[test]
    fn unknown_placeholders_and_broken_braces_are_refused_at_load() {
        assert_eq!(
            fields(book("Hello {reporter_name}").unwrap_err()),
            ["templates[0].body"]
        );
        assert_eq!(
            fields(book("Hello {case_ref").unwrap_err()),
            ["templates[0].body"]
        );
        assert_eq!(fields(book("Hello }").unwrap_err()), ["templates[0].body"]);
    }

    #[test]
    fn a_variant_without_english_is_refused() {
        let text = "[[templates]]\npurpose = \"appeal_upheld\"\naudience = \"reporter\"\nlanguage = \"de\"\nsubject = \"x\"\nbody = \"y\"\n";
        assert_eq!(
            fields(TemplateBook::from_toml(text).unwrap_err()),
            ["templates"]
        );
    }
}
