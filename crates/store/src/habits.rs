//! Grading habits: active time added to an evaluation, and the submitted reviews with their
//! feedback that the habits report (domain `habits`) reads.

use crate::sql::{self, Select, Value};
use crate::{Result, Store, StoreError};
use plumbline_domain::access::VendorScope;
use plumbline_domain::habits::{HabitReview, check_active_seconds};
use plumbline_domain::{EvaluationId, Millis, UserId, WorkspaceId};
use std::collections::HashMap;

impl Store {
    /// Adds active seconds to an evaluation (its author only). Never touches the revision, so
    /// recording time cannot make anyone's save stale.
    pub async fn add_active_time(
        &self,
        workspace: WorkspaceId,
        id: EvaluationId,
        author: UserId,
        seconds: i64,
    ) -> Result<()> {
        check_active_seconds(seconds).map_err(|e| StoreError::Invalid(vec![e]))?;
        if seconds == 0 {
            return Ok(());
        }
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE evaluations SET active_seconds = active_seconds + $1
             WHERE workspace_id = $2 AND id = $3 AND reviewer_id = $4",
        )
        .bind(seconds)
        .bind(workspace.to_string())
        .bind(id.to_string())
        .bind(author.to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    /// Submitted reviews (kind `review`) submitted before `to`, with their grader and the
    /// grader's vendor, active time, overall feedback and criterion comments. With a vendor
    /// scope, only that vendor's graders.
    pub async fn habit_reviews(
        &self,
        workspace: WorkspaceId,
        scope: VendorScope,
        to: Option<Millis>,
    ) -> Result<Vec<HabitReview>> {
        let mut q = Select::new(
            "SELECT e.id, e.reviewer_id, u.name AS grader_name, u.vendor_id AS grader_vendor, v.name AS vendor_name,
                    v.is_internal, e.submitted_at, e.active_seconds, e.overall_feedback
             FROM evaluations e JOIN users u ON u.id = e.reviewer_id JOIN vendors v ON v.id = u.vendor_id",
        );
        q.and_text("e.workspace_id", workspace)
            .and_raw("e.kind = 'review'")
            .and_raw("e.status = 'submitted'")
            .and_opt_text("u.vendor_id", scope.vendor());
        if let Some(to) = to {
            q.and("e.submitted_at", "<", Value::Int(to));
        }
        let rows = q.fetch_all(self.pool(), "ORDER BY e.submitted_at, e.id").await?;
        let mut reviews = Vec::with_capacity(rows.len());
        let mut index: HashMap<String, usize> = HashMap::new();
        for row in &rows {
            let id: EvaluationId = sql::id(row, "id")?;
            index.insert(id.to_string(), reviews.len());
            reviews.push(HabitReview {
                evaluation_id: id,
                grader_id: sql::id(row, "reviewer_id")?,
                grader_name: sql::text(row, "grader_name")?,
                vendor_id: sql::id(row, "grader_vendor")?,
                vendor_name: sql::text(row, "vendor_name")?,
                internal: sql::flag(row, "is_internal")?,
                submitted_at: sql::opt_int(row, "submitted_at")?.unwrap_or(0),
                active_seconds: sql::int(row, "active_seconds")?,
                feedback: vec![sql::text(row, "overall_feedback")?],
            });
        }
        // The comments, in one pass over the same reviews.
        let mut q = Select::new(
            "SELECT a.evaluation_id, a.comment FROM evaluation_answers a JOIN evaluations e ON e.id = a.evaluation_id
             JOIN users u ON u.id = e.reviewer_id",
        );
        q.and_text("e.workspace_id", workspace)
            .and_raw("e.kind = 'review'")
            .and_raw("e.status = 'submitted'")
            .and_raw("a.comment <> ''")
            .and_opt_text("u.vendor_id", scope.vendor());
        if let Some(to) = to {
            q.and("e.submitted_at", "<", Value::Int(to));
        }
        for row in q.fetch_all(self.pool(), "ORDER BY a.evaluation_id, a.position").await? {
            if let Some(i) = index.get(&sql::text(&row, "evaluation_id")?) {
                reviews[*i].feedback.push(sql::text(&row, "comment")?);
            }
        }
        Ok(reviews)
    }
}
