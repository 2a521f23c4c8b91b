//! The accept loop, our own rather than `axum::serve`, for what a server on the
//! internet needs: a client must finish its headers within `header_timeout` (a slowloris
//! holds nothing for long), a keep-alive connection idle for `idle_timeout` is closed, at
//! most `max_connections` are served at once (the rest wait in the kernel's backlog),
//! every request knows its peer address (login throttling), and shutdown lets in-flight
//! requests finish.

use crate::guard::Guard;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

/// Serves `router` on `listener` until `shutdown` resolves, then waits for open
/// connections to finish their requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    guard: &Guard,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(guard.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(guard.header_timeout)
        .keep_alive(true);
    let builder = Arc::new(builder);
    let mut shutdown = pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: wait a little instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // No TCP_NODELAY, as before with `axum::serve` (hyper writes a response in one go;
        // with it on, the greeting bench measured slightly slower).
        let conn = Connection {
            router: router.clone(),
            builder: builder.clone(),
            stop: stop_rx.clone(),
            idle_timeout: guard.idle_timeout,
        };
        tokio::spawn(async move {
            conn.run(tcp, peer).await;
            drop(permit);
        });
    }
    let _ = stop_tx.send(true);
    drop(listener);
    // Every connection holds a permit until it ends.
    let _ = slots.acquire_many(guard.max_connections as u32).await;
    Ok(())
}

struct Connection {
    router: Router,
    builder: Arc<hyper::server::conn::http1::Builder>,
    stop: watch::Receiver<bool>,
    idle_timeout: Duration,
}

impl Connection {
    async fn run(mut self, tcp: tokio::net::TcpStream, peer: SocketAddr) {
        // Requests in flight, and when the last one ended (ms since `born`).
        let activity = Arc::new(Activity::default());
        let born = tokio::time::Instant::now();
        let router = self.router.clone();
        let seen = activity.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let router = router.clone();
            let seen = seen.clone();
            seen.in_flight.fetch_add(1, Ordering::Relaxed);
            async move {
                let res = router.oneshot(req.map(axum::body::Body::new)).await;
                seen.in_flight.fetch_sub(1, Ordering::Relaxed);
                seen.last_ms
                    .store(born.elapsed().as_millis() as u64, Ordering::Relaxed);
                res
            }
        });
        // With upgrades: the web chat's WebSocket takes the connection over.
        let conn = self
            .builder
            .serve_connection(TokioIo::new(tcp), service)
            .with_upgrades();
        let mut conn = pin!(conn);
        let mut closing = false;
        let tick = (self.idle_timeout / 4).max(Duration::from_millis(50));
        loop {
            tokio::select! {
                res = conn.as_mut() => {
                    if let Err(e) = res
                        && !e.is_incomplete_message()
                        && !e.is_timeout()
                    {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    return;
                }
                _ = self.stop.changed(), if !closing => {
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
                () = tokio::time::sleep(tick), if !closing => {
                    let idle_for = (born.elapsed().as_millis() as u64)
                        .saturating_sub(activity.last_ms.load(Ordering::Relaxed));
                    if activity.in_flight.load(Ordering::Relaxed) == 0
                        && idle_for >= self.idle_timeout.as_millis() as u64
                    {
                        closing = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    }
}

#[derive(Default)]
struct Activity {
    in_flight: AtomicU64,
    last_ms: AtomicU64,
}
