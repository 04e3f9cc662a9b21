//! Secrets: argon2 password hashes, random tokens stored only as SHA-256 digests, cookies.

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use axum::http::HeaderMap;
use sha2::{Digest, Sha256};

pub const SESSION_COOKIE: &str = "plumbline_session";
pub const LOGIN_CSRF_COOKIE: &str = "plumbline_login_csrf";
/// Sessions last 12 hours: a working day.
pub const SESSION_TTL_MS: i64 = 12 * 60 * 60 * 1000;
/// At most this many failed sign-ins per email in [`LOGIN_WINDOW_MS`].
pub const MAX_FAILED_LOGINS: i64 = 10;
pub const LOGIN_WINDOW_MS: i64 = 15 * 60 * 1000;

pub fn hash_password(password: &str) -> String {
    let hash: PasswordHash = Argon2::default().hash_password(password.as_bytes()).expect("argon2 hashes any password");
    hash.to_string()
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// [`verify_password`] for a request: see [`hashing`].
pub async fn verify_password_for_request(password: &str, hash: &str) -> bool {
    let (password, hash) = (password.to_string(), hash.to_string());
    hashing(move || verify_password(&password, &hash)).await
}

/// [`hash_password`] for a request: see [`hashing`].
pub async fn hash_password_for_request(password: &str) -> String {
    let password = password.to_string();
    hashing(move || hash_password(&password)).await
}

/// Runs an argon2 hash (19 MiB and tens of milliseconds of a core each) on a blocking thread,
/// never on the workers that serve requests, and at most one per core at a time: a burst of
/// sign-ins at the start of a shift took 19 MiB each at once, and held up every other request on
/// the worker it ran on. (That the 19 MiB go back to the system when freed is the allocator's
/// setting: `serve` runs with a fixed mmap threshold, `cli/src/main.rs`.)
async fn hashing<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    let permits = PERMITS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get))
    });
    let _permit = permits.acquire().await.expect("the hashing semaphore is never closed");
    let done = tokio::task::spawn_blocking(work).await;
    done.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

/// A new random secret: 32 bytes, hex.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What is stored in place of a secret.
pub fn digest(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A cookie's value from the request headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Path=/, and Secure when served over TLS.
pub fn set_cookie(name: &str, value: &str, max_age_seconds: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}{secure}")
}

/// Whether the request came over TLS (directly or through a proxy that says so).
pub fn is_tls(headers: &HeaderMap, force_secure: bool) -> bool {
    force_secure || headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https")
}
