//! Who may see and do what (DESIGN §1), decided here once.
//!
//! Vendor scoping is a security boundary: a user of a BPO vendor (reviewer, vendor_lead, agent)
//! sees only rows of their own vendor. Admins, qa_leads and users of the internal vendor see the
//! whole workspace (internal graders review the BPO partners' conversations). Something a user
//! may not see answers "not found", never "forbidden", so existence does not leak.

use crate::org::Role;
use crate::{AgentId, UserId, VendorId, WorkspaceId};

/// The signed-in user, as every permission check sees them.
#[derive(Clone, Debug, PartialEq)]
pub struct Viewer {
    pub user_id: UserId,
    pub workspace_id: WorkspaceId,
    pub role: Role,
    pub vendor_id: VendorId,
    pub vendor_is_internal: bool,
    /// For role `agent`: the agent record they are.
    pub agent_id: Option<AgentId>,
}

/// Which vendors' rows a viewer may read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VendorScope {
    All,
    Only(VendorId),
}

impl VendorScope {
    pub fn allows(self, vendor: VendorId) -> bool {
        match self {
            VendorScope::All => true,
            VendorScope::Only(v) => v == vendor,
        }
    }
    pub fn vendor(self) -> Option<VendorId> {
        match self {
            VendorScope::All => None,
            VendorScope::Only(v) => Some(v),
        }
    }
}

/// An action that needs a role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// Users, vendors, teams, settings.
    Administer,
    /// Create scorecards and versions, activate them.
    ManageScorecards,
    /// Create and import conversations, create agents.
    ManageConversations,
    /// Score conversations (reviews).
    Evaluate,
    /// Score their own conversations.
    SelfReview,
    /// Read reports.
    ReadReports,
    /// Create, facilitate and submit calibration sessions; run grade-the-grader.
    Calibrate,
    /// List users (of their scope).
    ListUsers,
}

impl Viewer {
    pub fn vendor_scope(&self) -> VendorScope {
        match self.role {
            Role::Admin | Role::QaLead => VendorScope::All,
            Role::Reviewer | Role::VendorLead | Role::Agent if self.vendor_is_internal && self.role != Role::Agent => {
                VendorScope::All
            }
            _ => VendorScope::Only(self.vendor_id),
        }
    }

    pub fn may(&self, permission: Permission) -> bool {
        use Permission::*;
        use Role::*;
        match permission {
            Administer => self.role == Admin,
            ManageScorecards | ManageConversations | Calibrate => matches!(self.role, Admin | QaLead),
            Evaluate => matches!(self.role, Admin | QaLead | Reviewer | VendorLead),
            SelfReview => self.role == Agent,
            ReadReports | ListUsers => matches!(self.role, Admin | QaLead | VendorLead),
        }
    }

    /// Whether the viewer may read an evaluation written by `reviewer` on a conversation of
    /// `vendor` handled by `agent`, of the given kind and status.
    pub fn may_read_evaluation(
        &self,
        reviewer: UserId,
        vendor: VendorId,
        agent: Option<AgentId>,
        kind: crate::evaluation::EvaluationKind,
        submitted: bool,
    ) -> bool {
        if reviewer == self.user_id {
            return true;
        }
        if !self.vendor_scope().allows(vendor) {
            return false;
        }
        match self.role {
            Role::Admin | Role::QaLead | Role::VendorLead => true,
            Role::Reviewer => false,
            Role::Agent => submitted && kind.counts_in_iqs() && agent.is_some() && agent == self.agent_id,
        }
    }

    /// Whether the viewer may read a conversation of `vendor` handled by `agent`.
    pub fn may_read_conversation(&self, vendor: VendorId, agent: Option<AgentId>) -> bool {
        if self.role == Role::Agent {
            return self.vendor_scope().allows(vendor) && agent.is_some() && agent == self.agent_id;
        }
        self.vendor_scope().allows(vendor)
    }
}
