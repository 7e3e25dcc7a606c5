//! What a case is about: a thing on the platform, known by its kind and the platform's id.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::validate::Checker;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Account,
    Post,
    Comment,
    Photo,
    Video,
    Message,
    Ad,
    Page,
    Group,
    Url,
}

impl SubjectKind {
    pub const ALL: [SubjectKind; 10] = [
        Self::Account,
        Self::Post,
        Self::Comment,
        Self::Photo,
        Self::Video,
        Self::Message,
        Self::Ad,
        Self::Page,
        Self::Group,
        Self::Url,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::Post => "post",
            Self::Comment => "comment",
            Self::Photo => "photo",
            Self::Video => "video",
            Self::Message => "message",
            Self::Ad => "ad",
            Self::Page => "page",
            Self::Group => "group",
            Self::Url => "url",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What the subject looked like when it was reported. Kept even if the platform deletes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// The text of the content, or the profile text of an account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media_urls: Vec<String>,
    /// PDQ hashes (64 hex digits each) of the subject's images, when the platform hashes its
    /// media itself; matched against the banks of known media as fetched media is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pdq_hashes: Vec<String>,
    /// The platform's id of the account that authored the subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_name: Option<String>,
    /// ISO 3166-1 alpha-2 country of the author or the content, upper case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// ISO 639-1 language code, lower case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// How many people have seen the subject (views) or follow the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reach: Option<u64>,
}

/// The platform's identity of a subject, and its snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    pub kind: SubjectKind,
    pub external_id: String,
    #[serde(default)]
    pub snapshot: Snapshot,
}

impl Subject {
    pub fn check(&self, c: &mut Checker) {
        c.required_text("external_id", &self.external_id, 200);
        let s = &self.snapshot;
        c.optional_text("snapshot.text", s.text.as_deref(), 50_000);
        if s.media_urls.len() > 50 {
            c.fail("snapshot.media_urls", "at most 50 media URLs");
        }
        for (i, url) in s.media_urls.iter().enumerate() {
            c.url(&format!("snapshot.media_urls[{i}]"), url);
        }
        if s.pdq_hashes.len() > 50 {
            c.fail("snapshot.pdq_hashes", "at most 50 hashes");
        }
        for (i, hash) in s.pdq_hashes.iter().enumerate() {
            if let Err(e) = hash.parse::<pdq::Hash256>() {
                c.fail(&format!("snapshot.pdq_hashes[{i}]"), e.to_string());
            }
        }
        c.optional_text("snapshot.author_id", s.author_id.as_deref(), 200);
        c.optional_text("snapshot.author_name", s.author_name.as_deref(), 200);
        if let Some(country) = &s.country {
            c.country("snapshot.country", country);
        }
        if let Some(language) = &s.language {
            c.language("snapshot.language", language);
        }
    }
}
