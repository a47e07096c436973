//! What the benchmarks that serve the app set up alike: people with sessions, models on fake
//! providers, and the server's state with its per-user limits lifted (they measure the
//! server, not the limits).

use std::{sync::Arc, time::Duration};

use app::ssr::AppState;
use sqlx::PgPool;
use studio_core::llm::testing::{FakeServer, Frame, Reply, done, finish_chunk, usage_chunk};
use uuid::Uuid;

/// A person holding `role`, with a session; returns them and the session's cookie.
pub async fn person_with_session(pool: &PgPool, role: &str) -> anyhow::Result<(Uuid, String)> {
    use studio_core::accounts::{
        sessions::{self, Origin, SessionPolicy},
        users,
    };
    let user: Uuid = sqlx::query_scalar(
        "insert into users (email, display_name, is_email_verified, email_verified_at) values ($1, 'Bench', true, now()) returning id",
    )
    .bind(format!("bench-{}@example.org", Uuid::new_v4().simple()))
    .fetch_one(pool)
    .await?;
    users::grant_role_by_name(pool, user, role).await?;
    let session = sessions::create(pool, user, Origin::default(), SessionPolicy::default()).await?;
    Ok((user, format!("aistudio-session={}", session.token)))
}

/// A provider on `server` and a model on it every role may use; returns the model's id.
pub async fn model(pool: &PgPool, server: &FakeServer, name: &str) -> anyhow::Result<Uuid> {
    let provider: Uuid = sqlx::query_scalar(
        "insert into ai_providers (kind, name, base_url) values ('openai', $1, $2) returning id",
    )
    .bind(format!("bench {name} {}", Uuid::new_v4().simple()))
    .bind(server.base_url())
    .fetch_one(pool)
    .await?;
    let model: Uuid = sqlx::query_scalar(
        "insert into ai_models (provider_id, model_key, display_name, input_price, output_price) values ($1, $2, $2, 1, 2) returning id",
    )
    .bind(provider)
    .bind(name)
    .fetch_one(pool)
    .await?;
    sqlx::query("insert into ai_model_roles (model_id, role_id) select $1, id from roles")
        .bind(model)
        .execute(pool)
        .await?;
    Ok(model)
}

/// A reply of `chunks` stamped chunks `every` apart, then the finish, usage and `[DONE]`.
pub fn stamped(chunks: usize, every: Duration) -> Reply {
    let mut frames = Vec::new();
    for _ in 0..chunks {
        frames.push(Frame::Stamp);
        if !every.is_zero() {
            frames.push(Frame::Pause(every));
        }
    }
    frames.extend([
        finish_chunk("stop"),
        usage_chunk(20, chunks as u64, 0),
        done(),
    ]);
    Reply::Stream(frames)
}

/// The server's state on `pool`, its per-user limits lifted.
pub fn state(pool: &PgPool) -> anyhow::Result<AppState> {
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

    Ok(AppState {
        leptos_options: LeptosOptions::builder().output_name("aistudio").build(),
        pool: pool.clone(),
        accounts: AccountsConfig {
            secure_cookies: false,
            ..AccountsConfig::default()
        },
        oidc: Arc::new(Oidc::new(OidcConfig {
            providers: Vec::new(),
            public_url: url::Url::parse("http://127.0.0.1/")?,
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
        guards: Arc::new(studio_core::limits::Guards::new(
            studio_core::limits::LimitsConfig {
                ai_calls_per_minute: 1_000_000,
                live_generations_per_user: 1_000_000,
                event_streams_per_user: 1_000_000,
                ..studio_core::limits::LimitsConfig::default()
            },
        )),
        bell: Arc::default(),
    })
}

/// Serves the real router with `state` on a loopback port until stdin closes.
pub async fn serve(state: AppState) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let site = server::edge::SiteConfig {
        public_urls: vec![url::Url::parse(&format!(
            "http://127.0.0.1:{}/",
            listener.local_addr()?.port()
        ))?],
        trusted_proxies: Vec::new(),
        listens_locally: false,
    };
    let operations = server::routes::Operations {
        site,
        metrics: server::metrics::install()?,
        token: None,
        metrics_elsewhere: false,
    };
    crate::support::serve_until_stdin_closes(listener, server::routes::router(state, &operations))
        .await
}
