//! EU Digital Services Act statements of reasons (Art. 17), in exactly the form the European
//! Commission's DSA Transparency Database accepts (Art. 24(5)), and the validation of every rule its
//! API enforces.
//!
//! The API takes one statement at `POST /api/v1/statement` or up to [`MAX_BATCH`] at
//! `POST /api/v1/statements` as `{"statements":[…]}` ([`Batch`], [`batches`]). A [`Statement`] has
//! one field per API field, with the API's names; the closed lists are enums that serialise to the
//! API's constants ([`Category`], [`Keyword`], …). [`Statement::validate`] returns every
//! [`Violation`] at once, so that the API neither refuses a statement (422) nor silently drops a
//! field of it. The crate knows nothing of cases: the caller builds the statement from a decision.
//!
//! # Source of the rules
//!
//! The Commission's public repository `digital-services-act/transparency-database`, as cited in
//! `regulatory.md` (commit 69e80a0, schema in force since 1 July 2025):
//! `app/Http/Requests/StatementStoreRequest.php` and the multiple-statement rules of
//! `app/Services/GroupedSubmissionsService.php` (fields, requirements, lengths, dates, the `puid`
//! pattern), `app/Models/Statement.php` and `resources/markdown/api-documentation.md` (the value
//! lists: 16 categories, 69 keywords), `app/Services/EuropeanCountriesService.php` (the 30 EEA
//! countries) and `app/Services/EuropeanLanguagesService.php` (the 184 ISO 639-1 codes). The code
//! here is our own; only the constants are the API's.

mod batch;
mod codes;
mod enums;
mod statement;
mod validate;

#[cfg(test)]
mod fixtures;

pub use batch::{Batch, MAX_BATCH, batches};
pub use codes::{EEA_COUNTRIES, ISO_639_1_LANGUAGES, is_eea_country, is_language_code};
pub use enums::{
    AccountType, AutomatedDecision, Category, ContentType, DecisionAccount, DecisionGround,
    DecisionMonetary, DecisionProvision, DecisionVisibility, Keyword, SourceType, UnknownValue,
    YesNo,
};
pub use statement::Statement;
pub use validate::Violation;
