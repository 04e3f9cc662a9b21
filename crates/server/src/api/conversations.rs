//! Conversations: list, read, create, import.

use super::{PageParams, parse_id, parse_time};
use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, Auth};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use futures_util::TryStreamExt;
use plumbline_domain::ConversationId;
use plumbline_domain::access::Permission;
use plumbline_domain::conversation::{Channel, Conversation, ConversationRecord};
use plumbline_domain::org::Role;
use plumbline_ingest::Format;
use plumbline_store::{ConversationFilter, ImportSummary, Page};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConversationQuery {
    pub vendor_id: Option<String>,
    pub team_id: Option<String>,
    pub agent_id: Option<String>,
    pub channel: Option<Channel>,
    /// Started on or after: YYYY-MM-DD or Unix ms.
    pub from: Option<String>,
    /// Started before: YYYY-MM-DD or Unix ms.
    pub to: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// Conversations you may see, newest first (agents see their own).
#[utoipa::path(get, path = "/api/v1/conversations", tag = "conversations", params(ConversationQuery),
    responses((status = 200, body = Page<Conversation>), (status = 422, body = Problem)))]
pub async fn list_conversations(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    ApiQuery(q): ApiQuery<ConversationQuery>,
) -> ApiResult<Json<Page<Conversation>>> {
    let filter = ConversationFilter {
        vendor_id: parse_id("vendor_id", &q.vendor_id)?,
        team_id: parse_id("team_id", &q.team_id)?,
        agent_id: parse_id("agent_id", &q.agent_id)?,
        channel: q.channel,
        from: parse_time("from", &q.from)?,
        to: parse_time("to", &q.to)?,
    };
    let only_agent = if viewer.role == Role::Agent {
        // An agent without an agent record sees nothing.
        Some(viewer.agent_id.unwrap_or_default())
    } else {
        None
    };
    let page = PageParams { cursor: q.cursor, limit: q.limit }.request();
    let mut list =
        state.store.list_conversations(viewer.workspace_id, viewer.vendor_scope(), only_agent, &filter, &page).await?;
    crate::calibration_views::redact_hidden_agents(&state, &viewer, &mut list.items).await?;
    Ok(Json(list))
}

/// One conversation with its transcript.
#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "conversations", params(("id" = String, Path)),
    responses((status = 200, body = Conversation), (status = 404, body = Problem)))]
pub async fn get_conversation(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(raw): Path<String>,
) -> ApiResult<Json<Conversation>> {
    let id: ConversationId = super::path_id(&raw)?;
    let mut conversation = state.store.get_conversation(viewer.workspace_id, viewer.vendor_scope(), id).await?;
    if !viewer.may_read_conversation(conversation.vendor_id, conversation.agent_id) {
        return Err(ApiError::not_found());
    }
    crate::calibration_views::redact_hidden_agents(&state, &viewer, std::slice::from_mut(&mut conversation)).await?;
    Ok(Json(conversation))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PutConversation {
    #[serde(flatten)]
    pub conversation: Conversation,
    /// False when an existing conversation with this external id was updated.
    pub created: bool,
}

/// Creates a conversation, or updates the one with the same external id (admin, qa_lead).
#[utoipa::path(post, path = "/api/v1/conversations", tag = "conversations", request_body = ConversationRecord,
    responses((status = 201, body = PutConversation), (status = 200, body = PutConversation), (status = 422, body = Problem)))]
pub async fn create_conversation(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(record): ApiJson<ConversationRecord>,
) -> ApiResult<(StatusCode, Json<PutConversation>)> {
    let viewer = auth.require(Permission::ManageConversations)?;
    let (conversation, created) = state.store.put_conversation(viewer.workspace_id, &record).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(PutConversation { conversation, created })))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `csv` or `jsonl`; otherwise taken from the Content-Type (text/csv, application/x-ndjson).
    pub format: Option<String>,
}

/// Imports conversations from CSV or JSON Lines in the request body (admin, qa_lead). Rows are
/// matched by external id: re-importing updates, never duplicates. If any row is bad, nothing is
/// imported and every problem is listed with line, field and reason. Streams: any size.
#[utoipa::path(post, path = "/api/v1/conversations/import", tag = "conversations", params(ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "CSV with a header row, or JSON Lines (application/x-ndjson)"),
    responses((status = 200, body = ImportSummary), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn import_conversations(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<ImportSummary>> {
    let viewer = auth.require(Permission::ManageConversations)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let format = match q.format.as_deref() {
        Some(name) => Format::from_name(&format!(".{}", name.trim_start_matches('.')))
            .ok_or_else(|| ApiError::field("format", "must be csv or jsonl"))?,
        None => Format::from_name(content_type.split(';').next().unwrap_or_default().trim()).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported media type",
                "send text/csv or application/x-ndjson, or say ?format=csv|jsonl",
            )
        })?,
    };
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let reader = tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(stream));
    let mut rows = crate::import::spawn_parser(format, reader);
    Ok(Json(state.store.import_conversations(viewer.workspace_id, &mut rows).await?))
}
