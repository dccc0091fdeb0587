//! Test harness: a fresh PostgreSQL database per test, the real router on a random port,
//! and the `upcount` binary as a child process.
//!
//! The database server comes from `UPCOUNT_TEST_DATABASE_URL` (a URL of its maintenance
//! database, as `make test` sets it), defaulting to `postgres://$USER@127.0.0.1:5432/postgres`.
//! Set `TEST_LOG=1` to see the application's logs.
//!
//! Typed calls live in the submodules: `api` (the REST API), `browser` (pages and forms),
//! `data` (the database directly), `process` (the binary) and `proxy` (a flaky database).

mod api;
mod browser;
mod data;
mod process;
mod proxy;
mod smtp;

use std::{collections::HashMap, net::SocketAddr, sync::LazyLock, time::Duration};

use app::domain::{Email, Password, Role};
use sqlx::{Connection, Executor, PgConnection, PgPool};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use upcount::{config::Settings, db, startup::Application};

pub use self::{
    api::{expect_error, expect_unprocessable, latest},
    browser::{Browser, header, location},
    process::{Process, run_binary, vars},
    proxy::FlakyProxy,
    smtp::SmtpSink,
};

/// Serves `router` on a fresh loopback port, in the background: the address.
pub async fn serve_on_loopback(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let address = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    address
}

/// A free port on loopback (bound and let go: a program started next binds it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

static TRACING: LazyLock<()> = LazyLock::new(|| {
    use tracing_subscriber::{
        EnvFilter, Layer, filter, fmt, layer::SubscriberExt, util::SubscriberInitExt,
    };
    // Every test counts statements (sqlx logs each at debug level, target `sqlx::query`);
    // `TEST_LOG=1`, or a filter such as `TEST_LOG=debug,sqlx=info`, also prints the logs.
    let counter = crate::query_count::StatementCounter.with_filter(filter::filter_fn(
        crate::query_count::StatementCounter::wants,
    ));
    let logs = std::env::var("TEST_LOG").ok().map(|filter| {
        let filter = if filter.contains('=') || filter.contains(',') {
            filter
        } else {
            "info,sqlx=warn".to_string()
        };
        fmt::layer()
            .with_target(false)
            .with_filter(EnvFilter::new(filter))
    });
    drop(
        tracing_subscriber::registry()
            .with(counter)
            .with(logs)
            .try_init(),
    );
});

/// The maintenance database URL of the test PostgreSQL server.
pub fn test_server_url() -> String {
    std::env::var("UPCOUNT_TEST_DATABASE_URL").unwrap_or_else(|_| {
        let user = std::env::var("USER").unwrap_or_else(|_| "postgres".into());
        format!("postgres://{user}@127.0.0.1:5432/postgres")
    })
}

/// The URL of database `name` on the test server, reached at `via` when given.
pub fn database_url(name: &str, via: Option<SocketAddr>) -> String {
    let mut url = url::Url::parse(&test_server_url()).expect("UPCOUNT_TEST_DATABASE_URL is a URL");
    url.set_path(name);
    if let Some(address) = via {
        url.set_ip_host(address.ip()).expect("an IP host");
        url.set_port(Some(address.port())).expect("a port");
    }
    url.to_string()
}

/// A new, empty database, dropped (with its connections) when this value is dropped.
pub struct TestDatabase {
    pub name: String,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let name = format!("upcount_test_{}", uuid::Uuid::new_v4().simple());
        let mut connection = PgConnection::connect(&test_server_url())
            .await
            .expect("connect to the test PostgreSQL server (UPCOUNT_TEST_DATABASE_URL)");
        connection
            .execute(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
            .await
            .expect("create the test database");
        Self { name }
    }

    /// A new database migrated by `upcount migrate`.
    pub async fn migrated() -> Self {
        let database = Self::create().await;
        let (code, _, stderr) =
            run_binary(&["migrate"], &[("DATABASE_URL", &database.url())]).await;
        assert_eq!(code, 0, "upcount migrate: {stderr}");
        database
    }

    pub fn url(&self) -> String {
        database_url(&self.name, None)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs inside the test's runtime, which must not block on itself.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut connection = PgConnection::connect(&test_server_url()).await.ok()?;
                connection
                    .execute(sqlx::AssertSqlSafe(format!(
                        r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
                    )))
                    .await
                    .ok()
            })
        })
        .join();
        drop(dropped);
    }
}

/// Settings as the binary would read them from these variables.
pub fn settings(vars: &[(&str, &str)]) -> Settings {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(key, value)| ((*key).to_string(), (*value).to_string()))
        .collect();
    Settings::from_lookup(|name| {
        vars.get(name)
            .cloned()
            .ok_or(std::env::VarError::NotPresent)
    })
    .expect("test settings are valid")
}

/// A site root like the one cargo-leptos builds, with small stand-in files.
pub fn site_root() -> TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let script = "export function hydrate() { /* the hydration entry point */ }\n".repeat(64);
    for (path, contents) in [
        ("pkg/upcount.0a1b2c.js", script.as_str()),
        (
            "pkg/upcount.0a1b2c.css",
            &"body { margin: 0; padding: 0; }\n".repeat(64),
        ),
        ("pkg/upcount.0a1b2c.wasm", &"\0asm wasm bytes ".repeat(256)),
        (
            "vendor/echarts-5.5.1.min.js",
            &"var echarts = {};\n".repeat(128),
        ),
        (
            "vendor/echarts-5.5.1.min.js.gz",
            "stand-in for the gzipped bundle",
        ),
        (
            "vendor/swagger-ui-5.35.0/swagger-ui-bundle.js",
            "var SwaggerUIBundle = function () {};\n",
        ),
        (
            "vendor/swagger-ui-5.35.0/swagger-ui.css",
            ".swagger-ui { margin: 0; }\n",
        ),
        ("api-docs.js", include_str!("../../../public/api-docs.js")),
        (
            "favicon.svg",
            "<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>",
        ),
    ] {
        let file = dir.path().join(path);
        std::fs::create_dir_all(file.parent().expect("a parent folder")).expect("create folder");
        std::fs::write(file, contents).expect("write fixture");
    }
    dir
}

/// How [`spawn_app_with`] starts the application.
#[derive(Default)]
pub struct SpawnOptions {
    /// Leave the database empty (no migrations applied).
    pub unmigrated: bool,
    /// Reach PostgreSQL through this address (a [`FlakyProxy`]) instead of directly.
    pub database_via: Option<SocketAddr>,
    /// More settings, as environment variables.
    pub env: Vec<(&'static str, String)>,
    /// Use this existing database (owned by another `TestApp`) instead of a new one.
    pub database_name: Option<String>,
}

/// The real application on a random port with its own database.
pub struct TestApp {
    pub address: String,
    pub pool: PgPool,
    pub client: reqwest::Client,
    pub settings: Settings,
    pub database_name: String,
    shutdown: CancellationToken,
    // Kept alive for the app's lifetime; the database is dropped last.
    _site_root: TempDir,
    _database: Option<TestDatabase>,
}

impl TestApp {
    /// The URL of the app's database, not through any proxy.
    pub fn direct_database_url(&self) -> String {
        database_url(&self.database_name, None)
    }

    /// A user with a personal workspace on the Business plan (support's override), so
    /// that tests of other things are not held to the Free plan's limits.
    pub async fn create_user(&self, role: Role) -> TestUser {
        let user = self.create_free_user(role).await;
        sqlx::query(
            "WITH w AS (SELECT workspace_id FROM workspace_members WHERE user_id = $1),
                  b AS (INSERT INTO workspace_billing (workspace_id, plan_override)
                        SELECT workspace_id, 'business' FROM w)
             UPDATE workspaces SET plan_id = 'business' WHERE id IN (SELECT workspace_id FROM w)",
        )
        .bind(user.id)
        .execute(&self.pool)
        .await
        .expect("put the workspace on Business");
        user
    }

    /// A user with a personal workspace on the Free plan, made the way sign-up makes them.
    pub async fn create_free_user(&self, role: Role) -> TestUser {
        let email = format!("user-{}@example.com", uuid::Uuid::new_v4().simple());
        let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
        let parsed = Email::parse(&email).expect("a valid email");
        let hash = app::server::password::hash(&Password::parse(password.clone()).expect("valid"))
            .await
            .expect("hash");
        let id = app::server::db::users::create(&self.pool, &parsed, &hash, role)
            .await
            .expect("create the user")
            .expect("a new email");
        TestUser {
            id,
            email,
            password,
        }
    }

    /// The workspace of `user`.
    pub async fn workspace_of(&self, user: &TestUser) -> app::domain::WorkspaceId {
        app::server::db::users::find_current(&self.pool, user.id)
            .await
            .expect("find the user")
            .expect("the user exists")
            .workspace_id
    }

    /// A request of `method` for `path` on the app, with no cookies.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.address))
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        send(self.request(reqwest::Method::GET, path)).await
    }

    /// `GET path` with `Accept-Encoding: accept_encoding`.
    pub async fn get_encoded(&self, path: &str, accept_encoding: &str) -> reqwest::Response {
        let request = self.request(reqwest::Method::GET, path);
        send(request.header("accept-encoding", accept_encoding)).await
    }

    /// Runs the background workers in this process until the returned guard stops them.
    pub fn start_workers(&self) -> RunningWorkers {
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn({
            let (pool, settings, shutdown) =
                (self.pool.clone(), self.settings.clone(), shutdown.clone());
            async move {
                let engine = upcount::startup::engine(&settings)?;
                upcount::jobs::run(pool, &settings, engine, shutdown).await
            }
        });
        RunningWorkers { shutdown, handle }
    }
}

/// The app pointed at a fresh [`StandIn`] for every upstream API, plus `env`.
pub async fn spawn_app_with_standin(
    env: Vec<(&'static str, String)>,
) -> (crate::standin::StandIn, TestApp) {
    let standin = crate::standin::StandIn::start().await;
    let mut vars = standin.env();
    vars.extend(env);
    (standin, spawn_app_with_env(vars).await)
}

/// Background workers started by [`TestApp::start_workers`].
pub struct RunningWorkers {
    shutdown: CancellationToken,
    pub handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningWorkers {
    /// Shuts the workers down as SIGTERM would, and checks that they stop cleanly.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let stopped = join_within(Duration::from_secs(15), self.handle).await;
        stopped.expect("the workers stop cleanly");
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(SpawnOptions::default()).await
}

/// The app and one member of it (see [`TestApp::create_user`]).
pub async fn spawn_app_with_member() -> (TestApp, TestUser) {
    let app = spawn_app().await;
    let user = app.create_user(Role::Member).await;
    (app, user)
}

/// The app with more settings, as environment variables.
pub async fn spawn_app_with_env(env: Vec<(&'static str, String)>) -> TestApp {
    spawn_app_with(SpawnOptions {
        env,
        ..SpawnOptions::default()
    })
    .await
}

/// The app reaching PostgreSQL through a [`FlakyProxy`], failing fast while it is down.
pub async fn spawn_app_behind_proxy() -> (FlakyProxy, TestApp) {
    let proxy = FlakyProxy::start().await;
    let app = spawn_app_with(SpawnOptions {
        database_via: Some(proxy.address),
        env: vec![("UPCOUNT_DB_ACQUIRE_TIMEOUT_SECS", "2".into())],
        ..SpawnOptions::default()
    })
    .await;
    (proxy, app)
}

pub async fn spawn_app_with(options: SpawnOptions) -> TestApp {
    LazyLock::force(&TRACING);
    let (database, database_name) = match options.database_name {
        Some(name) => (None, name),
        None => {
            let database = TestDatabase::create().await;
            let name = database.name.clone();
            (Some(database), name)
        }
    };
    let site_root = site_root();
    let database_url = database_url(&database_name, options.database_via);
    let site_root_path = site_root.path().to_string_lossy().into_owned();
    let mut vars: Vec<(&str, &str)> = vec![
        ("DATABASE_URL", &database_url),
        ("LEPTOS_SITE_ADDR", "127.0.0.1:0"),
        ("UPCOUNT_SITE_ROOT", &site_root_path),
        // Generous: a loaded CI machine must not turn into timeouts.
        ("UPCOUNT_DB_ACQUIRE_TIMEOUT_SECS", "10"),
        ("UPCOUNT_JOB_POLL_INTERVAL_MS", "100"),
        // Payments through the built-in stand-in, as `make run` takes them.
        ("UPCOUNT_STRIPE_STANDIN", "true"),
        // Tests add trackers in bursts; the throttle has tests of its own.
        ("UPCOUNT_PREVIEWS_PER_MIN", "100000"),
    ];
    vars.extend(
        options
            .env
            .iter()
            .map(|(key, value)| (*key, value.as_str())),
    );
    let settings = settings(&vars);
    let pool = db::pool(&settings.database);
    if !options.unmigrated {
        db::migrate(&pool).await.expect("migrate the test database");
    }
    let application = Application::build(&settings, pool.clone())
        .await
        .expect("build the app");
    let address = format!(
        "http://{}",
        application.local_addr().expect("local address")
    );
    let shutdown = CancellationToken::new();
    tokio::spawn(application.run_until_stopped(shutdown.clone(), Duration::from_secs(5)));
    // Workers started later find the site (and its Stripe stand-in) where it really is,
    // not at port 0.
    let mut settings = settings;
    if settings.public_url.is_none() {
        settings.public_url = url::Url::parse(&address).ok();
    }
    TestApp {
        address,
        pool,
        client: http_client(),
        settings,
        database_name,
        shutdown,
        _site_root: site_root,
        _database: database,
    }
}

/// A user made by [`TestApp::create_user`].
#[derive(Clone, Debug)]
pub struct TestUser {
    pub id: app::domain::UserId,
    pub email: String,
    pub password: String,
}

/// Sends `request` to the test app: its response, whatever the status.
async fn send(request: reqwest::RequestBuilder) -> reqwest::Response {
    request.send().await.expect("a response from the test app")
}

/// What `task` returns, which it must within `timeout`.
pub async fn join_within<T>(timeout: Duration, task: tokio::task::JoinHandle<T>) -> T {
    tokio::time::timeout(timeout, task)
        .await
        .unwrap_or_else(|_| panic!("the task ends within {timeout:?}"))
        .expect("the task does not panic")
}

/// An HTTP client that neither follows redirects nor decompresses.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_gzip()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("an HTTP client")
}

/// Polls `check` every 100 ms until it returns `Some`, for at most `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
