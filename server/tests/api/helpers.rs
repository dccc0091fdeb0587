//! Test harness: a fresh PostgreSQL database per test, the real router on a random port,
//! and the `upcount` binary as a child process.
//!
//! The database server comes from `UPCOUNT_TEST_DATABASE_URL` (a URL of its maintenance
//! database, as `make test` sets it), defaulting to `postgres://$USER@127.0.0.1:5432/postgres`.
//! Set `TEST_LOG=1` to see the application's logs.

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::Path,
    process::Stdio,
    sync::{
        Arc, LazyLock, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use app::domain::{Email, Password, Role};
use sqlx::{Connection, Executor, PgConnection, PgPool};
use tempfile::TempDir;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    net::{TcpListener, TcpStream},
    process::{Child, Command},
    sync::mpsc,
    task::AbortHandle,
};
use tokio_util::sync::CancellationToken;
use upcount::{config::Settings, db, startup::Application};

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

    /// A browser-like client: keeps cookies, sends this site's `Origin` on forms.
    pub fn browser(&self) -> Browser {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            // Tests look at the encoding the server chose: never decompress on the way in.
            .no_gzip()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar.clone())
            .timeout(Duration::from_secs(20))
            .build()
            .expect("an HTTP client");
        Browser {
            client,
            jar,
            base: self.address.clone(),
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request the test app")
    }

    /// `GET path` with `Accept-Encoding: accept_encoding`.
    pub async fn get_encoded(&self, path: &str, accept_encoding: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .header("accept-encoding", accept_encoding)
            .send()
            .await
            .expect("request the test app")
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

impl TestApp {
    /// An API token of `scope` for the workspace of `user`.
    pub async fn token(&self, user: &TestUser, scope: app::domain::TokenScope) -> String {
        let current = app::server::db::users::find_current(&self.pool, user.id)
            .await
            .expect("find the user")
            .expect("the user exists");
        let token = app::server::tokens::generate();
        app::server::db::tokens::create(
            &self.pool,
            current.workspace_id,
            user.id,
            &app::domain::TokenName::parse("tests").expect("a name"),
            scope,
            &token.hash,
            &token.display_prefix,
        )
        .await
        .expect("create a token");
        token.token
    }

    /// The workspace of `user`.
    pub async fn workspace_of(&self, user: &TestUser) -> app::domain::WorkspaceId {
        app::server::db::users::find_current(&self.pool, user.id)
            .await
            .expect("find the user")
            .expect("the user exists")
            .workspace_id
    }

    /// `method path` with `Authorization: Bearer token` and a JSON body.
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<serde_json::Value>,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("call the API");
        let status = response.status();
        let text = response.text().await.expect("a body");
        let json = if text.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON from {path}: {text}"))
        };
        (status, json)
    }

    /// Adds a tracker through the API (`body` as for `POST /api/v1/trackers`) and returns
    /// its id; the request must succeed.
    /// `GET` of the REST API with `token`: (status, JSON body).
    pub async fn api_get(
        &self,
        path: &str,
        token: &str,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        self.api(reqwest::Method::GET, path, token, None).await
    }

    /// `DELETE` of the REST API with `token`: (status, JSON body).
    pub async fn api_delete(
        &self,
        path: &str,
        token: &str,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        self.api(reqwest::Method::DELETE, path, token, None).await
    }

    /// `POST` of `body` to the REST API with `token`: (status, JSON body).
    pub async fn api_post(
        &self,
        path: &str,
        token: &str,
        body: serde_json::Value,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        self.api(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    /// Deletes tracker `id`: the status.
    pub async fn delete_tracker(&self, token: &str, id: &str) -> reqwest::StatusCode {
        self.api_delete(&format!("/api/v1/trackers/{id}"), token)
            .await
            .0
    }

    pub async fn add_tracker(&self, token: &str, body: serde_json::Value) -> String {
        let (status, answer) = self
            .api(reqwest::Method::POST, "/api/v1/trackers", token, Some(body))
            .await;
        assert!(status.is_success(), "add a tracker: {status} {answer}");
        answer["tracker"]["id"]
            .as_str()
            .expect("the tracker's id")
            .to_string()
    }
}

/// The app pointed at a fresh [`StandIn`] for every upstream API, plus `env`.
pub async fn spawn_app_with_standin(
    env: Vec<(&'static str, String)>,
) -> (crate::standin::StandIn, TestApp) {
    let standin = crate::standin::StandIn::start().await;
    let mut vars = standin.env();
    vars.extend(env);
    let app = spawn_app_with(SpawnOptions {
        env: vars,
        ..SpawnOptions::default()
    })
    .await;
    (standin, app)
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
        tokio::time::timeout(Duration::from_secs(15), self.handle)
            .await
            .expect("the workers stop after shutdown")
            .expect("join")
            .expect("clean stop");
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

/// A client that behaves like a browser on this site: cookies, and `Origin` on posts.
pub struct Browser {
    pub client: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
    pub base: String,
}

impl Browser {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .header("accept", "text/html")
            .send()
            .await
            .expect("GET")
    }

    /// Posts a form as the site's own page would.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.post_form_from(path, fields, Some(&self.base)).await
    }

    /// Posts a form with the given `Origin` (or none).
    pub async fn post_form_from(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        origin: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .form(fields);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send().await.expect("POST")
    }

    /// Signs in and checks that it worked.
    pub async fn sign_in(&self, user: &TestUser) {
        let response = self
            .post_form(
                "/sign-in",
                &[
                    ("email", &user.email),
                    ("password", &user.password),
                    ("next", "/dashboard"),
                ],
            )
            .await;
        assert_eq!(response.status(), 303, "sign in {}", user.email);
        assert_eq!(location(&response), "/dashboard", "sign in {}", user.email);
    }

    /// The value of the session cookie, if there is one.
    pub fn session_cookie(&self) -> Option<String> {
        use reqwest::cookie::CookieStore;
        let url = self.base.parse().expect("a URL");
        let cookies = self.jar.cookies(&url)?;
        cookies
            .to_str()
            .ok()?
            .split("; ")
            .find_map(|pair| pair.strip_prefix("upcount_session=").map(str::to_string))
    }

    /// Replaces the session cookie (to try forged or stolen ones).
    pub fn set_session_cookie(&self, value: &str) {
        let url = self.base.parse().expect("a URL");
        self.jar
            .add_cookie_str(&format!("upcount_session={value}; Path=/"), &url);
    }

    /// Follows a redirect and returns the page's HTML.
    pub async fn follow(&self, response: reqwest::Response) -> String {
        assert_eq!(response.status(), 303, "expected a redirect");
        self.get(&location(&response))
            .await
            .text()
            .await
            .expect("body")
    }
}

/// The `Location` of a redirect.
pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string()
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

/// A TCP forwarder to the test PostgreSQL server that can play "database down": while
/// down it cuts every open connection and refuses new ones.
pub struct FlakyProxy {
    pub address: SocketAddr,
    up: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
    accept_loop: AbortHandle,
}

impl FlakyProxy {
    pub async fn start() -> Self {
        let target = url::Url::parse(&test_server_url()).expect("a URL");
        let target = format!(
            "{}:{}",
            target.host_str().expect("a host"),
            target.port().unwrap_or(5432)
        );
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let address = listener.local_addr().expect("proxy address");
        let up = Arc::new(AtomicBool::new(true));
        let connections: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let accept_loop = tokio::spawn({
            let (up, connections) = (up.clone(), connections.clone());
            async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    if !up.load(Ordering::SeqCst) {
                        continue; // dropping the socket closes it at once
                    }
                    let target = target.clone();
                    let task = tokio::spawn(async move {
                        if let Ok(mut outbound) = TcpStream::connect(&target).await {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                    connections.lock().expect("lock").push(task.abort_handle());
                }
            }
        })
        .abort_handle();
        Self {
            address,
            up,
            connections,
            accept_loop,
        }
    }

    pub fn go_down(&self) {
        self.up.store(false, Ordering::SeqCst);
        for connection in self.connections.lock().expect("lock").drain(..) {
            connection.abort();
        }
    }

    pub fn come_back(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for FlakyProxy {
    fn drop(&mut self) {
        self.go_down();
        self.accept_loop.abort();
    }
}

/// The `upcount` binary running as a child process, with its log lines collected.
pub struct Process {
    pub child: Child,
    lines: mpsc::UnboundedReceiver<String>,
    pub seen: Vec<String>,
}

impl Process {
    /// Starts `upcount <args>` with exactly the environment `vars` (plus JSON logs).
    pub fn start(args: &[&str], vars: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_upcount"));
        command
            .args(args)
            .env_clear()
            .env("UPCOUNT_LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .envs(vars.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("start the upcount binary");
        let (sender, lines) = mpsc::unbounded_channel();
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        for stream in [
            Box::new(stdout) as Box<dyn tokio::io::AsyncRead + Send + Unpin>,
            Box::new(stderr),
        ] {
            let sender = sender.clone();
            tokio::spawn(async move {
                let mut reader = BufReader::new(stream).lines();
                while let Ok(Some(line)) = reader.next_line().await {
                    if std::env::var_os("TEST_LOG").is_some() {
                        eprintln!("[upcount] {line}");
                    }
                    if sender.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a JSON log line whose `message` is `message`, and returns it.
    pub async fn wait_for_log(&mut self, message: &str) -> serde_json::Value {
        self.wait_for_log_where(message, |_| true).await
    }

    /// Waits for a JSON log line whose `message` is `message` and which `also` accepts.
    pub async fn wait_for_log_where(
        &mut self,
        message: &str,
        also: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let is_match = |line: &str| {
            serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .filter(|value| value["message"] == message && also(value))
        };
        if let Some(value) = self.seen.iter().find_map(|line| is_match(line)) {
            return value;
        }
        let found = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = self.lines.recv().await {
                self.seen.push(line.clone());
                if let Some(value) = is_match(&line) {
                    return Some(value);
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(value)) => value,
            _ => panic!("no `{message}` log line; saw:\n{}", self.seen.join("\n")),
        }
    }

    /// The address the web server listens on, from its startup log line.
    pub async fn web_address(&mut self) -> String {
        let line = self.wait_for_log("web server listening").await;
        format!(
            "http://{}",
            line["address"].as_str().expect("an address field")
        )
    }

    pub fn signal(&self, signal: libc::c_int) {
        let pid = self.child.id().expect("the process is running") as libc::pid_t;
        // SAFETY: sending a signal to our own child process.
        let result = unsafe { libc::kill(pid, signal) };
        assert_eq!(result, 0, "kill({pid}, {signal})");
    }

    /// Waits for the process to exit and returns its exit code.
    pub async fn exit_code(&mut self) -> i32 {
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("the process exits within 30 s")
            .expect("wait for the process");
        // Collect what it printed last.
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        status.code().expect("an exit code, not a signal")
    }
}

/// Runs `upcount <args>` to completion and returns its exit code, standard output and
/// standard error.
pub async fn run_binary(args: &[&str], vars: &[(&str, &str)]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_upcount"))
        .args(args)
        .env_clear()
        .envs(vars.iter().copied())
        .output()
        .await
        .expect("run the upcount binary");
    (
        output.status.code().expect("an exit code"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The site root path as a string, for environment variables.
pub fn path_str(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}
