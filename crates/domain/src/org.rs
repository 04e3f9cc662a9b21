//! The organisation: workspaces, vendors (the internal one and BPO partners), teams, agents, users.

use crate::{AgentId, Millis, TeamId, UserId, VendorId, WorkspaceId};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub name: String,
    pub settings: WorkspaceSettings,
}

/// Workspace-wide policies (DESIGN §3 and §5).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct WorkspaceSettings {
    pub na_policy: NaPolicy,
    pub auto_fail_policy: AutoFailPolicy,
    pub bands: Bands,
    /// A calibration participant is within tolerance when |score delta| <= this many points.
    pub tolerance_points: f64,
    /// Activating a scorecard version warns when its latest form calibration's agreement with
    /// the calibrated answer (0..1) is below this.
    pub form_calibration_threshold: f64,
}

impl Default for WorkspaceSettings {
    fn default() -> Self {
        Self {
            na_policy: NaPolicy::Exclude,
            auto_fail_policy: AutoFailPolicy::Zero,
            bands: Bands::default(),
            tolerance_points: 5.0,
            form_calibration_threshold: 0.8,
        }
    }
}

impl WorkspaceSettings {
    /// The policies scoring depends on.
    pub fn scoring(&self) -> crate::scoring::ScoringPolicy {
        crate::scoring::ScoringPolicy { na: self.na_policy, auto_fail: self.auto_fail_policy }
    }
}

/// What an N/A answer does to the score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NaPolicy {
    /// N/A criteria leave both sums (the default).
    #[default]
    Exclude,
    /// N/A criteria count as full points.
    CountAsPass,
}

/// What a failed critical criterion does to the score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AutoFailPolicy {
    /// The evaluation scores 0 (the default).
    #[default]
    Zero,
    /// The score is kept and the evaluation is flagged as failed.
    Flag,
}

/// Score bands: >= excellent is "excellent", >= good is "good", below is "needs attention".
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Bands {
    pub excellent: f64,
    pub good: f64,
}

impl Default for Bands {
    fn default() -> Self {
        Self { excellent: 80.0, good: 70.0 }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    Excellent,
    Good,
    NeedsAttention,
}

impl Bands {
    pub fn classify(&self, score: f64) -> Band {
        if score >= self.excellent {
            Band::Excellent
        } else if score >= self.good {
            Band::Good
        } else {
            Band::NeedsAttention
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Vendor {
    pub id: VendorId,
    pub name: String,
    /// The company itself. Exactly one vendor per workspace is internal.
    pub is_internal: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Team {
    pub id: TeamId,
    pub vendor_id: VendorId,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Agent {
    pub id: AgentId,
    pub vendor_id: VendorId,
    pub team_id: Option<TeamId>,
    pub name: String,
    pub email: Option<String>,
}

/// A user's role (DESIGN §1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    QaLead,
    Reviewer,
    VendorLead,
    Agent,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Admin, Role::QaLead, Role::Reviewer, Role::VendorLead, Role::Agent];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::QaLead => "qa_lead",
            Role::Reviewer => "reviewer",
            Role::VendorLead => "vendor_lead",
            Role::Agent => "agent",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown role {0:?}: expected admin, qa_lead, reviewer, vendor_lead or agent")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| UnknownRole(s.to_string()))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    pub id: UserId,
    pub workspace_id: WorkspaceId,
    pub vendor_id: VendorId,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// For role `agent`: the agent record whose conversations this user may see.
    pub agent_id: Option<AgentId>,
    pub active: bool,
    pub created_at: Millis,
}
