//! Clients that stop reading a long export starve nobody and are cut off.

use super::*;

/// An app with a tracker of a year of minutely samples (far more than sockets buffer),
/// and the raw request of its CSV export.
async fn app_with_a_long_export(write_timeout_secs: &str) -> (StandIn, TestApp, String, String) {
    let (standin, app) = spawn_app_with_standin(vec![
        ("UPCOUNT_DB_MAX_CONNECTIONS", "10".into()),
        ("UPCOUNT_WRITE_TIMEOUT_SECS", write_timeout_secs.into()),
    ])
    .await;
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let id = track_leptos(&standin, &app, &token).await;
    sqlx::query(
        "INSERT INTO samples (metric_id, t, value)
         SELECT m.id, now() - make_interval(mins => g), g
         FROM source_metrics m, generate_series(1, 525600) g
         WHERE m.name = 'stars'
         ON CONFLICT DO NOTHING",
    )
    .execute(&app.pool)
    .await
    .expect("samples");
    sqlx::query("ANALYZE samples")
        .execute(&app.pool)
        .await
        .expect("analyze");
    let address = app.address.trim_start_matches("http://").to_string();
    let request = format!(
        "GET /api/v1/trackers/{id}/export.csv HTTP/1.1\r\nHost: {address}\r\n\
         Authorization: Bearer {token}\r\n\r\n"
    );
    (standin, app, token, request)
}

/// A connection that sent `request` and will never read the answer.
async fn stalled_client(app: &TestApp, request: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket.set_recv_buffer_size(4096).expect("a small buffer");
    let address = app.address.trim_start_matches("http://");
    let mut stream = socket
        .connect(address.parse().expect("an address"))
        .await
        .expect("connect");
    stream.write_all(request.as_bytes()).await.expect("send");
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_never_read_an_export_starve_nobody() {
    let (_standin, app, token, request) = app_with_a_long_export("600").await;
    let mut stalled = Vec::new();
    for _ in 0..30 {
        stalled.push(stalled_client(&app, &request).await);
    }
    // Once every export has filled what the network and the server buffer, each waits
    // on its client holding no database connection.
    eventually(
        Duration::from_secs(60),
        "the exports to wait on their clients",
        || async {
            let mut quiet = 0;
            for _ in 0..5 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if app.pool.num_idle() >= 5 {
                    quiet += 1;
                }
            }
            (quiet == 5).then_some(())
        },
    )
    .await;
    for _ in 0..3 {
        let started = Instant::now();
        let page = app.get("/").await;
        assert_eq!(page.status(), StatusCode::OK);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the page took {:?}",
            started.elapsed()
        );
        still_answers(&app, &token).await;
    }
    drop(stalled);
}

#[tokio::test]
async fn a_client_that_stops_reading_is_cut_off_after_the_write_timeout() {
    use tokio::io::AsyncReadExt;
    let (_standin, app, _token, request) = app_with_a_long_export("2").await;
    let mut stream = stalled_client(&app, &request).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    // Whatever was in flight arrives, then the end: the server closed the connection.
    let mut received = 0usize;
    let mut buffer = vec![0u8; 64 * 1024];
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => received += read,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the connection is closed");
    assert!(
        received < 4 << 20,
        "the download was cut short: {received} bytes"
    );
}
