//! Plumbline's HTTP server: the JSON API under `/api/v1` (with its OpenAPI document at
//! `/api/openapi.json`, generated from the handlers), the web pages, and health checks.
//!
//! A request flows: router -> extractor ([`extract::Auth`] turns credentials into a domain
//! `Viewer`; [`extract::ApiJson`] parses the body) -> a thin handler that asks the domain what
//! the viewer may do and calls the store -> JSON, or a problem document ([`error::ApiError`]).

pub mod api;
pub mod auth;
pub mod calibration_views;
pub mod error;
pub mod extract;
pub mod import;
pub mod iqs_views;
pub mod report_views;
pub mod web;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use plumbline_store::Store;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// What every handler can reach. The server keeps no state of its own beyond the database, so
/// several instances can serve one PostgreSQL.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<ServerConfig>,
    /// False once shutdown has begun: `/readyz` then answers 503.
    pub accepting: Arc<AtomicBool>,
}

#[derive(Clone, Debug, Default)]
pub struct ServerConfig {
    /// Mark cookies Secure even without a proxy saying the request came over TLS.
    pub secure_cookies: bool,
}

impl AppState {
    pub fn new(store: Store, config: ServerConfig) -> Self {
        Self { store, config: Arc::new(config), accepting: Arc::new(AtomicBool::new(true)) }
    }
}

/// The whole application.
pub fn app(state: AppState) -> Router {
    let (api_router, openapi) = api::split();
    let openapi = Arc::new(openapi);
    Router::new()
        .merge(api_router)
        .route("/api/openapi.json", get(move || async move { axum::Json(openapi.as_ref().clone()) }))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .merge(web::router())
        .layer(axum::extract::DefaultBodyLimit::max(api::JSON_BODY_LIMIT))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// The OpenAPI document, as served.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    api::split().1
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if !state.accepting.load(Ordering::SeqCst) {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down")
    } else if state.store.ping().await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
    }
}

/// Serves until SIGTERM or Ctrl-C, then stops accepting, drains requests in flight and returns.
pub async fn serve(state: AppState, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let accepting = state.accepting.clone();
    let app = app(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            accepting.store(false, Ordering::SeqCst);
            tracing::info!("shutting down: draining requests in flight");
        })
        .await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
