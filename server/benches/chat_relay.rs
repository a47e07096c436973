//! Chat relay benchmark: the real router in a child process (so its memory is its own), fake
//! OpenAI servers and the clients in this one, all on loopback. Prints:
//!
//! - server overhead: from sending `POST /api/chat/send` to the provider receiving the model
//!   request (session and role checks, the model check, the turn's database writes, the
//!   provider call set-up), p50 / p99;
//! - relay latency per chunk: from the fake provider writing a chunk to the browser-side client
//!   reading it from the reply's event stream, p50 / p99;
//! - how many replies the server streams at once, with its resident memory.
//!
//! Run with `make bench` (a fresh database; `DATABASE_URL` must point at an empty one).

#[path = "support/fixtures.rs"]
mod fixtures;
mod support;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use fixtures::{model, stamped};
use futures::StreamExt;
use studio_core::llm::testing::{FakeServer, epoch};
use support::{Server, emit, ms, percentile};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::var_os("CHAT_RELAY_SERVE").is_some() {
        return serve().await;
    }
    let pool = studio_core::db::connect(&studio_core::db::DbConfig::from_env()?).await?;
    studio_core::MIGRATOR.run(&pool).await?;
    let (_, cookie) = fixtures::person_with_session(&pool, "student").await?;

    let quick = FakeServer::start(vec![stamped(3, Duration::ZERO)]).await?;
    let steady = FakeServer::start(vec![stamped(50, Duration::from_millis(20))]).await?;
    let slow = FakeServer::start(vec![stamped(60, Duration::from_secs(1))]).await?;
    let quick_model = model(&pool, &quick, "quick").await?.to_string();
    let steady_model = model(&pool, &steady, "steady").await?.to_string();
    let slow_model = model(&pool, &slow, "slow").await?.to_string();

    let server = Server::spawn("CHAT_RELAY_SERVE", &[("DATABASE_MAX_CONNECTIONS", "20")]).await?;
    let client = Client {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(4096)
            .build()?,
        base: format!("http://127.0.0.1:{}", server.port),
        cookie,
    };
    emit(format!("server pid {}, {} cores", server.pid, cores()));
    emit(format!("idle server RSS: {} MB", server.rss_mb()?));

    // 1. Overhead, one message at a time (a new conversation every tenth).
    let mut overhead = Vec::new();
    let mut round_trip = Vec::new();
    let mut conversation: Option<String> = None;
    for i in 0..300 {
        if i % 10 == 0 {
            conversation = None;
        }
        let before = quick.requests().len();
        let sent_at = Instant::now();
        let sent = client.send(conversation.as_deref(), &quick_model).await?;
        round_trip.push(sent_at.elapsed());
        let received = loop {
            if let Some(r) = quick.requests().get(before) {
                break r.at;
            }
            tokio::time::sleep(Duration::from_micros(100)).await;
        };
        overhead.push(received.saturating_duration_since(sent_at));
        client.follow(&sent.reply_id, None).await?;
        conversation = Some(sent.conversation_id);
    }
    report("server overhead (send -> provider request)", &mut overhead);
    report("send round trip (send -> response)", &mut round_trip);

    // 2. Relay latency, 20 replies at once, 50 chunks each 20 ms apart.
    let latencies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut streams = Vec::new();
    for _ in 0..20 {
        let sent = client.send(None, &steady_model).await?;
        let client = client.clone();
        let latencies = latencies.clone();
        streams.push(tokio::spawn(async move {
            client.follow(&sent.reply_id, Some(&latencies)).await
        }));
    }
    for stream in streams {
        stream.await??;
    }
    let mut relay = std::mem::take(&mut *latencies.lock().expect("not poisoned"));
    report("relay latency per chunk (20 streams)", &mut relay);

    // 3. Many replies at once, one chunk a second each.
    for level in [250, 500, 1000, 2000] {
        let latencies = Arc::new(std::sync::Mutex::new(Vec::new()));
        let started = Instant::now();
        let mut replies = Vec::new();
        let mut followers = Vec::new();
        for _ in 0..level / 50 {
            let mut sends = Vec::new();
            for _ in 0..50 {
                let client = client.clone();
                let model = slow_model.clone();
                sends.push(tokio::spawn(async move { client.send(None, &model).await }));
            }
            for send in sends {
                let sent = send.await??;
                replies.push(sent.reply_id.clone());
                let client = client.clone();
                let latencies = latencies.clone();
                followers.push(tokio::spawn(async move {
                    client.follow(&sent.reply_id, Some(&latencies)).await
                }));
            }
        }
        let ramp = started.elapsed();
        // Every reply streaming: measure for ten seconds.
        latencies.lock().expect("not poisoned").clear();
        tokio::time::sleep(Duration::from_secs(10)).await;
        let rss = server.rss_mb()?;
        let mut window = std::mem::take(&mut *latencies.lock().expect("not poisoned"));
        let chunks = window.len();
        for reply in &replies {
            client.stop(reply).await?;
        }
        let mut failed = 0;
        for follower in followers {
            if follower.await?.is_err() {
                failed += 1;
            }
        }
        window.sort();
        emit(format!(
            "{level} concurrent replies: started in {:.1} s, server RSS {rss} MB, {chunks} chunks in 10 s ({:.0}/s), relay p50 {:.2} ms p99 {:.2} ms, {failed} streams failed",
            ramp.as_secs_f64(),
            chunks as f64 / 10.0,
            ms(percentile(&window, 50)),
            ms(percentile(&window, 99)),
        ));
    }
    emit(format!(
        "server RSS after all replies ended: {} MB",
        server.rss_mb()?
    ));
    Ok(())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

#[derive(serde::Deserialize)]
struct Sent {
    conversation_id: String,
    reply_id: String,
}

#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

impl Client {
    async fn call(&self, endpoint: &str, body: serde_json::Value) -> anyhow::Result<String> {
        let response = self
            .http
            .post(format!("{}/api/{endpoint}", self.base))
            .header("cookie", &self.cookie)
            .header("origin", &self.base)
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        anyhow::ensure!(status.is_success(), "{endpoint}: {status} {text}");
        Ok(text)
    }

    async fn send(&self, conversation: Option<&str>, model: &str) -> anyhow::Result<Sent> {
        let body = serde_json::json!({
            "conversation_id": conversation,
            "replacing": null,
            "model_id": model,
            "text": "Tell me about the weather on the moon.",
            "images": [],
            "repositories": [],
        });
        Ok(serde_json::from_str(&self.call("chat/send", body).await?)?)
    }

    async fn stop(&self, reply: &str) -> anyhow::Result<()> {
        self.call("chat/stop", serde_json::json!({ "reply_id": reply }))
            .await
            .map(drop)
    }

    /// Reads the reply's events until `done`; records each live chunk's latency.
    async fn follow(
        &self,
        reply: &str,
        latencies: Option<&std::sync::Mutex<Vec<Duration>>>,
    ) -> anyhow::Result<()> {
        use eventsource_stream::Eventsource;
        let response = self
            .http
            .get(format!("{}/api/chat/replies/{reply}/events", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await?
            .error_for_status()?;
        let mut events = response.bytes_stream().eventsource();
        while let Some(event) = events.next().await {
            let event = event.context("the event stream broke")?;
            match event.event.as_str() {
                "text" => {
                    let now = epoch().elapsed();
                    let text: String = serde_json::from_str(&event.data)?;
                    if let Some(latencies) = latencies {
                        let mut latencies = latencies.lock().expect("not poisoned");
                        for stamp in text.split('|').filter(|s| !s.is_empty()) {
                            let sent = Duration::from_micros(stamp.parse()?);
                            latencies.push(now.saturating_sub(sent));
                        }
                    }
                }
                "done" => return Ok(()),
                _ => {}
            }
        }
        anyhow::bail!("the event stream ended before done")
    }
}

/// The child: the real router with the real state, until stdin closes.
async fn serve() -> anyhow::Result<()> {
    let pool = studio_core::db::connect(&studio_core::db::DbConfig::from_env()?).await?;
    fixtures::serve(fixtures::state(&pool)?).await
}

fn report(what: &str, samples: &mut [Duration]) {
    samples.sort();
    emit(format!(
        "{what}: n={} p50 {:.2} ms p99 {:.2} ms max {:.2} ms",
        samples.len(),
        ms(percentile(samples, 50)),
        ms(percentile(samples, 99)),
        ms(samples.last().copied().unwrap_or_default()),
    ));
}
