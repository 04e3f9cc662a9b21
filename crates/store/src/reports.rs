//! Aggregates for reports. The formulas (IQS as a ratio of sums, the mean of scores, bands)
//! live in the domain; the database only adds up.

use crate::sql::{self, Select, Value};
use crate::{Result, Store};
use plumbline_domain::access::VendorScope;
use plumbline_domain::org::{Band, Bands};
use plumbline_domain::scoring::iqs;
use plumbline_domain::{Millis, TeamId, VendorId, WorkspaceId};
use serde::{Deserialize, Serialize};

/// What to group the IQS by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IqsGrouping {
    Agent,
    Team,
    Vendor,
}

#[derive(Clone, Debug, Default)]
pub struct IqsFilter {
    pub vendor_id: Option<VendorId>,
    pub team_id: Option<TeamId>,
    /// submitted_at >= from
    pub from: Option<Millis>,
    /// submitted_at < to
    pub to: Option<Millis>,
}

/// One row of the IQS report.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IqsRow {
    /// The agent, team or vendor id; absent for evaluations without one.
    pub id: Option<String>,
    pub name: String,
    pub evaluations: i64,
    /// 100 * Σ earned / Σ possible (the IQS guide's formula).
    pub iqs: Option<f64>,
    /// The plain mean of evaluation scores (Zendesk QA's definition).
    pub mean_score: Option<f64>,
    pub band: Option<Band>,
}

impl Store {
    /// IQS of submitted reviews and published calibrated results, grouped.
    pub async fn iqs_report(
        &self,
        workspace: WorkspaceId,
        scope: VendorScope,
        grouping: IqsGrouping,
        filter: &IqsFilter,
        bands: &Bands,
    ) -> Result<Vec<IqsRow>> {
        let (column, names_sql) = match grouping {
            IqsGrouping::Agent => ("agent_id", "SELECT id, name FROM agents WHERE workspace_id = $1"),
            IqsGrouping::Team => ("team_id", "SELECT id, name FROM teams WHERE workspace_id = $1"),
            IqsGrouping::Vendor => ("vendor_id", "SELECT id, name FROM vendors WHERE workspace_id = $1"),
        };
        let mut q = Select::new(&format!(
            "SELECT {column} AS group_id, COUNT(*) AS n, SUM(earned) AS earned, SUM(possible) AS possible, AVG(score) AS mean
             FROM evaluations"
        ));
        q.and_text("workspace_id", workspace)
            .and_raw("status = 'submitted'")
            .and_raw("kind IN ('review', 'calibrated')")
            // Hidden-mode calibration tasks look like reviews but never count in IQS.
            .and_raw("calibration_session_id IS NULL")
            .and_raw("possible > 0")
            .and_opt_text("vendor_id", scope.vendor())
            .and_opt_text("vendor_id", filter.vendor_id)
            .and_opt_text("team_id", filter.team_id);
        if let Some(from) = filter.from {
            q.and("submitted_at", ">=", Value::Int(from));
        }
        if let Some(to) = filter.to {
            q.and("submitted_at", "<", Value::Int(to));
        }
        let rows = q.fetch_all(self.pool(), &format!("GROUP BY {column}")).await?;
        let names: std::collections::HashMap<String, String> = sqlx::query_as::<_, (String, String)>(names_sql)
            .bind(workspace.to_string())
            .fetch_all(self.pool())
            .await?
            .into_iter()
            .collect();
        let mut out = rows
            .iter()
            .map(|row| {
                let id = sql::opt_text(row, "group_id")?;
                let earned = sql::opt_float(row, "earned")?.unwrap_or(0.0);
                let possible = sql::opt_float(row, "possible")?.unwrap_or(0.0);
                let value = iqs([(earned, possible)]);
                Ok(IqsRow {
                    name: id.as_ref().and_then(|i| names.get(i).cloned()).unwrap_or_else(|| "(none)".to_string()),
                    id,
                    evaluations: sql::int(row, "n")?,
                    iqs: value,
                    mean_score: sql::opt_float(row, "mean")?,
                    band: value.map(|v| bands.classify(v)),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}
