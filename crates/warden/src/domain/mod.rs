//! Pure types and rules shared by every stage of a case's life. Nothing here does I/O.

pub mod case;
pub mod events;
pub mod priority;
pub mod report;
pub mod sla;
pub mod subject;
pub mod validate;
