//! The real binary: starts, migrates, serves, and exits cleanly on SIGTERM.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use sqlx::PgPool;

/// The URL of the test's own database: the server's URL with the database name swapped.
async fn url_of(pool: &PgPool) -> String {
    let name: String = sqlx::query_scalar("select current_database()")
        .fetch_one(pool)
        .await
        .unwrap();
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL for tests");
    let (server, query) = base.split_once('?').unwrap_or((&base, ""));
    let server = server.rsplit_once('/').map_or(server, |(server, _)| server);
    format!("{server}/{name}?{query}")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[sqlx::test(migrations = false)]
async fn the_server_migrates_serves_and_stops_cleanly_on_sigterm(pool: PgPool) {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .env("DATABASE_URL", url_of(&pool).await)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("LEPTOS_OUTPUT_NAME", "aistudio")
        .env("LOG_FORMAT", "json")
        .env(
            "SECRETS_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        )
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let wait_for = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            if let Ok(line) = lines_rx.recv_timeout(Duration::from_millis(200)) {
                if line.contains(needle) {
                    return line;
                }
                seen.push(line);
            }
        }
        panic!("no log line with {needle:?}; saw:\n{}", seen.join("\n"));
    };

    let serving = wait_for("\"serving\"");
    let log: serde_json::Value = serde_json::from_str(&serving).unwrap();
    assert_eq!(log["level"], "INFO", "{serving}");
    let status = studio_core::db::migration_status(&pool).await.unwrap();
    assert!(
        status.is_current(),
        "the server migrated the database at start"
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_for("\"stopped\"");
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exit status {exit:?}");
}
