//! Pure types and rules shared by every stage of a case's life. Nothing here does I/O.

pub mod alert;
pub mod case;
pub mod enforcement;
pub mod events;
pub mod policy;
pub mod priority;
pub mod reply;
pub mod report;
pub mod search;
pub mod sla;
pub mod subject;
pub mod validate;
