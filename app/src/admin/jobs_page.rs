//! `/admin/jobs`: the background work: how many jobs wait, run or died, per kind; the dead,
//! running and retrying ones with their errors; retry or discard.

use leptos::{prelude::*, server_fn::codec::Json, task::spawn_local};
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::{
    error::AppError,
    ui::{DataTable, ErrorView, StatusLine, confirm},
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobCount {
    pub kind: String,
    pub status: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct JobRow {
    pub id: String,
    pub kind: String,
    pub status: String,
    /// What the job is about, e.g. the knowledge item's id.
    pub subject: String,
    pub attempts: String,
    pub error: Option<String>,
    pub worker: Option<String>,
    pub updated: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobsOverview {
    pub counts: Vec<JobCount>,
    pub jobs: Vec<JobRow>,
}

/// Jobs listed at most.
#[cfg(feature = "ssr")]
const LIMIT: i64 = 200;

/// The counts, and the jobs of `status` (`all`, `dead`, `running` or `queued`).
#[server(endpoint = "admin/jobs", input = Json)]
pub async fn list_jobs(status: String) -> Result<JobsOverview, AppError> {
    use studio_core::db::jobs;
    super::api::support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let filter = match status.as_str() {
        "all" => None,
        "dead" | "running" | "queued" => Some(status.as_str()),
        _ => return Err(AppError::Invalid("Pick which jobs to show.".into())),
    };
    let counts = jobs::counts(&state.pool)
        .await?
        .into_iter()
        .map(|c| JobCount {
            kind: c.kind,
            status: c.status,
            count: c.count,
        })
        .collect();
    let jobs = studio_core::job_admin::list(&state.pool, filter, LIMIT)
        .await?
        .into_iter()
        .map(|listed| {
            let j = listed.job;
            JobRow {
                id: j.id.to_string(),
                subject: listed.subject,
                kind: j.kind,
                status: j.status,
                attempts: format!("{} of {}", j.attempts, j.max_attempts),
                error: j.last_error,
                worker: j.locked_by,
                updated: super::api::support::when(j.updated_at),
            }
        })
        .collect();
    Ok(JobsOverview { counts, jobs })
}

#[cfg(feature = "ssr")]
async fn audit(
    action: &str,
    id: uuid::Uuid,
    admin: &(uuid::Uuid, Option<String>),
) -> Result<(), AppError> {
    let state = expect_context::<crate::ssr::AppState>();
    studio_core::audit::record(
        &state.pool,
        studio_core::audit::Event {
            actor_user_id: Some(admin.0),
            action,
            target_type: Some("job"),
            target_id: Some(id.to_string()),
            ip: admin.1.as_deref(),
            ..Default::default()
        },
    )
    .await?;
    Ok(())
}

/// Runs a dead job again with fresh attempts.
#[server(endpoint = "admin/jobs/retry", input = Json)]
pub async fn retry_job(id: String) -> Result<(), AppError> {
    use studio_core::db::jobs::Retried;
    let admin = super::api::support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let id = super::api::support::id(&id)?;
    if studio_core::job_admin::retry(&state.pool, id).await? == Retried::NotDead {
        return Err(AppError::Invalid("Only dead jobs can be retried.".into()));
    }
    audit("admin.job.retried", id, &admin).await
}

/// Removes a dead or waiting job.
#[server(endpoint = "admin/jobs/discard", input = Json)]
pub async fn discard_job(id: String) -> Result<(), AppError> {
    let admin = super::api::support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let id = super::api::support::id(&id)?;
    if !studio_core::job_admin::discard(&state.pool, id).await? {
        return Err(AppError::Invalid(
            "Only dead or waiting jobs can be discarded.".into(),
        ));
    }
    audit("admin.job.discarded", id, &admin).await
}

#[component]
pub fn AdminJobsPage() -> impl IntoView {
    let filter = RwSignal::new("all".to_owned());
    let (version, set_version) = signal(0_u32);
    let (status, set_status) = signal(None::<(bool, String)>);
    let overview = crate::wire::load(move || (filter.get(), version.get()), |(f, _)| list_jobs(f));
    let act = move |retry: bool, id: String| {
        if !retry && !confirm("Discard this job? Its work will not be done.") {
            return;
        }
        spawn_local(async move {
            let result = if retry {
                retry_job(id).await
            } else {
                discard_job(id).await
            };
            match result {
                Ok(()) => {
                    set_status.set(Some((
                        true,
                        if retry { "Queued again." } else { "Discarded." }.to_owned(),
                    )));
                    set_version.update(|v| *v += 1);
                }
                Err(err) => set_status.set(Some((false, err.for_person()))),
            }
        });
    };

    view! {
        <Title text="Jobs · Administration" />
        <section class="page wide">
            <h1>"Background jobs"</h1>
            <div class="toolbar">
                <label for="jobs-filter">"Show"</label>
                <select
                    id="jobs-filter"
                    prop:value=move || filter.get()
                    on:change=move |ev| filter.set(event_target_value(&ev))
                >
                    <option value="all">"Everything not finished"</option>
                    <option value="dead">"Dead"</option>
                    <option value="running">"Running"</option>
                    <option value="queued">"Waiting"</option>
                </select>
                <button
                    type="button"
                    class="button secondary"
                    on:click=move |_| set_version.update(|v| *v += 1)
                >
                    "Refresh"
                </button>
            </div>
            <StatusLine status />
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                <ErrorBoundary fallback=|errors| {
                    view! { <ErrorView errors /> }
                }>
                    {move || Suspend::new(async move {
                        let overview = overview.await?;
                        let jobs = overview.jobs;
                        let counts = if overview.counts.is_empty() {
                            "Nothing is waiting, running or dead.".to_owned()
                        } else {
                            overview
                                .counts
                                .iter()
                                .map(|c| format!("{} {}: {}", c.kind, c.status, c.count))
                                .collect::<Vec<_>>()
                                .join(" · ")
                        };
                        let columns = [
                            "Job",
                            "Status",
                            "Attempts",
                            "Last error",
                            "Updated",
                            "Actions",
                        ]
                            .map(str::to_owned)
                            .to_vec();
                        Ok::<
                            _,
                            AppError,
                        >(
                            view! {
                                <p class="muted">{counts}</p>
                                <DataTable label="Jobs" columns>
                                    // Keyed by the row itself: a row stays its job's row while
                                    // the list changes around it, so its buttons act on what
                                    // it shows; a changed job is drawn again.
                                    <For
                                        each=move || jobs.clone()
                                        key=JobRow::clone
                                        children=move |job| {
                                            let (retry_id, discard_id) = (
                                                job.id.clone(),
                                                job.id.clone(),
                                            );
                                            let dead = job.status == "dead";
                                            let waiting = job.status == "queued";
                                            view! {
                                                <tr role="row" data-status=job.status.clone()>
                                                    <td role="cell" class="break">
                                                        <strong>{job.kind.clone()}</strong>
                                                        <div class="muted small code">{job.subject.clone()}</div>
                                                    </td>
                                                    <td role="cell" data-label="Status">
                                                        {job.status.clone()}
                                                        {job
                                                            .worker
                                                            .clone()
                                                            .map(|w| view! { <div class="muted small">{w}</div> })}
                                                    </td>
                                                    <td role="cell" class="nowrap" data-label="Attempts">
                                                        {job.attempts.clone()}
                                                    </td>
                                                    <td role="cell" class="break" data-label="Last error">
                                                        {job.error.clone().unwrap_or_default()}
                                                    </td>
                                                    <td role="cell" class="nowrap" data-label="Updated">
                                                        {job.updated.clone()}
                                                    </td>
                                                    <td role="cell" class="actions">
                                                        {dead
                                                            .then(|| {
                                                                view! {
                                                                    <button
                                                                        class="button secondary"
                                                                        on:click=move |_| act(true, retry_id.clone())
                                                                    >
                                                                        "Retry"
                                                                        <span class="visually-hidden">" " {job.kind.clone()}</span>
                                                                    </button>
                                                                }
                                                            })}
                                                        {(dead || waiting)
                                                            .then(|| {
                                                                view! {
                                                                    <button
                                                                        class="button danger"
                                                                        on:click=move |_| act(false, discard_id.clone())
                                                                    >
                                                                        "Discard"
                                                                        <span class="visually-hidden">" " {job.kind.clone()}</span>
                                                                    </button>
                                                                }
                                                            })}
                                                    </td>
                                                </tr>
                                            }
                                        }
                                    />
                                </DataTable>
                            },
                        )
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}
