//! The import columns (CSV header names and JSON keys are the same).

/// One column of an import file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    ExternalId,
    Channel,
    Agent,
    Team,
    Vendor,
    StartedAt,
    Subject,
    Transcript,
    Tags,
    Csat,
    Nps,
    Fcr,
    HandleTimeSeconds,
}

impl Field {
    pub(crate) const COUNT: usize = 13;
    pub(crate) const ALL: [Field; Field::COUNT] = [
        Field::ExternalId,
        Field::Channel,
        Field::Agent,
        Field::Team,
        Field::Vendor,
        Field::StartedAt,
        Field::Subject,
        Field::Transcript,
        Field::Tags,
        Field::Csat,
        Field::Nps,
        Field::Fcr,
        Field::HandleTimeSeconds,
    ];

    /// The canonical name, used in every error.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Field::ExternalId => "external_id",
            Field::Channel => "channel",
            Field::Agent => "agent",
            Field::Team => "team",
            Field::Vendor => "vendor",
            Field::StartedAt => "started_at",
            Field::Subject => "subject",
            Field::Transcript => "transcript",
            Field::Tags => "tags",
            Field::Csat => "csat",
            Field::Nps => "nps",
            Field::Fcr => "fcr",
            Field::HandleTimeSeconds => "handle_time_seconds",
        }
    }

    pub(crate) fn required(self) -> bool {
        matches!(self, Field::ExternalId | Field::Channel | Field::StartedAt)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// Finds a column by the name a file gives it. Spreadsheet headers drift in case and
    /// spacing ("External ID", "CSAT"), so those are forgiven; anything else is unknown.
    pub(crate) fn from_name(name: &str) -> Option<Field> {
        let normalised: String =
            name.trim().chars().map(|c| if c == ' ' || c == '-' { '_' } else { c.to_ascii_lowercase() }).collect();
        if normalised == "handle_time" {
            return Some(Field::HandleTimeSeconds);
        }
        Field::ALL.into_iter().find(|f| f.name() == normalised)
    }

    /// The hint given with an unknown column or key.
    pub(crate) fn known_names() -> String {
        let names: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
        format!("{} (handle_time is accepted for handle_time_seconds)", names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_follow_all() {
        for (i, f) in Field::ALL.into_iter().enumerate() {
            assert_eq!(f.index(), i);
            assert_eq!(Field::from_name(f.name()), Some(f));
        }
    }

    #[test]
    fn names_are_forgiving_about_case_and_spacing() {
        assert_eq!(Field::from_name(" External ID "), Some(Field::ExternalId));
        assert_eq!(Field::from_name("CSAT"), Some(Field::Csat));
        assert_eq!(Field::from_name("Handle-Time"), Some(Field::HandleTimeSeconds));
        assert_eq!(Field::from_name("score"), None);
    }
}
