//! The `plumbline` binary: every command a user runs. Configuration comes from flags, each
//! also readable from a `PLUMBLINE_*` environment variable (and `DATABASE_URL`).

mod agreement_cmd;
mod demo;
mod generate;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use plumbline_domain::org::Role;
use plumbline_server::{AppState, ServerConfig, auth};
use plumbline_store::{NewUser, Store, UserFilter};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "plumbline", version, about = "Calibration and quality assurance for customer-service teams")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web app and the API.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate(DatabaseArgs),
    /// Import data from a file.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
    /// Create the demo workspace in an empty database.
    Demo(DatabaseArgs),
    /// Write a consistent snapshot of the SQLite database to FILE, even while the server runs.
    /// (PostgreSQL: use pg_dump.)
    Backup {
        file: PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Restore a backup made by `plumbline backup` as the SQLite database. Stop the server
    /// first; an existing database is replaced only with --force.
    Restore {
        file: PathBuf,
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Reliability statistics of a ratings spreadsheet (unit,rater,rater,... one row per unit).
    Agreement(agreement_cmd::AgreementArgs),
    /// Create a large synthetic workspace in an empty database (for the reports benchmark).
    Generate(GenerateArgs),
}

#[derive(Args)]
struct GenerateArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    #[arg(long, default_value_t = 1_000_000)]
    conversations: usize,
    /// Submitted reviews, spread evenly over the conversations (plus about 1% self-reviews).
    #[arg(long, default_value_t = 1_000_000)]
    evaluations: usize,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Rebuild the report rollups at the end instead of keeping them up to date while loading.
    #[arg(long)]
    rebuild_rollups: bool,
}

#[derive(Args, Clone)]
struct DatabaseArgs {
    /// Where the SQLite database lives when no database URL is given.
    #[arg(long, env = "PLUMBLINE_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// postgres://user@host/db for PostgreSQL, or sqlite://FILE. Defaults to DATA_DIR/plumbline.db.
    #[arg(long, env = "PLUMBLINE_DATABASE_URL")]
    database_url: Option<String>,
}

impl DatabaseArgs {
    fn url(&self) -> anyhow::Result<String> {
        if let Some(url) = self.database_url.clone().or_else(|| std::env::var("DATABASE_URL").ok()) {
            return Ok(url);
        }
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("cannot create the data directory {}", self.data_dir.display()))?;
        Ok(plumbline_store::sqlite_url(&self.data_dir.join("plumbline.db")))
    }

    async fn open(&self) -> anyhow::Result<Store> {
        let url = self.url()?;
        Store::connect(&url).await.with_context(|| format!("cannot open the database at {}", redact(&url)))
    }
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    #[arg(long, env = "PLUMBLINE_PORT", default_value_t = 8080)]
    port: u16,
    #[arg(long, env = "PLUMBLINE_HOST", default_value = "127.0.0.1")]
    host: String,
    /// Create the demo workspace first if the database is empty.
    #[arg(long)]
    demo: bool,
    /// Mark cookies Secure (when a TLS proxy does not send X-Forwarded-Proto).
    #[arg(long, env = "PLUMBLINE_SECURE_COOKIES")]
    secure_cookies: bool,
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Conversations from CSV or JSON Lines (by the file's extension, or --format).
    Conversations {
        file: PathBuf,
        /// csv or jsonl.
        #[arg(long)]
        format: Option<String>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user. The first user of an empty database creates the workspace.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, qa_lead, reviewer, vendor_lead or agent.
        #[arg(long, default_value = "admin")]
        role: Role,
        /// The vendor's name (default: the internal vendor).
        #[arg(long)]
        vendor: Option<String>,
        #[arg(long, env = "PLUMBLINE_PASSWORD")]
        password: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// List users.
    List(DatabaseArgs),
    /// Set a user's password (ends their sessions).
    SetPassword {
        #[arg(long)]
        email: String,
        #[arg(long, env = "PLUMBLINE_PASSWORD")]
        password: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Serve(_)) {
        bound_malloc_arenas();
    }
    if let Command::Agreement(args) = cli.command {
        return agreement_cmd::run(args);
    }
    // The bulk statements of `generate` are slow by design; sqlx would log each one whole.
    let quiet =
        if matches!(cli.command, Command::Generate(_)) { "info,sqlx=error" } else { "info,sqlx=warn,tower_http=warn" };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| quiet.into()))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

const DEMO_SEED: u64 = 20_261_123;

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Agreement(_) => unreachable!("handled before the runtime starts"),
        Command::Serve(args) => serve(args).await,
        Command::Migrate(db) => {
            let store = db.open().await?;
            println!("migrations applied: {}", store.applied_migrations().await?.len());
            Ok(())
        }
        Command::Demo(db) => {
            let store = db.open().await?;
            if !store.list_workspaces().await?.is_empty() {
                bail!("the database already holds a workspace; the demo needs an empty one");
            }
            let summary = demo::create_demo(&store, &auth::hash_password, DEMO_SEED).await?;
            print_logins(
                &summary.logins.iter().map(|l| (l.email.clone(), l.role, l.vendor.clone())).collect::<Vec<_>>(),
            );
            Ok(())
        }
        Command::Backup { file, database } => {
            let store = database.open().await?;
            store.backup_sqlite(&file).await?;
            println!("Backed up to {}.", file.display());
            Ok(())
        }
        Command::Restore { file, force, database } => restore(&file, force, &database).await,
        Command::Import { what: ImportCommand::Conversations { file, format, database } } => {
            import_conversations(&database, &file, format.as_deref()).await
        }
        Command::User { action } => user(action).await,
        Command::Generate(args) => generate_workspace(args).await,
    }
}

async fn generate_workspace(args: GenerateArgs) -> anyhow::Result<()> {
    if args.conversations == 0 {
        bail!("--conversations must be at least 1");
    }
    let store = args.database.open().await?;
    let options = generate::GenerateOptions {
        conversations: args.conversations,
        evaluations: args.evaluations,
        seed: args.seed,
        rebuild_rollups: args.rebuild_rollups,
    };
    let summary = generate::generate(&store, &auth::hash_password, options).await?;
    store.close().await;
    println!(
        "Generated {} conversations, {} reviews, {} self-reviews, {} answers.",
        summary.conversations, summary.reviews, summary.self_reviews, summary.answers
    );
    if let Some(seconds) = summary.rebuild_seconds {
        println!("rollup rebuild: {seconds:.1} s");
    }
    println!("load time: {:.1} s", summary.load_seconds);
    println!("statistics refresh after the load: {:.1} s", summary.analyze_seconds);
    println!("Logins (password for all: {}):", generate::PASSWORD);
    for (email, role) in &summary.logins {
        println!("  {email:<40} {}", role.as_str());
    }
    Ok(())
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let store = args.database.open().await?;
    if args.demo {
        if store.list_workspaces().await?.is_empty() {
            eprintln!("Creating the demo workspace (takes a few seconds)...");
            demo::create_demo(&store, &auth::hash_password, DEMO_SEED).await?;
        } else {
            eprintln!("The database already holds a workspace; using it as it is.");
        }
    }
    let addr = format!("{}:{}", args.host, args.port);
    let listener = tokio::net::TcpListener::bind(&addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    let url = format!("http://{}", listener.local_addr()?);
    println!("Plumbline is running at {url}");
    let workspaces = store.list_workspaces().await?;
    if let Some(ws) = workspaces.first() {
        if args.demo {
            let users =
                store.list_users(ws.id, plumbline_domain::access::VendorScope::All, &UserFilter::default()).await?;
            let vendors = store.list_vendors(ws.id, plumbline_domain::access::VendorScope::All).await?;
            let vendor_name = |id| vendors.iter().find(|v| v.id == id).map(|v| v.name.clone()).unwrap_or_default();
            print_logins(
                &users.iter().map(|u| (u.email.clone(), u.role, vendor_name(u.vendor_id))).collect::<Vec<_>>(),
            );
        }
    } else {
        println!("The database is empty. Create the first admin with:");
        println!("  plumbline user add --email you@example.com --name \"Your Name\" --role admin --password '...'");
    }
    println!("API: {url}/api/v1 (OpenAPI document at {url}/api/openapi.json)");
    let state = AppState::new(store.clone(), ServerConfig { secure_cookies: args.secure_cookies });
    plumbline_server::serve(state, listener).await?;
    store.close().await;
    Ok(())
}

fn print_logins(logins: &[(String, Role, String)]) {
    println!();
    println!("Demo logins (password for all: {}):", demo::DEMO_PASSWORD);
    let mut sorted: Vec<_> = logins.iter().collect();
    sorted.sort_by_key(|(_, role, _)| Role::ALL.iter().position(|r| r == role));
    for (email, role, vendor) in sorted {
        println!("  {email:<40} {:<12} {vendor}", role.as_str());
    }
    println!();
}

async fn the_workspace(store: &Store) -> anyhow::Result<plumbline_domain::org::Workspace> {
    let workspaces = store.list_workspaces().await?;
    workspaces
        .into_iter()
        .next()
        .context("the database holds no workspace yet: add the first user with `plumbline user add`")
}

/// Checks the backup (SQLite's integrity check, and that this build knows its migrations), then
/// puts it in place with a copy and a rename, so a failure never leaves half a database.
async fn restore(file: &std::path::Path, force: bool, database: &DatabaseArgs) -> anyhow::Result<()> {
    let url = database.url()?;
    let Some(target) = url.strip_prefix("sqlite://").map(|t| t.split('?').next().unwrap_or(t)) else {
        bail!("restore works on the SQLite database; for PostgreSQL use pg_restore or psql (see the README)");
    };
    let target = PathBuf::from(target);
    if !file.is_file() {
        bail!("{} is not a file", file.display());
    }
    if target.exists() && !force {
        bail!("{} exists; stop the server and pass --force to replace it", target.display());
    }
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // Check a copy next to the target (the backup itself is never modified), then rename it
    // into place: a failure never leaves half a database.
    let temporary = target.with_extension("db.restoring");
    std::fs::copy(file, &temporary).with_context(|| format!("cannot write {}", temporary.display()))?;
    let checked = check_backup(&temporary).await;
    if let Err(e) = checked {
        let _ = std::fs::remove_file(&temporary);
        return Err(e.context(format!("{} cannot be restored", file.display())));
    }
    std::fs::File::open(&temporary)?.sync_all()?;
    for suffix in ["-wal", "-shm"] {
        let stale = PathBuf::from(format!("{}{suffix}", target.display()));
        if stale.exists() {
            std::fs::remove_file(&stale).with_context(|| format!("cannot remove {}", stale.display()))?;
        }
    }
    std::fs::rename(&temporary, &target).with_context(|| format!("cannot replace {}", target.display()))?;
    // Bring the restored database up to this build's migrations.
    Store::connect(&url).await?.close().await;
    println!("Restored {} from {}.", target.display(), file.display());
    Ok(())
}

/// SQLite's integrity check, and migrations this build knows.
async fn check_backup(path: &std::path::Path) -> anyhow::Result<()> {
    let backup =
        Store::connect_without_migrating(&plumbline_store::sqlite_url(path)).await.context("not a database")?;
    let result = async {
        backup.integrity_check().await?;
        let applied = backup.applied_migrations().await.context("not a Plumbline database")?;
        let known = Store::known_migrations();
        if applied.is_empty() || applied.iter().any(|a| !known.contains(a)) {
            bail!("not a Plumbline database of this version or an older one");
        }
        Ok(())
    }
    .await;
    backup.close().await;
    result
}

async fn import_conversations(
    database: &DatabaseArgs,
    file: &std::path::Path,
    format: Option<&str>,
) -> anyhow::Result<()> {
    let format = match format {
        Some(f) => plumbline_ingest::Format::from_name(&format!(".{}", f.trim_start_matches('.')))
            .context("--format must be csv or jsonl")?,
        None => plumbline_ingest::Format::from_name(&file.to_string_lossy())
            .context("cannot tell the format from the file name: use --format csv or --format jsonl")?,
    };
    let store = database.open().await?;
    let workspace = the_workspace(&store).await?;
    let handle = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let size = handle.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = indicatif::ProgressBar::new(size);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {percent}% {eta} left")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let reader = bar.wrap_read(std::io::BufReader::with_capacity(1 << 20, handle));
    let mut rows = plumbline_server::import::spawn_parser(format, reader);
    let result = store.import_conversations(workspace.id, &mut rows).await;
    bar.finish_and_clear();
    match result {
        Ok(summary) => {
            println!("Imported {} rows: {} created, {} updated.", summary.rows, summary.created, summary.updated);
            if !summary.agents_created.is_empty() {
                println!("New agents ({}): {}", summary.agents_created.len(), summary.agents_created.join(", "));
            }
            if !summary.teams_created.is_empty() {
                println!("New teams ({}): {}", summary.teams_created.len(), summary.teams_created.join(", "));
            }
            Ok(())
        }
        Err(plumbline_store::ImportError::BadRows { problems, total }) => {
            for p in &problems {
                eprintln!("line {}, field {}: {}", p.line, p.field, p.reason);
            }
            if total as usize > problems.len() {
                eprintln!("... and {} more", total as usize - problems.len());
            }
            bail!("{total} problems in {}; nothing was imported", file.display())
        }
        Err(plumbline_store::ImportError::Store(e)) => Err(e.into()),
    }
}

async fn user(action: UserCommand) -> anyhow::Result<()> {
    match action {
        UserCommand::Add { email, name, role, vendor, password, database } => {
            if password.chars().count() < 10 {
                bail!("the password must have at least 10 characters");
            }
            let store = database.open().await?;
            let workspace = match store.list_workspaces().await?.into_iter().next() {
                Some(ws) => ws,
                None => store.create_workspace("Plumbline", "Internal").await?.0,
            };
            let vendors = store.list_vendors(workspace.id, plumbline_domain::access::VendorScope::All).await?;
            let vendor = match vendor {
                None => vendors.iter().find(|v| v.is_internal),
                Some(name) => vendors.iter().find(|v| v.name.eq_ignore_ascii_case(&name)),
            }
            .context("there is no such vendor")?;
            let user = store
                .create_user(
                    workspace.id,
                    NewUser {
                        vendor_id: vendor.id,
                        email,
                        name,
                        role,
                        password_hash: auth::hash_password(&password),
                        agent_id: None,
                    },
                )
                .await?;
            println!("Added {} ({}) to {}", user.email, user.role, workspace.name);
            Ok(())
        }
        UserCommand::List(database) => {
            let store = database.open().await?;
            let workspace = the_workspace(&store).await?;
            for u in store
                .list_users(workspace.id, plumbline_domain::access::VendorScope::All, &UserFilter::default())
                .await?
            {
                println!(
                    "{:<40} {:<12} {}{}",
                    u.email,
                    u.role.as_str(),
                    u.name,
                    if u.active { "" } else { " (inactive)" }
                );
            }
            Ok(())
        }
        UserCommand::SetPassword { email, password, database } => {
            if password.chars().count() < 10 {
                bail!("the password must have at least 10 characters");
            }
            let store = database.open().await?;
            let (user, _) = store.find_user_by_email(&email).await?.context("there is no user with that email")?;
            store.set_password(user.workspace_id, user.id, &auth::hash_password(&password)).await?;
            println!("Password set for {}", user.email);
            Ok(())
        }
    }
}

/// glibc's malloc gives each thread that meets contention an arena of its own (up to eight per
/// core) and keeps what is freed there; the server's threads (the runtime's and one per SQLite
/// connection) then held their peaks separately. Measured at 1M on SQLite, reports then 32
/// clients submitting: peak RSS 167 MB as is, 114 MB with `MALLOC_ARENA_MAX=2`, and no slower.
/// With it, `MALLOC_MMAP_THRESHOLD_=262144`: blocks of 256 KiB and more are mapped and unmapped
/// on their own. By default glibc raises that threshold to the size of the largest block freed,
/// so argon2's 19 MiB per sign-in came from the arenas and stayed there: 32 sign-ins one after
/// another left the server 117 MB larger.
/// glibc reads both from the environment only at start, and setting them in-process would need
/// unsafe code, so the server re-executes itself once with them (same process id). Set by the
/// caller, they are left as given.
fn bound_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
            return;
        }
        let Ok(exe) = std::env::current_exe() else { return };
        let mut command = std::process::Command::new(exe);
        command.args(std::env::args_os().skip(1)).env("MALLOC_ARENA_MAX", "2");
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
            command.env("MALLOC_MMAP_THRESHOLD_", "262144");
        }
        let error = command.exec();
        // Only reached when the exec failed: serve as is.
        eprintln!("note: could not restart with MALLOC_ARENA_MAX=2 ({error}); serving with the default allocator");
    }
}
