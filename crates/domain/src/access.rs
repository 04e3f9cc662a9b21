//! Who may see and do what (DESIGN §1), decided here once.
//!
//! Vendor scoping is a security boundary: a user of a BPO vendor (reviewer, vendor_lead, agent)
//! sees only rows of their own vendor. Admins, qa_leads and users of the internal vendor see the
//! whole workspace (internal graders review the BPO partners' conversations). Something a user
//! may not see answers "not found", never "forbidden", so existence does not leak.

use crate::calibration::{CalibrationSession, SessionMode, SessionStatus};
use crate::org::Role;
use crate::scoring::ScoringPolicy;
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
    /// The workspace's scoring policies, read with the credential: a submission scores with
    /// them without a read of its own.
    pub scoring: ScoringPolicy,
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
    /// Create review plans, draw them and give out the reviews.
    AssignReviews,
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
            ManageScorecards | ManageConversations | Calibrate | AssignReviews => matches!(self.role, Admin | QaLead),
            Evaluate => matches!(self.role, Admin | QaLead | Reviewer | VendorLead),
            SelfReview => self.role == Agent,
            ReadReports | ListUsers => matches!(self.role, Admin | QaLead | VendorLead),
        }
    }

    /// Whose review-plan items (progress) the viewer may read: every grader's for those who
    /// assign reviews, their own vendor's graders' for a vendor lead, nobody's otherwise.
    pub fn review_progress_scope(&self) -> Option<VendorScope> {
        if self.may(Permission::AssignReviews) {
            Some(VendorScope::All)
        } else if self.role == Role::VendorLead {
            Some(VendorScope::Only(self.vendor_id))
        } else {
            None
        }
    }

    /// Whether the viewer may read an evaluation. The benchmark grader of an open audit of it
    /// may not (the re-grade is blind). A participant's task in a calibration session
    /// is its author's and the calibrators' only (others see it through the session, once the
    /// blind rules allow); everything else follows the vendor scope and the role.
    pub fn may_read_evaluation(&self, evaluation: &crate::evaluation::Evaluation) -> bool {
        if evaluation.reviewer_id == self.user_id {
            return true;
        }
        if evaluation.blind_to == Some(self.user_id) {
            return false;
        }
        if evaluation.calibration_session_id.is_some() && !self.may(Permission::Calibrate) {
            return false;
        }
        if !self.vendor_scope().allows(evaluation.vendor_id) {
            return false;
        }
        let submitted = evaluation.status == crate::evaluation::EvaluationStatus::Submitted;
        match self.role {
            Role::Admin | Role::QaLead | Role::VendorLead => true,
            Role::Reviewer => false,
            Role::Agent => {
                submitted
                    && evaluation.kind.counts_in_iqs()
                    && evaluation.agent_id.is_some()
                    && evaluation.agent_id == self.agent_id
            }
        }
    }

    /// How the viewer stands to a calibration session: facilitators (the session's facilitator,
    /// admins and qa_leads) see everything; participants see the session unless it is hidden
    /// from them; anyone else does not know it exists.
    pub fn session_role(&self, session: &CalibrationSession, is_participant: bool) -> SessionRole {
        if session.facilitator_id == self.user_id || self.may(Permission::Calibrate) {
            SessionRole::Facilitator
        } else if is_participant && session.mode != SessionMode::Hidden {
            SessionRole::Participant
        } else {
            SessionRole::Outsider
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

/// A viewer's relation to one calibration session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionRole {
    Facilitator,
    Participant,
    /// Not related, or a participant of a hidden session: the session answers 404.
    Outsider,
}

impl SessionRole {
    /// Whether this viewer may see other participants' answers, comments and scores (and any
    /// count derived from them). Blind: a participant only after they submitted all their scores
    /// and the facilitator revealed. Open: at any time. Hidden: never.
    pub fn sees_others_work(self, session: &CalibrationSession, submitted_all_own: bool) -> bool {
        match self {
            SessionRole::Facilitator => true,
            SessionRole::Outsider => false,
            SessionRole::Participant => match session.mode {
                SessionMode::Open => true,
                SessionMode::Hidden => false,
                SessionMode::Blind => submitted_all_own && session.status != SessionStatus::Scoring,
            },
        }
    }
}
