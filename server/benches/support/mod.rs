//! What the server benchmarks share: the server under test in a child process (so its memory
//! is its own), its resident memory, and how numbers are reported.

use std::{process::Stdio, time::Duration};

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, BufReader};

/// The server under test: this benchmark's own binary run again with `role` set, which
/// prints `listening on <port>` and serves until its stdin closes.
pub struct Server {
    _child: tokio::process::Child,
    pub pid: u32,
    pub port: u16,
}

impl Server {
    pub async fn spawn(role: &str, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let mut child = tokio::process::Command::new(std::env::current_exe()?)
            .env(role, "1")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let pid = child.id().context("the server exited")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let port = loop {
            let line = lines.next_line().await?.context("the server exited")?;
            if let Some(port) = line.strip_prefix("listening on ") {
                break port.parse()?;
            }
        };
        Ok(Self {
            _child: child,
            pid,
            port,
        })
    }

    pub fn rss_mb(&self) -> anyhow::Result<u64> {
        rss_mb(self.pid)
    }
}

/// The resident memory of process `pid`, in MB.
pub fn rss_mb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .context("no VmRSS")?
        .parse()?;
    Ok(kb / 1024)
}

/// Serves `router` on `listener` until stdin closes (the benchmark dropped its child).
pub async fn serve_until_stdin_closes(
    listener: tokio::net::TcpListener,
    router: axum::Router,
) -> anyhow::Result<()> {
    emit(format!("listening on {}", listener.local_addr()?.port()));
    let stdin_closed = async {
        let mut stdin = BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(_)) = stdin.next_line().await {}
    };
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(stdin_closed)
    .await?;
    Ok(())
}

pub fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) * p / 100).min(sorted.len() - 1)]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[expect(clippy::print_stdout, reason = "a benchmark prints its numbers")]
pub fn emit(line: String) {
    println!("{line}");
}
