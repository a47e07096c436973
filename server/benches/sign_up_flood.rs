//! Sign-up flood benchmark: the real router with the default limits in a child process (so its
//! memory is its own), flooded with 400 sign-up attempts at once, while a signed-in user keeps
//! loading a page. Two rounds: from one client address, then from 400 addresses (through a
//! trusted proxy's `X-Forwarded-For`, as a botnet behind the load balancer would look).
//! Prints the answers by status, the server's peak and final resident memory, and the other
//! user's page loads (p50 / p99 / failures).
//!
//! Run with `make bench` (a fresh database; `DATABASE_URL` must point at an empty one).

mod support;

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use support::{Server, emit, ms, percentile, rss_mb};
use uuid::Uuid;

const ATTEMPTS: usize = 400;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::var_os("SIGN_UP_FLOOD_SERVE").is_some() {
        return serve().await;
    }
    let pool = studio_core::db::connect(&studio_core::db::DbConfig::from_env()?).await?;
    studio_core::MIGRATOR.run(&pool).await?;
    let cookie = session(&pool).await?;
    let server = Server::spawn("SIGN_UP_FLOOD_SERVE", &[]).await?;
    let base = format!("http://127.0.0.1:{}", server.port);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()?;
    emit(format!("server pid {}", server.pid));
    // Warm up: the page once, one sign-up (the hashing code paged in).
    http.get(format!("{base}/"))
        .header("cookie", &cookie)
        .send()
        .await?;
    sign_up(&http, &base, "warm-up@school.example", None).await?;
    emit(format!("idle server RSS: {} MB", server.rss_mb()?));

    for (round, spread) in [
        ("one client address", false),
        ("400 client addresses", true),
    ] {
        let peak = Arc::new(AtomicU64::new(server.rss_mb()?));
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (peak, stop, pid) = (peak.clone(), stop.clone(), server.pid);
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(rss) = rss_mb(pid) {
                        peak.fetch_max(rss, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
        };
        let reader = {
            let (http, base, cookie, stop) =
                (http.clone(), base.clone(), cookie.clone(), stop.clone());
            tokio::spawn(async move {
                let mut loads = Vec::new();
                let mut failed = 0;
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    match http
                        .get(format!("{base}/"))
                        .header("cookie", &cookie)
                        .send()
                        .await
                    {
                        Ok(response) if response.status().is_success() => {
                            let _ = response.bytes().await;
                            loads.push(started.elapsed());
                        }
                        _ => failed += 1,
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                (loads, failed)
            })
        };

        let started = Instant::now();
        let attempts: Vec<_> = (0..ATTEMPTS)
            .map(|n| {
                let (http, base) = (http.clone(), base.clone());
                let email = format!("flood-{n}-{}@school.example", Uuid::new_v4().simple());
                let from = spread.then(|| format!("198.51.{}.{}", n / 200, n % 200 + 1));
                tokio::spawn(async move { sign_up(&http, &base, &email, from.as_deref()).await })
            })
            .collect();
        let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
        for attempt in attempts {
            let status = attempt.await??;
            *statuses.entry(status).or_default() += 1;
        }
        let flood = started.elapsed();
        // Keep reading pages a moment after the flood, then stop.
        tokio::time::sleep(Duration::from_millis(500)).await;
        stop.store(true, Ordering::Relaxed);
        sampler.await?;
        let (mut loads, failed) = reader.await?;
        loads.sort();
        emit(format!(
            "{round}: {ATTEMPTS} sign-ups in {:.1} s, answers {statuses:?}; server RSS peak {} MB, after {} MB; other user's page loads n={} p50 {:.1} ms p99 {:.1} ms failed {failed}",
            flood.as_secs_f64(),
            peak.load(Ordering::Relaxed),
            server.rss_mb()?,
            loads.len(),
            ms(percentile(&loads, 50)),
            ms(percentile(&loads, 99)),
        ));
    }
    Ok(())
}

/// One sign-up attempt; its HTTP status. `from` is the client address a trusted proxy reports.
async fn sign_up(
    http: &reqwest::Client,
    base: &str,
    email: &str,
    from: Option<&str>,
) -> anyhow::Result<u16> {
    let mut request = http
        .post(format!("{base}/api/auth/sign-up"))
        .header("origin", base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "email={}&display_name=Flood&password=a+long+enough+password",
            email.replace('@', "%40")
        ));
    if let Some(from) = from {
        request = request.header("x-forwarded-for", from);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let _ = response.bytes().await;
    Ok(status)
}

/// A verified staff member with a session; returns the cookie.
async fn session(pool: &sqlx::PgPool) -> anyhow::Result<String> {
    use studio_core::accounts::{
        sessions::{self, Origin, SessionPolicy},
        users,
    };
    let user: Uuid = sqlx::query_scalar(
        "insert into users (email, display_name, is_email_verified, email_verified_at) values ($1, 'Reader', true, now()) returning id",
    )
    .bind(format!("reader-{}@school.example", Uuid::new_v4().simple()))
    .fetch_one(pool)
    .await?;
    users::grant_role_by_name(pool, user, "staff").await?;
    let session = sessions::create(pool, user, Origin::default(), SessionPolicy::default()).await?;
    Ok(format!("aistudio-session={}", session.token))
}

/// The child: the real router with the default limits and loopback as a trusted proxy, until
/// stdin closes.
async fn serve() -> anyhow::Result<()> {
    use std::sync::Arc;

    use app::ssr::AppState;
    use leptos::config::LeptosOptions;
    use studio_core::{
        accounts::{
            AccountsConfig,
            oidc::{Oidc, OidcConfig},
        },
        llm::{
            RetryPolicy,
            registry::{EnvironmentKeys, Registry},
        },
    };

    let pool = studio_core::db::connect(&studio_core::db::DbConfig::from_env()?).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let public_url = url::Url::parse(&format!(
        "http://127.0.0.1:{}/",
        listener.local_addr()?.port()
    ))?;
    let state = AppState {
        leptos_options: LeptosOptions::builder().output_name("aistudio").build(),
        pool: pool.clone(),
        accounts: AccountsConfig {
            secure_cookies: false,
            public_url: public_url.clone(),
            ..AccountsConfig::default()
        },
        oidc: Arc::new(Oidc::new(OidcConfig {
            providers: Vec::new(),
            public_url: public_url.clone(),
        })?),
        llm: Arc::new(Registry::new(
            EnvironmentKeys::default(),
            RetryPolicy::default(),
        )),
        generations: Arc::default(),
        shutdown: tokio_util::sync::CancellationToken::new(),
        knowledge: Arc::new(app::ssr::Knowledge::new(
            studio_core::knowledge::pipeline::Pipeline::local(
                pool.clone(),
                std::env::temp_dir().join("aistudio-test-files"),
            ),
        )),
        guards: Arc::new(studio_core::limits::Guards::default()),
        bell: std::sync::Arc::default(),
    };
    let operations = server::routes::Operations {
        site: server::edge::SiteConfig {
            public_urls: vec![public_url],
            trusted_proxies: vec!["127.0.0.1/32".parse()?],
            listens_locally: false,
        },
        metrics: server::metrics::install()?,
        token: None,
        metrics_elsewhere: false,
    };
    support::serve_until_stdin_closes(listener, server::routes::router(state, &operations)).await
}
