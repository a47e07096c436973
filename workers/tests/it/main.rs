//! Runner tests against a real Postgres: one fresh database per test.

#![expect(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fns fail the test loudly"
)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use serde_json::json;
use sqlx::PgPool;
use studio_core::db::jobs::{self, NewJob};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use workers::{Handlers, JobError, Outcome, Runner, RunnerConfig, runner::ProcessResult};

mod assistant_runs;
mod knowledge;
mod mail;
mod sqs;
mod turns;

/// The crate's handlers, knowledge items stored in a folder that lives as long as the process.
fn handlers(pool: &PgPool) -> Handlers {
    let pipeline = knowledge::pipeline(pool);
    let engine = workers::turn_engine(
        &pipeline,
        studio_core::llm::registry::EnvironmentKeys::default(),
        studio_core::limits::LimitsConfig::default(),
        CancellationToken::new(),
    );
    workers::handlers(pipeline, None, engine, public_url())
}

/// The address mail links to in these tests.
fn public_url() -> url::Url {
    url::Url::parse("https://studio.test/").unwrap()
}

fn config() -> RunnerConfig {
    RunnerConfig {
        retry_base: Duration::ZERO,
        retry_max: Duration::ZERO,
        ..RunnerConfig::default()
    }
}

async fn status(pool: &PgPool, id: uuid::Uuid) -> jobs::JobRecord {
    jobs::find(pool, id).await.unwrap().expect("job exists")
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn a_ping_job_runs_to_success(pool: PgPool) {
    let runner = Runner::new(pool.clone(), handlers(&pool), config());
    let never = CancellationToken::new();
    let id = jobs::enqueue(&pool, &NewJob::new("ping", json!({})))
        .await
        .unwrap()
        .id();

    let outcome = runner.run_once(&never).await.unwrap();
    assert_eq!(
        outcome,
        Outcome::Processed {
            id,
            result: ProcessResult::Succeeded
        }
    );
    assert_eq!(status(&pool, id).await.status, "succeeded");
    assert_eq!(runner.run_once(&never).await.unwrap(), Outcome::Empty);
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn every_job_kind_is_enqueued_typed_and_handled_and_a_wrong_payload_fails_for_good(
    pool: PgPool,
) {
    use studio_core::{
        assistants::run::RunAssistant,
        chat::titles::WriteTitle,
        knowledge::{reembed::EmbedItem, repos::IngestItem},
        mail::SendMail,
    };
    use workers::ping::Ping;

    let handlers = handlers(&pool);
    assert_eq!(
        handlers.kinds(),
        [
            "assistant-run",
            "chat-title",
            "knowledge-embed",
            "knowledge-ingest",
            "mail-send",
            "ping"
        ]
    );
    let runner = Runner::new(pool.clone(), handlers, config());
    let never = CancellationToken::new();
    let gone = uuid::Uuid::new_v4();
    let ids = [
        jobs::enqueue_job(&pool, &Ping {}).await.unwrap().id(),
        jobs::enqueue_job(&pool, &RunAssistant { run_id: gone })
            .await
            .unwrap()
            .id(),
        jobs::enqueue_job(
            &pool,
            &WriteTitle {
                conversation_id: gone,
                reply_id: gone,
            },
        )
        .await
        .unwrap()
        .id(),
        jobs::enqueue_job(&pool, &SendMail { mail_id: gone })
            .await
            .unwrap()
            .id(),
        jobs::enqueue_job(&pool, &IngestItem { item_id: gone })
            .await
            .unwrap()
            .id(),
        jobs::enqueue_job(
            &pool,
            &EmbedItem {
                item_id: gone,
                model: "a-model-no-longer-configured".into(),
            },
        )
        .await
        .unwrap()
        .id(),
    ];
    // Each handler gets its payload as its own type (their subjects are gone: nothing to do).
    for _ in ids {
        let outcome = runner.run_once(&never).await.unwrap();
        assert!(
            matches!(
                outcome,
                Outcome::Processed {
                    result: ProcessResult::Succeeded,
                    ..
                }
            ),
            "{outcome:?}"
        );
    }
    for id in ids {
        assert_eq!(status(&pool, id).await.status, "succeeded");
    }
    // The same kind queued with a payload of another shape fails at once, with the reason.
    let wrong = jobs::enqueue(&pool, &NewJob::new("mail-send", json!({ "mail": "x" })))
        .await
        .unwrap()
        .id();
    runner.run_once(&never).await.unwrap();
    let record = status(&pool, wrong).await;
    assert_eq!(record.status, "dead");
    assert!(record.last_error.unwrap().contains("bad payload"));
    // The job's own settings came with it.
    let mail = jobs::enqueue_job(&pool, &SendMail { mail_id: gone })
        .await
        .unwrap();
    let again = jobs::enqueue_job(&pool, &SendMail { mail_id: gone })
        .await
        .unwrap();
    assert_eq!(
        again,
        jobs::Enqueued::Merged(mail.id()),
        "one waiting job per message"
    );
    assert_eq!(status(&pool, mail.id()).await.max_attempts, 12);
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn unknown_kinds_are_left_for_a_worker_that_knows_them(pool: PgPool) {
    let runner = Runner::new(pool.clone(), handlers(&pool), config());
    let id = jobs::enqueue(&pool, &NewJob::new("not-mine", json!({})))
        .await
        .unwrap()
        .id();
    assert_eq!(
        runner.run_once(&CancellationToken::new()).await.unwrap(),
        Outcome::Empty
    );
    assert_eq!(status(&pool, id).await.status, "queued");
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn transient_failures_retry_until_dead_with_the_last_error(pool: PgPool) {
    let calls = Arc::new(AtomicU32::new(0));
    let mut handlers = Handlers::default();
    let seen = calls.clone();
    handlers.add("flaky", move |_ctx| {
        let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            Err(JobError::Transient(anyhow::anyhow!(
                "upstream timeout #{n}"
            )))
        }
    });
    let runner = Runner::new(pool.clone(), handlers, config());
    let never = CancellationToken::new();
    let id = jobs::enqueue(&pool, &NewJob::new("flaky", json!({})).max_attempts(3))
        .await
        .unwrap()
        .id();

    let mut results = Vec::new();
    while let Outcome::Processed { result, .. } = runner.run_once(&never).await.unwrap() {
        results.push(result);
    }
    assert_eq!(
        results,
        vec![
            ProcessResult::Retrying,
            ProcessResult::Retrying,
            ProcessResult::Dead
        ]
    );
    let record = status(&pool, id).await;
    assert_eq!(record.status, "dead");
    assert_eq!(record.last_error.as_deref(), Some("upstream timeout #3"));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn a_permanent_failure_is_not_retried(pool: PgPool) {
    let mut handlers = Handlers::default();
    handlers.add("poison", |_ctx| async {
        Err(JobError::Permanent("the file is not a PDF".into()))
    });
    let runner = Runner::new(pool.clone(), handlers, config());
    let id = jobs::enqueue(&pool, &NewJob::new("poison", json!({})))
        .await
        .unwrap()
        .id();
    let outcome = runner.run_once(&CancellationToken::new()).await.unwrap();
    assert_eq!(
        outcome,
        Outcome::Processed {
            id,
            result: ProcessResult::Dead
        }
    );
    let record = status(&pool, id).await;
    assert_eq!(
        (record.attempts, record.last_error.as_deref()),
        (1, Some("the file is not a PDF"))
    );
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn a_panicking_handler_fails_the_attempt_and_the_runner_survives(pool: PgPool) {
    let mut handlers = Handlers::default();
    handlers.add("panics", |ctx| async move {
        assert!(ctx.job.attempts > 1, "first attempt panics");
        Ok(())
    });
    let runner = Runner::new(pool.clone(), handlers, config());
    let never = CancellationToken::new();
    let id = jobs::enqueue(&pool, &NewJob::new("panics", json!({})))
        .await
        .unwrap()
        .id();
    assert_eq!(
        runner.run_once(&never).await.unwrap(),
        Outcome::Processed {
            id,
            result: ProcessResult::Retrying
        }
    );
    assert!(
        status(&pool, id)
            .await
            .last_error
            .unwrap()
            .contains("panicked")
    );
    assert_eq!(
        runner.run_once(&never).await.unwrap(),
        Outcome::Processed {
            id,
            result: ProcessResult::Succeeded
        }
    );
}

/// Waits until some session of this database is `LISTEN`ing for queue notifications.
async fn wait_for_listener(pool: &PgPool) {
    for _ in 0..200 {
        let listening: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity
             where datname = current_database() and query ilike 'listen%jobs_queued%'",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        if listening > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the runner never started listening");
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn a_notification_wakes_an_idle_runner_long_before_its_poll(pool: PgPool) {
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let mut handlers = Handlers::default();
    handlers.add("signal", move |ctx| {
        let done = done_tx.clone();
        async move {
            let _ = done.send(ctx.job.id);
            Ok(())
        }
    });
    let slow_poll = RunnerConfig {
        poll_interval: Duration::from_secs(3600),
        ..config()
    };
    let shutdown = CancellationToken::new();
    let running =
        tokio::spawn(Runner::new(pool.clone(), handlers, slow_poll).run(shutdown.clone()));
    wait_for_listener(&pool).await;

    let id = jobs::enqueue(&pool, &NewJob::new("signal", json!({})))
        .await
        .unwrap()
        .id();
    let ran = tokio::time::timeout(Duration::from_secs(20), done_rx.recv())
        .await
        .expect("woken by NOTIFY, not by the hour-long poll");
    assert_eq!(ran, Some(id));

    shutdown.cancel();
    running.await.unwrap();
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn shutdown_finishes_the_job_in_hand_and_claims_no_more(pool: PgPool) {
    let (started_tx, mut started_rx) = mpsc::unbounded_channel();
    let (release_tx, release_rx) = oneshot::channel::<()>();
    let release = Arc::new(tokio::sync::Mutex::new(Some(release_rx)));
    let mut handlers = Handlers::default();
    handlers.add("slow", move |ctx| {
        let started = started_tx.clone();
        let release = release.clone();
        async move {
            let _ = started.send(ctx.job.id);
            if let Some(rx) = release.lock().await.take() {
                let _ = rx.await;
            }
            Ok(())
        }
    });
    let one_at_a_time = RunnerConfig {
        concurrency: 1,
        ..config()
    };
    let first = jobs::enqueue(&pool, &NewJob::new("slow", json!({ "n": 1 })))
        .await
        .unwrap()
        .id();
    let second = jobs::enqueue(&pool, &NewJob::new("slow", json!({ "n": 2 })))
        .await
        .unwrap()
        .id();

    let shutdown = CancellationToken::new();
    let running =
        tokio::spawn(Runner::new(pool.clone(), handlers, one_at_a_time).run(shutdown.clone()));
    let in_hand = started_rx.recv().await.unwrap();
    assert_eq!(in_hand, first);

    shutdown.cancel();
    release_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("the runner stops once the job in hand is done")
        .unwrap();

    assert_eq!(status(&pool, first).await.status, "succeeded");
    assert_eq!(status(&pool, second).await.status, "queued");
}

/// A job that waits on something outside, as a model call does.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Waits {
    n: u32,
}

impl jobs::Job for Waits {
    const KIND: &'static str = "waits";
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn jobs_that_wait_on_models_run_many_at_once_beside_the_other_work(pool: PgPool) {
    // Three waiting jobs finish only once all three run at the same time, and the other
    // work's single place is held by a job that waits until they have.
    let together = Arc::new(tokio::sync::Barrier::new(3));
    let (all_met_tx, all_met_rx) = oneshot::channel::<()>();
    let all_met = Arc::new(std::sync::Mutex::new(Some(all_met_tx)));
    let all_met_rx = Arc::new(tokio::sync::Mutex::new(Some(all_met_rx)));
    let mut handlers = Handlers::default();
    handlers.waiting_job(move |_ctx, _job: Waits| {
        let (together, all_met) = (together.clone(), all_met.clone());
        async move {
            if together.wait().await.is_leader()
                && let Some(met) = all_met.lock().unwrap().take()
            {
                let _ = met.send(());
            }
            Ok(())
        }
    });
    handlers.add("work", move |_ctx| {
        let all_met_rx = all_met_rx.clone();
        async move {
            if let Some(met) = all_met_rx.lock().await.take() {
                let _ = met.await;
            }
            Ok(())
        }
    });
    let narrow = RunnerConfig {
        concurrency: 1,
        waiting_concurrency: 3,
        ..config()
    };
    let work = jobs::enqueue(&pool, &NewJob::new("work", json!({})))
        .await
        .unwrap()
        .id();
    let mut waiting = Vec::new();
    for n in 0..3 {
        let enqueued = jobs::enqueue_job(&pool, &Waits { n }).await.unwrap();
        let jobs::Enqueued::Created(id) = enqueued else {
            panic!("{enqueued:?}")
        };
        waiting.push(id);
    }

    let shutdown = CancellationToken::new();
    let running = tokio::spawn(Runner::new(pool.clone(), handlers, narrow).run(shutdown.clone()));
    let all_done = async {
        loop {
            let mut done = true;
            for &id in waiting.iter().chain([&work]) {
                done &= status(&pool, id).await.status == "succeeded";
            }
            if done {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), all_done)
        .await
        .expect("the waiting jobs ran together, beside the work in hand");
    shutdown.cancel();
    running.await.unwrap();
}
