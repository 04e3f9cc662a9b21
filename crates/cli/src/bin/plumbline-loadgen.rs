//! `plumbline-loadgen`: the load client of the reports benchmark (`bench/reports/run.sh`).
//!
//! `reports` signs in, times every report endpoint (p50/p95 over sequential requests on one
//! keep-alive connection) and says "missing" for an endpoint the server does not have yet.
//! `submit` signs in as several graders (each with an API token made through the API) and has
//! concurrent clients create and submit reviews over HTTP, then prints submissions per second
//! and latency percentiles.
//!
//! The HTTP client is a minimal HTTP/1.1 keep-alive client over a tokio `TcpStream`: enough for
//! this server (Content-Length or chunked bodies), no new dependencies.

use anyhow::{Context, Result, bail, ensure};
use clap::{Parser, Subcommand};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[derive(Parser)]
#[command(name = "plumbline-loadgen", about = "Load client for the Plumbline reports benchmark")]
struct Cli {
    /// host:port of the server.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// Who signs in (reports: a qa_lead or admin; submit: an admin, to find the graders).
    #[arg(long)]
    email: String,
    #[arg(long)]
    password: String,
    #[command(subcommand)]
    command: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// p50/p95 of each report endpoint.
    Reports {
        /// Timed requests per endpoint (after one untimed warm-up).
        #[arg(long, default_value_t = 20)]
        samples: usize,
    },
    /// Concurrent clients creating and submitting reviews.
    Submit {
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// Reviews to submit in all.
        #[arg(long, default_value_t = 10_000)]
        submissions: usize,
        /// The graders' password (by default the one given with --password).
        #[arg(long)]
        grader_password: Option<String>,
        /// Create a draft, then submit it (two requests, as the review form does when a grader
        /// saves first); by default each review is written and submitted in one request.
        #[arg(long)]
        two_step: bool,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Mode::Reports { samples } => {
            let mut conn = Connection::open(&cli.addr).await?;
            let token = sign_in(&mut conn, &cli.email, &cli.password).await?;
            reports(&mut conn, &token, samples.max(1)).await
        }
        Mode::Submit { clients, submissions, grader_password, two_step } => {
            let password = grader_password.unwrap_or_else(|| cli.password.clone());
            submit(&cli.addr, &cli.email, &cli.password, &password, (clients.max(1), submissions), two_step).await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1

struct Response {
    status: u16,
    set_cookie: Vec<String>,
    body: Vec<u8>,
}

impl Response {
    fn json(&self) -> Result<Value> {
        serde_json::from_slice(&self.body).with_context(|| format!("not JSON (status {})", self.status))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).chars().take(300).collect()
    }
}

/// One keep-alive connection; reconnects once when the server has closed it.
struct Connection {
    addr: String,
    stream: BufReader<TcpStream>,
}

impl Connection {
    async fn open(addr: &str) -> Result<Connection> {
        let stream = TcpStream::connect(addr).await.with_context(|| format!("cannot connect to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(Connection { addr: addr.to_string(), stream: BufReader::new(stream) })
    }

    async fn request(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Result<Response> {
        match self.exchange(method, path, headers, body).await {
            Ok(r) => Ok(r),
            Err(_) => {
                *self = Connection::open(&self.addr).await?;
                self.exchange(method, path, headers, body).await
            }
        }
    }

    async fn exchange(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Result<Response> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() {
            head.push_str("Content-Type: application/json\r\n");
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        head.push_str(body);
        self.stream.get_mut().write_all(head.as_bytes()).await?;

        let mut line = String::new();
        ensure!(self.stream.read_line(&mut line).await? > 0, "the connection closed");
        let status: u16 = line.split(' ').nth(1).and_then(|s| s.parse().ok()).context("a status line")?;
        let (mut length, mut chunked, mut close, mut set_cookie) = (None, false, false, Vec::new());
        loop {
            line.clear();
            ensure!(self.stream.read_line(&mut line).await? > 0, "the connection closed in the headers");
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let Some((name, value)) = header.split_once(':') else { continue };
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse::<usize>().ok(),
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                "set-cookie" => set_cookie.push(value.to_string()),
                _ => {}
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.stream.read_line(&mut line).await?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)?;
                let mut chunk = vec![0; size + 2];
                self.stream.read_exact(&mut chunk).await?;
                chunk.truncate(size);
                body.extend_from_slice(&chunk);
                if size == 0 {
                    break;
                }
            }
        } else if let Some(n) = length {
            body.resize(n, 0);
            self.stream.read_exact(&mut body).await?;
        } else {
            self.stream.read_to_end(&mut body).await?;
            close = true;
        }
        if close {
            *self = Connection::open(&self.addr).await?;
        }
        Ok(Response { status, set_cookie, body })
    }
}

/// Signs in with a password and makes an API token through the API (session cookie + CSRF
/// header, as a browser would); returns the token's secret.
async fn sign_in(conn: &mut Connection, email: &str, password: &str) -> Result<String> {
    let login = conn
        .request("POST", "/api/v1/login", &[], &json!({ "email": email, "password": password }).to_string())
        .await?;
    ensure!(login.status == 200, "sign-in as {email} answered {}: {}", login.status, login.text());
    let csrf = login.json()?["csrf_token"].as_str().context("a csrf_token")?.to_string();
    let cookie = login
        .set_cookie
        .iter()
        .find_map(|c| c.split(';').next().filter(|kv| kv.starts_with("plumbline_session=")))
        .context("a session cookie")?
        .to_string();
    let created = conn
        .request(
            "POST",
            "/api/v1/tokens",
            &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
            &json!({ "name": "loadgen" }).to_string(),
        )
        .await?;
    ensure!(created.status == 201, "creating a token answered {}: {}", created.status, created.text());
    Ok(created.json()?["secret"].as_str().context("a token secret")?.to_string())
}

// ---------------------------------------------------------------------------------------------
// Reports

/// Days since 1970-01-01 to (year, month, day): Hinnant's civil-from-days.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if month <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, month, day)
}

fn date(days: i64) -> String {
    let (y, m, d) = civil(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The endpoints to time: (label, path and query); with `team`, the reports a team lead filters
/// by their team, once more for that team.
fn endpoints(today: i64, team: Option<&str>) -> Vec<(String, String)> {
    let (year, month, _) = civil(today);
    // The last full calendar quarter.
    let quarter_month = (month - 1) / 3 * 3 + 1;
    let (qy, qm) = if quarter_month <= 3 { (year - 1, quarter_month + 9) } else { (year, quarter_month - 3) };
    let quarter = (
        format!("{qy:04}-{qm:02}-01"),
        format!("{:04}-{:02}-01", if qm == 10 { qy + 1 } else { qy }, if qm == 10 { 1 } else { qm + 3 }),
    );
    let last_30 = (date(today - 30), date(today + 1));
    let periods = [
        ("all time", String::new()),
        ("last 30 days", format!("&from={}&to={}", last_30.0, last_30.1)),
        ("last quarter", format!("&from={}&to={}", quarter.0, quarter.1)),
    ];
    let mut out = Vec::new();
    for group in ["agent", "team", "vendor", "channel", "scorecard", "group", "criterion"] {
        for (label, range) in &periods {
            out.push((format!("iqs by {group}, {label}"), format!("/api/v1/reports/iqs?group_by={group}{range}")));
        }
    }
    out.push(("iqs trend by month".into(), "/api/v1/reports/iqs/trend?interval=month".into()));
    out.push((
        "iqs trend by week, 13 weeks".into(),
        format!("/api/v1/reports/iqs/trend?interval=week&from={}", date(today - 91)),
    ));
    for (name, path) in [
        ("vendors", "/api/v1/reports/vendors"),
        ("csat", "/api/v1/reports/csat"),
        ("self-assessment", "/api/v1/reports/self-assessment"),
        ("leaderboard", "/api/v1/reports/leaderboard"),
    ] {
        out.push((format!("{name}, all time"), path.to_string()));
        out.push((format!("{name}, last 30 days"), format!("{path}?from={}&to={}", last_30.0, last_30.1)));
    }
    if let Some(team) = team {
        for (name, path) in [
            ("iqs by agent", "/api/v1/reports/iqs?group_by=agent&"),
            ("iqs by criterion", "/api/v1/reports/iqs?group_by=criterion&"),
            ("csat", "/api/v1/reports/csat?"),
            ("self-assessment", "/api/v1/reports/self-assessment?"),
            ("leaderboard", "/api/v1/reports/leaderboard?"),
        ] {
            out.push((format!("{name}, one team"), format!("{path}team_id={team}")));
        }
    }
    out.push(("targets".into(), "/api/v1/targets".into()));
    out
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    // Nearest rank.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

async fn reports(conn: &mut Connection, token: &str, samples: usize) -> Result<()> {
    let auth = format!("Bearer {token}");
    let headers = [("Authorization", auth.as_str())];
    let document = conn.request("GET", "/api/openapi.json", &[], "").await?;
    let paths: BTreeSet<String> =
        document.json()?["paths"].as_object().map(|paths| paths.keys().cloned().collect()).unwrap_or_default();
    let today = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64 / 86_400_000;
    let teams = conn.request("GET", "/api/v1/teams", &headers, "").await?;
    ensure!(teams.status == 200, "/api/v1/teams answered {}: {}", teams.status, teams.text());
    let teams = teams.json()?;
    let team = teams.as_array().and_then(|t| t.first()).and_then(|t| t["id"].as_str()).map(str::to_string);
    println!("{:<40} {:>9} {:>9} {:>7}  request", "endpoint", "p50 ms", "p95 ms", "bytes");
    for (label, target) in endpoints(today, team.as_deref()) {
        let path = target.split('?').next().unwrap_or(&target);
        if !paths.contains(path) {
            println!("{label:<40} {:>9} {:>9} {:>7}  {target}", "missing", "", "");
            continue;
        }
        let warm = Instant::now();
        let first = conn.request("GET", &target, &headers, "").await?;
        if first.status == 404 {
            println!("{label:<40} {:>9} {:>9} {:>7}  {target}", "missing", "", "");
            continue;
        }
        if first.status != 200 {
            println!(
                "{label:<40} {:>9} {:>9} {:>7}  {target}  {}",
                format!("HTTP {}", first.status),
                "",
                "",
                first.text()
            );
            continue;
        }
        // A slow endpoint gets fewer samples, so one bad query does not stall the run.
        let n = if warm.elapsed() > Duration::from_secs(2) { samples.min(5) } else { samples };
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let start = Instant::now();
            let r = conn.request("GET", &target, &headers, "").await?;
            times.push(start.elapsed().as_secs_f64() * 1000.0);
            ensure!(r.status == 200, "{target} answered {} on a repeat: {}", r.status, r.text());
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{label:<40} {:>9.1} {:>9.1} {:>7}  {target}",
            percentile(&times, 50.0),
            percentile(&times, 95.0),
            first.body.len()
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Submissions

/// What a client submits: a scorecard version and its criteria as (id, options, N/A allowed).
struct Card {
    version_id: String,
    criteria: Vec<(String, usize, bool)>,
}

async fn active_cards(conn: &mut Connection, headers: &[(&str, &str)]) -> Result<Vec<Card>> {
    let list = conn.request("GET", "/api/v1/scorecards", headers, "").await?;
    ensure!(list.status == 200, "listing scorecards answered {}", list.status);
    let mut cards = Vec::new();
    for card in list.json()?.as_array().cloned().unwrap_or_default() {
        let id = card["id"].as_str().context("a scorecard id")?;
        let versions = conn.request("GET", &format!("/api/v1/scorecards/{id}/versions"), headers, "").await?;
        for v in versions.json()?.as_array().cloned().unwrap_or_default() {
            if v["status"] != "active" {
                continue;
            }
            let criteria = v["definition"]["criteria"]
                .as_array()
                .context("a definition")?
                .iter()
                .map(|c| {
                    let options = c["scale"]["options"].as_array().map_or(0, Vec::len);
                    (c["id"].as_str().unwrap_or_default().to_string(), options, c["na_allowed"] == true)
                })
                .collect();
            cards.push(Card { version_id: v["id"].as_str().unwrap_or_default().to_string(), criteria });
        }
    }
    ensure!(!cards.is_empty(), "the workspace has no active scorecard");
    Ok(cards)
}

/// A grader's client: their token, connection and the conversations they may review.
struct Client {
    conn: Connection,
    token: String,
    conversations: Vec<String>,
}

async fn submit(
    addr: &str,
    email: &str,
    password: &str,
    grader_password: &str,
    (clients, submissions): (usize, usize),
    two_step: bool,
) -> Result<()> {
    let mut admin = Connection::open(addr).await?;
    let token = sign_in(&mut admin, email, password).await?;
    let auth = format!("Bearer {token}");
    let headers = [("Authorization", auth.as_str())];
    let users = admin.request("GET", "/api/v1/users?role=reviewer", &headers, "").await?;
    ensure!(users.status == 200, "listing graders answered {}", users.status);
    let graders: Vec<String> = users
        .json()?
        .as_array()
        .context("a user list")?
        .iter()
        .filter(|u| u["active"] == true)
        .filter_map(|u| u["email"].as_str().map(str::to_string))
        .collect();
    ensure!(!graders.is_empty(), "the workspace has no graders");
    let cards = Arc::new(active_cards(&mut admin, &headers).await?);

    // Sign the graders in (spread over the vendors: the list is ordered by vendor).
    let mut prepared = Vec::new();
    for i in 0..clients {
        let email = &graders[i * graders.len() / clients];
        let mut conn = Connection::open(addr).await?;
        let token = sign_in(&mut conn, email, grader_password).await?;
        let auth = format!("Bearer {token}");
        let list = conn.request("GET", "/api/v1/conversations?limit=500", &[("Authorization", &auth)], "").await?;
        ensure!(list.status == 200, "listing conversations as {email} answered {}", list.status);
        let conversations: Vec<String> = list.json()?["items"]
            .as_array()
            .context("a page of conversations")?
            .iter()
            .filter_map(|c| c["id"].as_str().map(str::to_string))
            .collect();
        ensure!(!conversations.is_empty(), "{email} sees no conversations");
        prepared.push(Client { conn, token, conversations });
    }
    eprintln!("{clients} graders signed in; submitting {submissions} reviews");

    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (c, mut client) in prepared.into_iter().enumerate() {
        let (next, cards) = (next.clone(), cards.clone());
        tasks.spawn(async move {
            let auth = format!("Bearer {}", client.token);
            let headers = [("Authorization", auth.as_str())];
            let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ (c as u64 + 1);
            let mut random = move || {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed
            };
            let (mut create_ms, mut submit_ms, mut pair_ms) = (Vec::new(), Vec::new(), Vec::new());
            let mut errors = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= submissions {
                    break;
                }
                let card = &cards[i % cards.len()];
                let conversation = &client.conversations[i / cards.len() % client.conversations.len()];
                let answers: Vec<Value> = card
                    .criteria
                    .iter()
                    .map(|(id, options, na)| {
                        let r = random();
                        let choice = if *na && r % 20 == 0 {
                            json!("not_applicable")
                        } else {
                            // Mostly the better options, as real reviews are.
                            json!({ "option": ((r >> 8) % 3).min(*options as u64 - 1) })
                        };
                        json!({ "criterion_id": id, "choice": choice })
                    })
                    .collect();
                let body = json!({
                    "conversation_id": conversation,
                    "scorecard_version_id": card.version_id,
                    "answers": answers,
                    "submit": !two_step,
                })
                .to_string();
                let start = Instant::now();
                let created = client.conn.request("POST", "/api/v1/evaluations", &headers, &body).await?;
                let created_at = start.elapsed();
                if created.status != 201 {
                    errors += 1;
                    if errors <= 3 {
                        eprintln!("create answered {}: {}", created.status, created.text());
                    }
                    continue;
                }
                if !two_step {
                    pair_ms.push(created_at.as_secs_f64() * 1000.0);
                    continue;
                }
                let id = created.json()?["id"].as_str().context("an evaluation id")?.to_string();
                let submit_start = Instant::now();
                let submitted =
                    client.conn.request("POST", &format!("/api/v1/evaluations/{id}/submit"), &headers, "").await?;
                let done = start.elapsed();
                if submitted.status != 200 {
                    errors += 1;
                    if errors <= 3 {
                        eprintln!("submit answered {}: {}", submitted.status, submitted.text());
                    }
                    continue;
                }
                create_ms.push(created_at.as_secs_f64() * 1000.0);
                submit_ms.push(submit_start.elapsed().as_secs_f64() * 1000.0);
                pair_ms.push(done.as_secs_f64() * 1000.0);
            }
            anyhow::Ok((create_ms, submit_ms, pair_ms, errors))
        });
    }
    let (mut create_ms, mut submit_ms, mut pair_ms, mut errors) = (Vec::new(), Vec::new(), Vec::new(), 0);
    while let Some(done) = tasks.join_next().await {
        let (c, s, p, e) = done??;
        create_ms.extend(c);
        submit_ms.extend(s);
        pair_ms.extend(p);
        errors += e;
    }
    let seconds = started.elapsed().as_secs_f64();
    for v in [&mut create_ms, &mut submit_ms, &mut pair_ms] {
        v.sort_by(f64::total_cmp);
    }
    if pair_ms.is_empty() {
        bail!("no submission succeeded ({errors} errors)");
    }
    println!(
        "submitted {} reviews with {clients} clients in {seconds:.1} s: {:.0} submissions/s ({errors} errors)",
        pair_ms.len(),
        pair_ms.len() as f64 / seconds
    );
    let timings: &[(&str, &Vec<f64>)] = if two_step {
        &[("create draft", &create_ms), ("submit", &submit_ms), ("create + submit", &pair_ms)]
    } else {
        &[("one request", &pair_ms)]
    };
    for (name, v) in timings {
        println!(
            "  {name:<16} p50 {:>7.1} ms  p95 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms",
            percentile(v, 50.0),
            percentile(v, 95.0),
            percentile(v, 99.0),
            v.last().copied().unwrap_or(f64::NAN)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(20_454), "2026-01-01");
        assert_eq!(date(19_782), "2024-02-29");
    }

    #[test]
    fn the_last_quarter_is_a_full_calendar_quarter() {
        let paths = endpoints(20_454 + 40, None); // 2026-02-10
        assert!(paths.iter().any(|(_, p)| p.contains("from=2025-10-01&to=2026-01-01")));
        let paths = endpoints(20_454 + 200, None); // 2026-07-20
        assert!(paths.iter().any(|(_, p)| p.contains("from=2026-04-01&to=2026-07-01")));
    }

    #[test]
    fn a_team_adds_its_filtered_reports() {
        let unfiltered = endpoints(20_454, None);
        let filtered = endpoints(20_454, Some("t1"));
        let by_team: Vec<_> = filtered.iter().filter(|(_, p)| p.contains("team_id=t1")).collect();
        assert_eq!(by_team.len(), 5);
        assert_eq!(filtered.len(), unfiltered.len() + 5);
        assert!(by_team.iter().any(|(label, p)| label == "csat, one team" && p == "/api/v1/reports/csat?team_id=t1"));
    }
}
