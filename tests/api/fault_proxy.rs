//! A TCP proxy a test puts between grantd and one of its dependencies, to slow the dependency
//! down (every chunk of bytes, both ways, waits a given time, as `tc netem delay` would) or to
//! cut it off (open connections are closed, new ones are closed at once) and then restore it.
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
struct Fault {
    delay: Duration,
    cut: bool,
}

pub struct FaultProxy {
    pub port: u16,
    fault: watch::Sender<Fault>,
}

impl FaultProxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `127.0.0.1:upstream`.
    pub async fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (fault, watching) = watch::channel(Fault::default());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if watching.borrow().cut {
                    continue; // dropped: closed at once
                }
                let watching = watching.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                        return;
                    };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::join!(
                        pump(client_read, server_write, watching.clone()),
                        pump(server_read, client_write, watching),
                    );
                });
            }
        });
        Self { port, fault }
    }

    /// Every chunk, in both directions, waits `delay` before it is passed on.
    pub fn slow(&self, delay: Duration) {
        self.fault.send_replace(Fault { delay, cut: false });
    }

    /// Closes every open connection and every new one.
    pub fn cut(&self) {
        self.fault.send_replace(Fault {
            delay: Duration::ZERO,
            cut: true,
        });
    }

    pub fn restore(&self) {
        self.fault.send_replace(Fault::default());
    }
}

/// Copies bytes until either side closes or the proxy is cut; dropping the halves closes them.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut fault: watch::Receiver<Fault>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = tokio::select! {
            read = from.read(&mut buffer) => read,
            _ = cut(&mut fault) => return,
        };
        let n = match read {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let delay = fault.borrow().delay;
        if !delay.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = cut(&mut fault) => return,
            }
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

/// Resolves once the proxy is cut.
async fn cut(fault: &mut watch::Receiver<Fault>) {
    let _ = fault.wait_for(|f| f.cut).await;
}
