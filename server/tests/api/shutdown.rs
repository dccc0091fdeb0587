use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{Router, routing::get};
use tokio::{net::TcpListener, sync::Notify};
use tokio_util::sync::CancellationToken;
use upcount::{listener::TimeoutListener, startup::serve};

use crate::helpers::{http_client, join_within};

/// A router with one slow route that announces when a request has started.
fn slow_router(delay: Duration, started: Arc<Notify>) -> Router {
    Router::new().route(
        "/slow",
        get(move || {
            let started = started.clone();
            async move {
                started.notify_one();
                tokio::time::sleep(delay).await;
                "finished"
            }
        }),
    )
}

/// A running [`slow_server`].
struct SlowServer {
    address: SocketAddr,
    started: Arc<Notify>,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Serves [`slow_router`], each request taking `delay`, with `grace` to finish them when
/// shut down.
async fn slow_server(delay: Duration, grace: Duration) -> SlowServer {
    let started = Arc::new(Notify::new());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(serve(
        TimeoutListener::new(listener, Duration::from_secs(30)),
        slow_router(delay, started.clone()),
        shutdown.clone(),
        grace,
    ));
    SlowServer {
        address,
        started,
        shutdown,
        server,
    }
}

#[tokio::test]
async fn in_flight_requests_finish_after_shutdown_starts() {
    let slow = slow_server(Duration::from_millis(800), Duration::from_secs(10)).await;
    let address = slow.address;

    let client = http_client();
    let request = tokio::spawn({
        let client = client.clone();
        async move { client.get(format!("http://{address}/slow")).send().await }
    });
    slow.started.notified().await;
    slow.shutdown.cancel();

    let response = request
        .await
        .expect("join")
        .expect("the in-flight request completes");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "finished");
    // The server stops once the request is done.
    let stopped = join_within(Duration::from_secs(5), slow.server).await;
    stopped.expect("clean shutdown");

    // New connections are refused once the server has stopped.
    assert!(
        client
            .get(format!("http://{address}/slow"))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn shutdown_does_not_wait_longer_than_the_grace_period() {
    let slow = slow_server(Duration::from_secs(600), Duration::from_millis(300)).await;
    let address = slow.address;
    let _request = tokio::spawn(async move {
        http_client()
            .get(format!("http://{address}/slow"))
            .send()
            .await
    });
    slow.started.notified().await;
    slow.shutdown.cancel();
    // The server gives up on the stuck request after the grace period.
    let stopped = join_within(Duration::from_secs(5), slow.server).await;
    stopped.expect("shutdown reports no error");
}
