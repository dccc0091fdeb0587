use std::{sync::Arc, time::Duration};

use axum::{Router, routing::get};
use tokio::{net::TcpListener, sync::Notify};
use tokio_util::sync::CancellationToken;
use upcount::{listener::TimeoutListener, startup::serve};

use crate::helpers::http_client;

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

#[tokio::test]
async fn in_flight_requests_finish_after_shutdown_starts() {
    let started = Arc::new(Notify::new());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(serve(
        TimeoutListener::new(listener, Duration::from_secs(30)),
        slow_router(Duration::from_millis(800), started.clone()),
        shutdown.clone(),
        Duration::from_secs(10),
    ));

    let client = http_client();
    let request = tokio::spawn({
        let client = client.clone();
        async move { client.get(format!("http://{address}/slow")).send().await }
    });
    started.notified().await;
    shutdown.cancel();

    let response = request
        .await
        .expect("join")
        .expect("the in-flight request completes");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "finished");
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server stops once the request is done")
        .expect("join")
        .expect("clean shutdown");

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
    let started = Arc::new(Notify::new());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(serve(
        TimeoutListener::new(listener, Duration::from_secs(30)),
        slow_router(Duration::from_secs(600), started.clone()),
        shutdown.clone(),
        Duration::from_millis(300),
    ));
    let _request = tokio::spawn(async move {
        http_client()
            .get(format!("http://{address}/slow"))
            .send()
            .await
    });
    started.notified().await;
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server gives up on the stuck request after the grace period")
        .expect("join")
        .expect("shutdown reports no error");
}
