//! The body of `POST /api/v1/statements`: at most [`MAX_BATCH`] statements a call.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::statement::Statement;
use crate::validate::Violation;

/// The most statements the API takes in one call.
pub const MAX_BATCH: usize = 100;

/// One call to `POST /api/v1/statements`; serialises to `{"statements":[…]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    pub statements: Vec<Statement>,
}

impl Batch {
    /// Checks the call as the API does: 1 to [`MAX_BATCH`] statements, each valid, and no `puid`
    /// twice within the call (the API refuses the whole call then). Violations of a statement are
    /// named `statements.<index>.<field>`.
    pub fn validate(&self) -> Result<(), Vec<Violation>> {
        let mut violations = Vec::new();
        let n = self.statements.len();
        if n == 0 || n > MAX_BATCH {
            violations.push(Violation::new(
                "statements",
                format!("must hold between 1 and {MAX_BATCH} statements (holds {n})"),
            ));
        }
        let mut first_with_puid: HashMap<&str, usize> = HashMap::new();
        for (i, statement) in self.statements.iter().enumerate() {
            if let Err(found) = statement.validate() {
                violations.extend(found.into_iter().map(|v| Violation {
                    field: format!("statements.{i}.{}", v.field),
                    reason: v.reason,
                }));
            }
            if statement.puid.is_empty() {
                continue;
            }
            if let Some(&first) = first_with_puid.get(statement.puid.as_str()) {
                violations.push(Violation::new(
                    format!("statements.{i}.puid"),
                    format!("repeats the puid of statements.{first} within one call"),
                ));
            } else {
                first_with_puid.insert(&statement.puid, i);
            }
        }
        if violations.is_empty() {
            Ok(())
        } else {
            Err(violations)
        }
    }
}

/// Splits statements into calls of at most [`MAX_BATCH`], in order. No statements, no calls.
pub fn batches(statements: Vec<Statement>) -> Vec<Batch> {
    let mut out = Vec::with_capacity(statements.len().div_ceil(MAX_BATCH));
    let mut rest = statements.into_iter().peekable();
    while rest.peek().is_some() {
        out.push(Batch {
            statements: rest.by_ref().take(MAX_BATCH).collect(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::fixtures::valid;

    fn numbered(n: usize) -> Vec<Statement> {
        (0..n)
            .map(|i| Statement {
                puid: format!("case-{i}"),
                ..valid()
            })
            .collect()
    }

    #[test]
    fn batches_of_250_are_100_100_50_in_order() {
        let calls = batches(numbered(250));
        let sizes: Vec<usize> = calls.iter().map(|b| b.statements.len()).collect();
        assert_eq!(sizes, [100, 100, 50]);
        let puids: Vec<&str> = calls
            .iter()
            .flat_map(|b| &b.statements)
            .map(|s| s.puid.as_str())
            .collect();
        let expected: Vec<String> = (0..250).map(|i| format!("case-{i}")).collect();
        assert_eq!(puids, expected);
        for call in &calls {
            assert_eq!(call.validate(), Ok(()));
        }
    }

    #[test]
    fn batch_edges() {
        assert!(batches(Vec::new()).is_empty());
        assert_eq!(batches(numbered(1)).len(), 1);
        let sizes: Vec<usize> = batches(numbered(200))
            .iter()
            .map(|b| b.statements.len())
            .collect();
        assert_eq!(sizes, [100, 100]);
        assert_eq!(batches(numbered(201)).len(), 3);
    }

    #[test]
    fn a_batch_serialises_as_the_statements_envelope() {
        let batch = Batch {
            statements: numbered(2),
        };
        let value = serde_json::to_value(&batch).unwrap();
        assert_eq!(
            value,
            json!({"statements": [
                serde_json::to_value(&batch.statements[0]).unwrap(),
                serde_json::to_value(&batch.statements[1]).unwrap(),
            ]})
        );
        assert_eq!(value["statements"][1]["puid"], json!("case-1"));
        let text = serde_json::to_string(&batch).unwrap();
        assert!(text.starts_with(r#"{"statements":[{"decision_visibility":"#));
        assert_eq!(serde_json::from_str::<Batch>(&text).unwrap(), batch);
    }

    #[test]
    fn a_batch_holds_1_to_100_statements() {
        let v = Batch { statements: vec![] }.validate().unwrap_err();
        assert_eq!(v[0].field, "statements");
        let v = Batch {
            statements: numbered(101),
        }
        .validate()
        .unwrap_err();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].field, "statements");
        assert_eq!(
            Batch {
                statements: numbered(100)
            }
            .validate(),
            Ok(())
        );
    }

    #[test]
    fn a_batch_repeats_no_puid() {
        let mut statements = numbered(3);
        statements[2].puid = "case-0".into();
        let v = Batch { statements }.validate().unwrap_err();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].field, "statements.2.puid");
        assert!(v[0].reason.contains("statements.0"), "{}", v[0]);
    }

    #[test]
    fn a_batch_reports_statement_violations_by_index() {
        let mut statements = numbered(2);
        statements[1].decision_facts.clear();
        let v = Batch { statements }.validate().unwrap_err();
        assert_eq!(
            v,
            [Violation::new("statements.1.decision_facts", "is required")]
        );
    }
}
