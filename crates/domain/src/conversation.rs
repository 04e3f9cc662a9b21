//! Conversations (contacts, tickets, calls) as the helpdesk knows them (DESIGN §2).

use crate::{AgentId, ConversationId, Millis, TeamId, VendorId};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Chat,
    Phone,
    Social,
    Other,
}

impl Channel {
    pub const ALL: [Channel; 5] = [Channel::Email, Channel::Chat, Channel::Phone, Channel::Social, Channel::Other];
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Chat => "chat",
            Channel::Phone => "phone",
            Channel::Social => "social",
            Channel::Other => "other",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Channel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str() == lower)
            .ok_or_else(|| format!("unknown channel {s:?}: expected email, chat, phone, social or other"))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthorRole {
    Customer,
    Agent,
    System,
}

impl FromStr for AuthorRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "customer" => Ok(Self::Customer),
            "agent" => Ok(Self::Agent),
            "system" => Ok(Self::System),
            _ => Err(format!("unknown author {s:?}: expected customer, agent or system")),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Message {
    pub author: AuthorRole,
    pub text: String,
    /// Milliseconds since the Unix epoch, when known.
    pub at: Option<Millis>,
}

/// A conversation as stored, with its organisation resolved to ids.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Conversation {
    pub id: ConversationId,
    pub external_id: String,
    pub channel: Channel,
    pub agent_id: Option<AgentId>,
    pub team_id: Option<TeamId>,
    pub vendor_id: VendorId,
    pub started_at: Millis,
    pub subject: String,
    pub transcript: Vec<Message>,
    pub tags: Vec<String>,
    pub metrics: ConversationMetrics,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// The CSAT values a conversation can have.
pub const CSAT_SCALE: std::ops::RangeInclusive<i64> = 1..=5;

/// What the helpdesk knows about the outcome.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConversationMetrics {
    /// 1 to 5.
    pub csat: Option<i64>,
    /// 0 to 10.
    pub nps: Option<i64>,
    /// First-contact resolution.
    pub fcr: Option<bool>,
    pub handle_time_seconds: Option<i64>,
}

/// A conversation as an import row or API request gives it: organisation by name.
/// Produced by the import parsers and by the create endpoint; already checked field by field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConversationRecord {
    pub external_id: String,
    pub channel: Channel,
    /// Agent name; created if missing.
    pub agent: Option<String>,
    /// Team name; created if missing.
    pub team: Option<String>,
    /// Vendor name; must exist. None means the workspace's internal vendor.
    pub vendor: Option<String>,
    pub started_at: Millis,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub transcript: Vec<Message>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub metrics: ConversationMetrics,
}

/// Limits on a conversation record, shared by every entry point.
pub const MAX_EXTERNAL_ID: usize = 200;
pub const MAX_NAME: usize = 200;
pub const MAX_SUBJECT: usize = 1_000;
pub const MAX_MESSAGES: usize = 2_000;
pub const MAX_MESSAGE_TEXT: usize = 100_000;
pub const MAX_TAGS: usize = 100;

impl ConversationRecord {
    /// Checks the record's values; each problem names its field.
    pub fn check(&self) -> Vec<crate::scorecard::FieldError> {
        use crate::scorecard::FieldError;
        let mut errors = Vec::new();
        let id = self.external_id.trim();
        if id.is_empty() {
            errors.push(FieldError::new("external_id", "must not be empty"));
        } else if id.chars().count() > MAX_EXTERNAL_ID {
            errors.push(FieldError::new("external_id", format!("must be at most {MAX_EXTERNAL_ID} characters")));
        }
        for (field, value) in [("agent", &self.agent), ("team", &self.team), ("vendor", &self.vendor)] {
            if let Some(v) = value {
                if v.trim().is_empty() {
                    errors.push(FieldError::new(field, "must not be blank (leave it out instead)"));
                } else if v.chars().count() > MAX_NAME {
                    errors.push(FieldError::new(field, format!("must be at most {MAX_NAME} characters")));
                }
            }
        }
        if self.subject.chars().count() > MAX_SUBJECT {
            errors.push(FieldError::new("subject", format!("must be at most {MAX_SUBJECT} characters")));
        }
        if self.transcript.len() > MAX_MESSAGES {
            errors.push(FieldError::new("transcript", format!("must have at most {MAX_MESSAGES} messages")));
        }
        for (i, m) in self.transcript.iter().enumerate() {
            if m.text.chars().count() > MAX_MESSAGE_TEXT {
                errors.push(FieldError::new(
                    format!("transcript[{i}].text"),
                    format!("must be at most {MAX_MESSAGE_TEXT} characters"),
                ));
            }
        }
        if self.tags.len() > MAX_TAGS {
            errors.push(FieldError::new("tags", format!("must have at most {MAX_TAGS} tags")));
        }
        if let Some(c) = self.metrics.csat
            && !CSAT_SCALE.contains(&c)
        {
            errors
                .push(FieldError::new("csat", format!("must be from {} to {}", CSAT_SCALE.start(), CSAT_SCALE.end())));
        }
        if let Some(n) = self.metrics.nps
            && !(0..=10).contains(&n)
        {
            errors.push(FieldError::new("nps", "must be from 0 to 10"));
        }
        if let Some(h) = self.metrics.handle_time_seconds
            && !(0..=31_536_000).contains(&h)
        {
            errors.push(FieldError::new("handle_time_seconds", "must be from 0 to 31536000 seconds"));
        }
        // PostgreSQL's text cannot hold U+0000, and no helpdesk means one: refuse it everywhere.
        let mut texts: Vec<(String, &str)> =
            vec![("external_id".into(), &self.external_id), ("subject".into(), &self.subject)];
        for (field, value) in [("agent", &self.agent), ("team", &self.team), ("vendor", &self.vendor)] {
            if let Some(v) = value {
                texts.push((field.into(), v));
            }
        }
        texts.extend(
            self.transcript.iter().enumerate().map(|(i, m)| (format!("transcript[{i}].text"), m.text.as_str())),
        );
        texts.extend(self.tags.iter().enumerate().map(|(i, t)| (format!("tags[{i}]"), t.as_str())));
        for (field, text) in texts {
            if text.contains('\0') {
                errors.push(FieldError::new(field, "must not contain NUL characters (U+0000)"));
            }
        }
        errors
    }
}
