//! Mail over a real SMTP server on loopback (`end2end/support/mail-server.mjs`, npm
//! smtp-server): queued in the outbox, delivered by the `mail-send` job, read back from what
//! the server received.

use std::process::Stdio;

use sqlx::PgPool;
use studio_core::mail::{
    MailConfig, Mailer, SmtpConfig, SmtpSecurity,
    outbox::{self},
    templates,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_util::sync::CancellationToken;
use workers::{Handlers, Outcome, Runner, runner::ProcessResult};

/// The test SMTP server, stopped when dropped.
struct MailServer {
    _child: tokio::process::Child,
    smtp_port: u16,
    http: String,
}

impl MailServer {
    async fn start() -> Self {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../end2end/support/mail-server.mjs"
        );
        let mut child = tokio::process::Command::new("node")
            .arg(script)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs the test mail server (make test installs end2end's packages)");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = lines.next_line().await.unwrap().unwrap();
        let parts: Vec<&str> = line.split_whitespace().collect();
        assert_eq!((parts[0], parts[2]), ("smtp", "http"), "{line}");
        Self {
            smtp_port: parts[1].parse().unwrap(),
            http: format!("http://127.0.0.1:{}", parts[3]),
            _child: child,
        }
    }

    fn mailer(&self, password: &str) -> Mailer {
        Mailer::new(&MailConfig {
            smtp: Some(SmtpConfig {
                host: "127.0.0.1".into(),
                port: self.smtp_port,
                security: SmtpSecurity::None,
                username: Some("studio".into()),
                password: Some(password.to_owned().into()),
                timeout: std::time::Duration::from_secs(10),
            }),
            from: "AI Studio <no-reply@school.test>".into(),
        })
        .unwrap()
        .unwrap()
    }

    async fn received(&self, to: &str) -> Vec<serde_json::Value> {
        reqwest::get(format!("{}/messages?to={to}", self.http))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

fn runner(pool: &PgPool, mailer: Option<Mailer>) -> Runner {
    let mut handlers = Handlers::default();
    workers::mail::add(&mut handlers, mailer);
    Runner::new(pool.clone(), handlers, super::config())
}

async fn queue(pool: &PgPool, to: &str) -> uuid::Uuid {
    let mut tx = pool.begin().await.unwrap();
    let id = outbox::queue(
        &mut tx,
        &templates::verify_email(to, "Ada", "http://studio.test/verify-email?token=abc"),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn row(pool: &PgPool, id: uuid::Uuid) -> (String, String, Option<String>) {
    sqlx::query_as("select status, text_body, last_error from mail_outbox where id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn mail_goes_out_authenticated_from_the_queue_and_keeps_only_its_envelope(pool: PgPool) {
    let server = MailServer::start().await;
    let id = queue(&pool, "ada@school.test").await;
    let runner = runner(&pool, Some(server.mailer("mail-secret")));
    let outcome = runner.run_once(&CancellationToken::new()).await.unwrap();
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
    let received = server.received("ada@school.test").await;
    assert_eq!(received.len(), 1, "{received:?}");
    let mail = &received[0];
    assert_eq!(mail["subject"], "Confirm your email address for AI Studio");
    assert_eq!(
        mail["user"], "studio",
        "sent with the configured credentials"
    );
    assert!(
        mail["from"]
            .as_str()
            .unwrap()
            .contains("no-reply@school.test")
    );
    assert!(
        mail["text"]
            .as_str()
            .unwrap()
            .contains("http://studio.test/verify-email?token=abc")
    );
    assert!(
        mail["html"]
            .as_str()
            .unwrap()
            .contains("href=\"http://studio.test/verify-email?token=abc\"")
    );
    let (status, body, _) = row(&pool, id).await;
    assert_eq!((status.as_str(), body.as_str()), ("sent", ""));
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn refused_mail_fails_for_good_and_a_busy_server_is_tried_again(pool: PgPool) {
    let server = MailServer::start().await;
    let runner = runner(&pool, Some(server.mailer("mail-secret")));
    let never = CancellationToken::new();

    let refused = queue(&pool, "nobody@refused.example").await;
    let outcome = runner.run_once(&never).await.unwrap();
    assert!(
        matches!(
            outcome,
            Outcome::Processed {
                result: ProcessResult::Dead,
                ..
            }
        ),
        "{outcome:?}"
    );
    let (status, body, error) = row(&pool, refused).await;
    assert_eq!(status, "failed");
    assert!(body.is_empty(), "a refused message keeps no link");
    assert!(error.unwrap().contains("No such mailbox"));

    let later = queue(&pool, "someone@later.example").await;
    let outcome = runner.run_once(&never).await.unwrap();
    assert!(
        matches!(
            outcome,
            Outcome::Processed {
                result: ProcessResult::Retrying,
                ..
            }
        ),
        "{outcome:?}"
    );
    let (status, body, error) = row(&pool, later).await;
    assert_eq!(status, "queued");
    assert!(!body.is_empty(), "kept until it goes out");
    assert!(error.unwrap().contains("Try again later"));

    // Wrong credentials are refused by the server: not retried blindly.
    let wrong = runner_with_password(&pool, &server, "not-the-password");
    let id = queue(&pool, "ada@school.test").await;
    let outcome = wrong.run_once(&never).await.unwrap();
    assert!(matches!(outcome, Outcome::Processed { .. }), "{outcome:?}");
    assert_ne!(row(&pool, id).await.0, "sent");
    assert!(server.received("ada@school.test").await.is_empty());
}

fn runner_with_password(pool: &PgPool, server: &MailServer, password: &str) -> Runner {
    runner(pool, Some(server.mailer(password)))
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn without_smtp_mail_is_held_in_the_outbox_not_lost(pool: PgPool) {
    let id = queue(&pool, "ada@school.test").await;
    let outcome = runner(&pool, None)
        .run_once(&CancellationToken::new())
        .await
        .unwrap();
    assert!(matches!(
        outcome,
        Outcome::Processed {
            result: ProcessResult::Succeeded,
            ..
        }
    ));
    let (status, body, _) = row(&pool, id).await;
    assert_eq!(status, "held");
    assert!(
        body.contains("verify-email?token=abc"),
        "readable by administrators"
    );
    let listed = outbox::list(&pool, None, 10).await.unwrap();
    assert_eq!(listed[0].status, "held");
}
