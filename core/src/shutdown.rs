//! The shutdown signal shared by the binaries.

use std::future::Future;

/// Listens for SIGTERM (what orchestrators send) and Ctrl-C from the moment it is called; the
/// future resolves on either. Call it before announcing readiness: a signal sent right after
/// is then not missed (nor does it kill the process unhandled).
pub fn signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{Signal, SignalKind, signal};
        let terminate = signal(SignalKind::terminate()).ok();
        let interrupt = signal(SignalKind::interrupt()).ok();
        let wait = |listener: Option<Signal>| async move {
            match listener {
                Some(mut listener) => {
                    listener.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        async move {
            tokio::select! {
                () = wait(terminate) => {}
                () = wait(interrupt) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
