//! Field checks that collect every problem with an input, each named by its path.

use crate::error::FieldError;

#[derive(Debug, Default)]
pub struct Checker {
    prefix: String,
    pub errors: Vec<FieldError>,
}

impl Checker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks made under `prefix` name their fields `prefix.field`.
    pub fn with_prefix(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            errors: Vec::new(),
        }
    }

    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        let e = FieldError::new(field, message);
        self.errors.push(if self.prefix.is_empty() {
            e
        } else {
            e.under(&self.prefix)
        });
    }

    pub fn required_text(&mut self, field: &str, value: &str, max_chars: usize) {
        if value.trim().is_empty() {
            self.fail(field, "is required and must not be blank");
        } else {
            self.max_len(field, value, max_chars);
        }
    }

    pub fn optional_text(&mut self, field: &str, value: Option<&str>, max_chars: usize) {
        if let Some(v) = value {
            self.max_len(field, v, max_chars);
        }
    }

    fn max_len(&mut self, field: &str, value: &str, max_chars: usize) {
        // Count characters, not bytes: limits are promises to people typing text.
        if value.chars().count() > max_chars {
            self.fail(field, format!("must be at most {max_chars} characters"));
        }
    }

    pub fn url(&mut self, field: &str, value: &str) {
        if !(value.starts_with("https://") || value.starts_with("http://")) || value.len() < 10 {
            self.fail(field, "must be an http(s) URL");
        } else if value.len() > 2048 {
            self.fail(field, "must be at most 2048 characters");
        }
    }

    pub fn country(&mut self, field: &str, value: &str) {
        if value.len() != 2 || !value.bytes().all(|b| b.is_ascii_uppercase()) {
            self.fail(
                field,
                "must be an ISO 3166-1 alpha-2 code in upper case, e.g. DE",
            );
        }
    }

    pub fn language(&mut self, field: &str, value: &str) {
        if value.len() != 2 || !value.bytes().all(|b| b.is_ascii_lowercase()) {
            self.fail(field, "must be an ISO 639-1 code in lower case, e.g. de");
        }
    }

    /// A short machine name: lower-case letters, digits, `_`, `-` and `.`.
    pub fn slug(&mut self, field: &str, value: &str, max_chars: usize) {
        if value.is_empty() || value.len() > max_chars {
            self.fail(field, format!("must be 1 to {max_chars} characters"));
        } else if !value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.".contains(&b))
        {
            self.fail(field, "may contain only a-z, 0-9, '_', '-' and '.'");
        }
    }

    pub fn absorb(&mut self, other: Checker) {
        self.errors.extend(other.errors);
    }

    pub fn finish(self) -> Result<(), crate::Error> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(crate::Error::Invalid(self.errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_every_bad_field_with_its_path() {
        let mut c = Checker::with_prefix("reports[2]");
        c.required_text("reason", "  ", 10);
        c.country("jurisdiction", "de");
        c.slug("tag", "Bad Tag", 20);
        let fields: Vec<_> = c.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "reports[2].reason",
                "reports[2].jurisdiction",
                "reports[2].tag"
            ]
        );
    }

    #[test]
    fn counts_characters_not_bytes() {
        let mut c = Checker::new();
        c.required_text("t", "ééééé", 5);
        assert!(c.errors.is_empty());
        c.required_text("t", "éééééé", 5);
        assert_eq!(c.errors.len(), 1);
    }
}
