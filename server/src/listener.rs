//! The web server's listener: every connection gets a write timeout, so a client that
//! stops reading (a never-finished download, a slow-loris reader) is cut off instead of
//! holding the connection, its task and its response stream forever.

use std::{net::SocketAddr, pin::Pin, time::Duration};

use axum::{extract::connect_info::Connected, serve::IncomingStream};
use tokio::net::{TcpListener, TcpStream};
use tokio_io_timeout::TimeoutStream;

/// A TCP listener whose connections time out writes after `write_timeout` without
/// progress.
pub struct TimeoutListener {
    listener: TcpListener,
    write_timeout: Duration,
}

impl TimeoutListener {
    pub fn new(listener: TcpListener, write_timeout: Duration) -> Self {
        Self {
            listener,
            write_timeout,
        }
    }
}

impl axum::serve::Listener for TimeoutListener {
    type Io = Pin<Box<TimeoutStream<TcpStream>>>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, address) = axum::serve::Listener::accept(&mut self.listener).await;
        let mut stream = TimeoutStream::new(stream);
        stream.set_write_timeout(Some(self.write_timeout));
        (Box::pin(stream), address)
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}

/// The client's address, as `ConnectInfo<PeerAddr>` in a request's extensions.
#[derive(Clone, Copy, Debug)]
pub struct PeerAddr(pub SocketAddr);

impl Connected<IncomingStream<'_, TimeoutListener>> for PeerAddr {
    fn connect_info(stream: IncomingStream<'_, TimeoutListener>) -> Self {
        PeerAddr(*stream.remote_addr())
    }
}
