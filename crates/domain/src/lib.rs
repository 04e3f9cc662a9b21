//! Plumbline's domain: the organisation (workspaces, vendors, teams, agents, users and roles),
//! scorecards with immutable versions, conversations, evaluations, scoring (DESIGN §3), calibration
//! sessions and alignment (DESIGN §4 and §5), and the access rules (DESIGN §1).
//!
//! Nothing here does I/O. Storage and HTTP parse their input into these types and call these
//! functions; a formula or a permission rule lives here once.

pub mod access;
pub mod calibration;
pub mod calibration_report;
pub mod conversation;
pub mod evaluation;
pub mod grader_qa;
pub mod habits;
pub mod ids;
pub mod integrity;
pub mod org;
pub mod reports;
pub mod review_plans;
pub mod scorecard;
pub mod scoring;
pub mod series;
pub mod time;

pub use ids::*;

/// Milliseconds since the Unix epoch, UTC. Every stored time is one of these.
pub type Millis = i64;
