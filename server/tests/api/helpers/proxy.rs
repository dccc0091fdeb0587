//! A database that can go away: a TCP forwarder to the test PostgreSQL server.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use tokio::{
    net::{TcpListener, TcpStream},
    task::AbortHandle,
};

use super::test_server_url;

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
