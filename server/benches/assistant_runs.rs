//! Assistant runs benchmark: 100 runs of a five-prompt assistant (three prompts at once, one
//! joining two of them, one joining the rest), started at once by ten students, each prompt
//! answered by a fake OpenAI server with 200 chunks 5 ms apart. The server (router and job
//! runner, as in embedded mode) runs in a child process so its memory is its own; each run
//! is followed over its event stream, as its page would. Prints how many finished, the time
//! from starting a run to its first streamed text and to its end (p50 / p99), and the
//! server's resident memory at its peak.
//!
//! Run with `make bench` (a fresh database; `DATABASE_URL` must point at an empty one).

#[path = "support/fixtures.rs"]
mod fixtures;
mod support;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use futures::StreamExt;
use studio_core::{
    accounts::admin::Actor,
    assistants::{
        inputs::{Inputs, Value},
        run,
        store::{self, Definition, Field, FieldKind, Prompt},
    },
    llm::testing::FakeServer,
};
use support::{Server, emit, ms, percentile};
use uuid::Uuid;

const RUNS: usize = 100;
const STUDENTS: usize = 10;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::var_os("ASSISTANT_RUNS_SERVE").is_some() {
        return serve().await;
    }
    let pool = studio_core::db::connect(&studio_core::db::DbConfig::from_env()?).await?;
    studio_core::MIGRATOR.run(&pool).await?;
    let provider =
        FakeServer::start(vec![fixtures::stamped(200, Duration::from_millis(5))]).await?;
    let model = fixtures::model(&pool, &provider, "runs").await?;
    let assistant = assistant(&pool, model).await?;
    let mut students = Vec::new();
    for _ in 0..STUDENTS {
        students.push(fixtures::person_with_session(&pool, "student").await?);
    }

    let server = Server::spawn(
        "ASSISTANT_RUNS_SERVE",
        &[("DATABASE_MAX_CONNECTIONS", "20")],
    )
    .await?;
    let base = format!("http://127.0.0.1:{}", server.port);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()?;
    emit(format!(
        "server pid {}, idle server RSS: {} MB",
        server.pid,
        server.rss_mb()?
    ));

    let peak = Arc::new(AtomicU64::new(0));
    let sampling = tokio::spawn({
        let (peak, pid) = (peak.clone(), server.pid);
        async move {
            loop {
                if let Ok(rss) = support::rss_mb(pid) {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    });
    let started = Instant::now();
    let mut runs = Vec::new();
    for n in 0..RUNS {
        let (student, cookie) = students[n % STUDENTS].clone();
        let (pool, http, base) = (pool.clone(), http.clone(), base.clone());
        runs.push(tokio::spawn(async move {
            let at = Instant::now();
            let inputs = Inputs::from([("notes".to_owned(), Value::One(format!("Note {n}")))]);
            let run_id = run::start(&pool, student, assistant, &inputs).await?;
            follow(&http, &base, &cookie, run_id, at).await
        }));
    }
    let mut first_text = Vec::new();
    let mut ended = Vec::new();
    let mut failed = 0;
    for run in runs {
        match run.await? {
            Ok((first, end, true)) => {
                first_text.push(first);
                ended.push(end);
            }
            Ok((_, _, false)) => failed += 1,
            Err(err) => {
                failed += 1;
                emit(format!("a run failed: {err:#}"));
            }
        }
    }
    let wall = started.elapsed();
    sampling.abort();
    first_text.sort();
    ended.sort();
    emit(format!(
        "{RUNS} runs of 5 prompts started at once: {} succeeded, {failed} did not, all in {:.1} s",
        ended.len(),
        wall.as_secs_f64()
    ));
    emit(format!(
        "start -> first streamed text: p50 {:.0} ms p99 {:.0} ms",
        ms(percentile(&first_text, 50)),
        ms(percentile(&first_text, 99))
    ));
    emit(format!(
        "start -> run ended: p50 {:.0} ms p99 {:.0} ms",
        ms(percentile(&ended, 50)),
        ms(percentile(&ended, 99))
    ));
    emit(format!(
        "server RSS at its peak: {} MB; {} model calls",
        peak.load(Ordering::Relaxed),
        provider.requests().len()
    ));
    Ok(())
}

/// An approved assistant for students: prompts a, b and c read the notes at once, d joins a
/// and b, e joins c and d.
async fn assistant(pool: &sqlx::PgPool, model: Uuid) -> anyhow::Result<Uuid> {
    let (admin, _) = fixtures::person_with_session(pool, "administrator").await?;
    let (owner, _) = fixtures::person_with_session(pool, "staff").await?;
    let prompt = |key: &str, content: &str| Prompt {
        key: key.into(),
        name: format!("Step {key}"),
        content: content.into(),
        system: None,
        model_id: Some(model),
        repositories: Vec::new(),
    };
    let definition = Definition {
        name: "Bench letter".into(),
        description: String::new(),
        icon: "letter".into(),
        category: String::new(),
        share_knowledge: false,
        fields: vec![Field {
            name: "notes".into(),
            label: "Notes".into(),
            help: String::new(),
            kind: FieldKind::LongText,
            required: true,
            options: Vec::new(),
        }],
        prompts: vec![
            prompt("a", "Summarise {{notes}}"),
            prompt("b", "List the facts in {{notes}}"),
            prompt("c", "Suggest a tone for {{notes}}"),
            prompt("d", "Join {{a}} and {{b}}"),
            prompt("e", "Write {{d}} in {{c}}"),
        ],
    };
    let id = store::create(pool, owner, &definition).await?;
    store::submit(pool, owner, id).await?;
    let students: Uuid = sqlx::query_scalar("select id from roles where name = 'student'")
        .fetch_one(pool)
        .await?;
    let actor = Actor {
        user_id: admin,
        ip: None,
    };
    store::approve(pool, actor, id, &[students]).await?;
    Ok(id)
}

/// Follows run `run_id` until it ends: the time from `at` to its first text and to its end,
/// and whether it succeeded.
async fn follow(
    http: &reqwest::Client,
    base: &str,
    cookie: &str,
    run_id: Uuid,
    at: Instant,
) -> anyhow::Result<(Duration, Duration, bool)> {
    use eventsource_stream::Eventsource;
    let response = http
        .get(format!("{base}/api/assistants/runs/{run_id}/events"))
        .header("cookie", cookie)
        .send()
        .await?
        .error_for_status()?;
    let mut events = response.bytes_stream().eventsource();
    let mut first = None;
    while let Some(event) = events.next().await {
        let event = event.context("the event stream broke")?;
        match event.event.as_str() {
            "step-text" | "step-output" => {
                first.get_or_insert_with(|| at.elapsed());
            }
            "run-ended" => {
                let ended: serde_json::Value = serde_json::from_str(&event.data)?;
                let end = at.elapsed();
                return Ok((first.unwrap_or(end), end, ended["status"] == "succeeded"));
            }
            _ => {}
        }
    }
    anyhow::bail!("the event stream ended before the run")
}

/// The child: the real router and the job runner, as the server runs them in embedded mode.
async fn serve() -> anyhow::Result<()> {
    let pool = studio_core::db::connect(&studio_core::db::DbConfig::from_env()?).await?;
    let state = fixtures::state(&pool)?;
    let pipeline = state.knowledge.pipeline.clone();
    let runner = workers::Runner::new(
        pool.clone(),
        workers::handlers(
            pipeline,
            None,
            state.turns(),
            state.accounts.public_url.clone(),
        ),
        workers::RunnerConfig::default(),
    );
    tokio::spawn(runner.run(tokio_util::sync::CancellationToken::new()));
    fixtures::serve(state).await
}
