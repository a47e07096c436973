//! Assistant server functions: who asks, may they, call `studio_core::assistants`, shape the
//! answer. Building needs the `assistant-architect` tool, reviewing the `admin` tool, and
//! running an assistant its own tool (which approval grants to roles).

use std::collections::BTreeMap;

use leptos::{prelude::*, server_fn::codec::Json};

use super::types::{
    AssistantRow, Builder, DefinitionForm, InputValue, Overview, RunForm as RunFormView, Saved,
};
use crate::error::AppError;

#[cfg(feature = "ssr")]
pub(crate) mod support {
    use studio_core::assistants::{
        inputs::{Inputs, Value},
        store::{AssistantError, Definition, Field, FieldKind, Prompt, Summary, TOOL},
    };
    use uuid::Uuid;

    use super::super::types::{
        AssistantRow, DefinitionForm, FieldForm, GraphNode, InputValue, PromptForm,
    };
    use crate::{auth::ssr::require_tool, error::AppError};

    pub use crate::error::parse_id as id;

    /// The signed-in person allowed to build assistants.
    pub async fn builder() -> Result<Uuid, AppError> {
        id(&require_tool(TOOL).await?.id)
    }

    impl From<AssistantError> for AppError {
        fn from(err: AssistantError) -> Self {
            match err {
                AssistantError::Invalid(problems) => AppError::Invalid(problems.join(" ")),
                AssistantError::State(why) => AppError::Invalid(why),
                AssistantError::Busy(message) => AppError::TooMany {
                    message,
                    retry_after_secs: 30,
                },
                AssistantError::NotFound => AppError::NotFound,
                AssistantError::Database(err) => err.into(),
            }
        }
    }

    pub use crate::ssr::when;

    /// The form as core reads it. An unknown kind or id is a problem the person can fix.
    pub fn definition(form: DefinitionForm) -> Result<Definition, AppError> {
        let fields = form
            .fields
            .into_iter()
            .map(|f| {
                let kind = FieldKind::parse(&f.kind).ok_or_else(|| {
                    AppError::Invalid(format!(
                        "Field \u{201c}{}\u{201d} has no kind; choose one.",
                        f.name
                    ))
                })?;
                Ok(Field {
                    name: f.name.trim().to_owned(),
                    label: f.label.trim().to_owned(),
                    help: f.help.trim().to_owned(),
                    kind,
                    required: f.required,
                    options: if kind.has_options() {
                        f.options
                            .iter()
                            .map(|o| o.trim().to_owned())
                            .filter(|o| !o.is_empty())
                            .collect()
                    } else {
                        Vec::new()
                    },
                })
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        let prompts = form
            .prompts
            .into_iter()
            .map(|p| {
                let model_id = match p.model_id.trim() {
                    "" => None,
                    raw => Some(raw.parse().map_err(|_| {
                        AppError::Invalid(format!(
                            "Prompt \u{201c}{}\u{201d} names a model that does not exist.",
                            p.name
                        ))
                    })?),
                };
                let repositories = p
                    .repositories
                    .iter()
                    .map(|r| {
                        r.parse().map_err(|_| {
                            AppError::Invalid(format!(
                                "Prompt \u{201c}{}\u{201d} names a repository that does not exist.",
                                p.name
                            ))
                        })
                    })
                    .collect::<Result<Vec<Uuid>, AppError>>()?;
                let system = p.system.trim();
                Ok(Prompt {
                    key: p.key.trim().to_owned(),
                    name: p.name.trim().to_owned(),
                    content: p.content,
                    system: (!system.is_empty()).then(|| system.to_owned()),
                    model_id,
                    repositories,
                })
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        Ok(Definition {
            name: form.name,
            description: form.description.trim().to_owned(),
            icon: form.icon,
            category: form.category.trim().to_owned(),
            share_knowledge: form.share_knowledge,
            fields,
            prompts,
        })
    }

    /// A field as the builder edits it and the run form shows it.
    pub fn field_form(f: &Field) -> FieldForm {
        FieldForm {
            name: f.name.clone(),
            label: f.label.clone(),
            help: f.help.clone(),
            kind: f.kind.as_str().to_owned(),
            required: f.required,
            options: f.options.clone(),
        }
    }

    /// `definition` as the builder edits it.
    pub fn form(definition: &Definition) -> DefinitionForm {
        DefinitionForm {
            name: definition.name.clone(),
            description: definition.description.clone(),
            icon: definition.icon.clone(),
            category: definition.category.clone(),
            share_knowledge: definition.share_knowledge,
            fields: definition.fields.iter().map(field_form).collect(),
            prompts: definition
                .prompts
                .iter()
                .map(|p| PromptForm {
                    key: p.key.clone(),
                    name: p.name.clone(),
                    content: p.content.clone(),
                    system: p.system.clone().unwrap_or_default(),
                    model_id: p.model_id.map(|m| m.to_string()).unwrap_or_default(),
                    repositories: p.repositories.iter().map(Uuid::to_string).collect(),
                })
                .collect(),
        }
    }

    /// The prompt graph of `definition` (empty when it has none yet).
    pub fn graph(definition: &Definition) -> Vec<GraphNode> {
        let Ok(plan) = definition.plan() else {
            return Vec::new();
        };
        let mut level = vec![0; definition.prompts.len()];
        for (at, prompts) in plan.levels.iter().enumerate() {
            for &p in prompts {
                level[p] = at;
            }
        }
        definition
            .prompts
            .iter()
            .enumerate()
            .map(|(i, p)| GraphNode {
                name: p.name.clone(),
                level: level[i],
                waits_for: plan.waits_for[i].clone(),
            })
            .collect()
    }

    pub fn row(summary: Summary) -> AssistantRow {
        AssistantRow {
            id: summary.id.to_string(),
            name: summary.name,
            icon: summary.icon,
            owner: summary.owner_email,
            status: summary.status.as_str().to_owned(),
            approved_number: summary.approved_number,
            disabled: summary.disabled,
            updated: when(summary.updated_at),
        }
    }

    pub fn inputs(given: std::collections::BTreeMap<String, InputValue>) -> Inputs {
        given
            .into_iter()
            .map(|(name, value)| {
                let value = match value {
                    InputValue::One(text) => Value::One(text),
                    InputValue::Many(all) => Value::Many(all),
                };
                (name, value)
            })
            .collect()
    }

    pub fn given(inputs: Inputs) -> std::collections::BTreeMap<String, InputValue> {
        inputs
            .into_iter()
            .map(|(name, value)| {
                let value = match value {
                    Value::One(text) => InputValue::One(text),
                    Value::Many(all) => InputValue::Many(all),
                };
                (name, value)
            })
            .collect()
    }
}

/// The assistants page: what the person may run, their own assistants when they build, and
/// their newest runs.
#[server(endpoint = "assistants/overview", input = Json)]
pub async fn assistants_overview() -> Result<Overview, AppError> {
    use studio_core::assistants::{results, store};

    use super::types::{CatalogEntry, RunRow};
    let user = crate::auth::ssr::require_user().await?;
    let user_id = support::id(&user.id)?;
    let state = expect_context::<crate::ssr::AppState>();
    let builds = user.can_use(store::TOOL);
    let (catalog, runs, own) = tokio::try_join!(
        store::catalog(&state.pool, user_id),
        results::runs(&state.pool, user_id, None),
        async {
            if builds {
                store::list(&state.pool, Some(user_id), None)
                    .await
                    .map(Some)
            } else {
                Ok(None)
            }
        },
    )?;
    Ok(Overview {
        catalog: catalog
            .into_iter()
            .map(|a| CatalogEntry {
                id: a.id.to_string(),
                name: a.name,
                description: a.description,
                icon: a.icon,
                category: a.category,
            })
            .collect(),
        own: own.map(|all| all.into_iter().map(support::row).collect()),
        runs: runs
            .into_iter()
            .map(|r| RunRow {
                id: r.id.to_string(),
                assistant_id: r.assistant_id.to_string(),
                assistant_name: r.assistant_name,
                status: r.status.as_str().to_owned(),
                when: support::when(r.created_at),
            })
            .collect(),
    })
}

/// The builder's start: assistant `id` as its owner last saved it (a new, empty one without
/// an id), with the models, repositories and icons to choose from.
#[server(endpoint = "assistants/builder", input = Json)]
pub async fn open_builder(id: Option<String>) -> Result<Builder, AppError> {
    use studio_core::{
        assistants::store::{self, ICONS},
        knowledge, models,
    };
    let owner = support::builder().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let version = match id.as_deref() {
        Some(raw) => Some(
            store::open_version(&state.pool, owner, support::id(raw)?)
                .await?
                .ok_or(AppError::NotFound)?,
        ),
        None => None,
    };
    let tools = studio_core::accounts::access::tool_slugs(&state.pool, owner).await?;
    let repositories = if tools.iter().any(|t| t == knowledge::TOOL) {
        knowledge::repos::list(&state.pool, owner).await?
    } else {
        Vec::new()
    };
    let (models, categories) = tokio::try_join!(
        models::models_for_user(&state.pool, owner),
        store::categories(&state.pool)
    )?;
    let definition = version
        .as_ref()
        .map(|v| support::form(&v.definition))
        .unwrap_or_else(|| DefinitionForm {
            icon: ICONS[0].to_owned(),
            ..DefinitionForm::default()
        });
    Ok(Builder {
        id: version.as_ref().map(|v| v.assistant_id.to_string()),
        number: version.as_ref().map_or(0, |v| v.number),
        status: version
            .as_ref()
            .map_or("draft", |v| v.status.as_str())
            .to_owned(),
        review_note: version.as_ref().and_then(|v| v.review_note.clone()),
        graph: version
            .as_ref()
            .map(|v| support::graph(&v.definition))
            .unwrap_or_default(),
        definition,
        models: models
            .into_iter()
            .map(|m| super::types::Choice {
                id: m.id.to_string(),
                name: m.display_name,
            })
            .collect(),
        repositories: repositories
            .into_iter()
            .map(|r| super::types::Choice {
                id: r.id.to_string(),
                name: r.name,
            })
            .collect(),
        icons: ICONS.iter().map(|i| (*i).to_owned()).collect(),
        categories,
    })
}

/// Saves the builder's form: a new assistant without `id`, else the version in the works of
/// assistant `id` (the approved version keeps running). Every problem is named.
#[server(endpoint = "assistants/save", input = Json)]
pub async fn save_assistant(
    id: Option<String>,
    definition: DefinitionForm,
) -> Result<Saved, AppError> {
    use studio_core::assistants::store;
    let owner = support::builder().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let definition = support::definition(definition)?;
    let id = match id.as_deref() {
        Some(raw) => {
            let id = support::id(raw)?;
            store::save(&state.pool, owner, id, &definition).await?;
            id
        }
        None => store::create(&state.pool, owner, &definition).await?,
    };
    Ok(Saved {
        id: id.to_string(),
        status: "draft".into(),
        graph: support::graph(&definition),
    })
}

/// Sends the version in the works of assistant `id` for review.
#[server(endpoint = "assistants/submit", input = Json)]
pub async fn submit_assistant(id: String) -> Result<(), AppError> {
    let owner = support::builder().await?;
    let state = expect_context::<crate::ssr::AppState>();
    studio_core::assistants::store::submit(&state.pool, owner, support::id(&id)?).await?;
    Ok(())
}

/// The form that runs assistant `id`, filled with the inputs of the person's run `again`
/// when given. With `draft`, the form of the version its owner is working on, for a test run.
#[server(endpoint = "assistants/form", input = Json)]
pub async fn open_run_form(
    id: String,
    again: Option<String>,
    draft: bool,
) -> Result<RunFormView, AppError> {
    use studio_core::assistants::{events, store};

    let id = support::id(&id)?;
    let state = expect_context::<crate::ssr::AppState>();
    let (user, version) = if draft {
        let owner = support::builder().await?;
        (owner, store::open_version(&state.pool, owner, id).await?)
    } else {
        let user = crate::auth::ssr::require_user_id()?;
        (user, store::runnable(&state.pool, user, id).await?)
    };
    let version = version.ok_or(AppError::NotFound)?;
    let given = match again.as_deref() {
        Some(raw) => events::read(&state.pool, user, support::id(raw)?)
            .await?
            .filter(|run| run.assistant_id == version.assistant_id)
            .map(|run| support::given(run.inputs))
            .unwrap_or_default(),
        None => BTreeMap::new(),
    };
    let definition = version.definition;
    Ok(RunFormView {
        id: version.assistant_id.to_string(),
        draft,
        name: definition.name,
        description: definition.description,
        icon: definition.icon,
        fields: definition.fields.iter().map(support::field_form).collect(),
        given,
    })
}

/// Starts a run of assistant `id` with `inputs` (with `draft`, a test run of the version its
/// owner is working on); answers the run's id. The run goes on when the page is left.
#[server(endpoint = "assistants/start", input = Json)]
pub async fn start_run(
    id: String,
    inputs: BTreeMap<String, InputValue>,
    draft: bool,
) -> Result<String, AppError> {
    use studio_core::assistants::run;
    let state = expect_context::<crate::ssr::AppState>();
    let live = state.guards.config.live_runs_per_user;
    let (id, inputs) = (support::id(&id)?, support::inputs(inputs));
    let run = if draft {
        let owner = support::builder().await?;
        run::start_draft(&state.pool, owner, id, &inputs, live).await?
    } else {
        let user = crate::auth::ssr::require_user_id()?;
        run::start_within(&state.pool, user, id, &inputs, live).await?
    };
    Ok(run.to_string())
}

/// Starts a conversation that goes on from the person's run `run`; answers its id.
#[server(endpoint = "assistants/continue", input = Json)]
pub async fn continue_in_chat(run: String) -> Result<String, AppError> {
    use studio_core::assistants::{events, results};
    let user = support::id(&crate::auth::ssr::require_tool("chat").await?.id)?;
    let state = expect_context::<crate::ssr::AppState>();
    let run = events::read(&state.pool, user, support::id(&run)?)
        .await?
        .ok_or(AppError::NotFound)?;
    let conversation = results::continue_in_chat(&state.pool, user, &run).await?;
    Ok(conversation.to_string())
}

/// Every assistant for its reviewers, newest change first, optionally only those whose
/// newest version has `status`.
#[server(endpoint = "admin/assistants", input = Json)]
pub async fn review_list(status: String) -> Result<Vec<AssistantRow>, AppError> {
    use studio_core::assistants::store::{self, Status};
    crate::admin::api::support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let status = match status.as_str() {
        "" => None,
        raw => Some(Status::parse(raw).ok_or_else(|| AppError::Invalid("No such status.".into()))?),
    };
    Ok(store::list(&state.pool, None, status)
        .await?
        .into_iter()
        .map(support::row)
        .collect())
}

/// What a reviewer reads of assistant `id`: its newest version and the roles to grant it to.
#[server(endpoint = "admin/assistants/detail", input = Json)]
pub async fn review_detail(id: String) -> Result<super::types::Review, AppError> {
    use studio_core::{
        accounts::admin,
        assistants::{placement, store},
        models,
    };
    crate::admin::api::support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let id = support::id(&id)?;
    let version = store::newest_version(&state.pool, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (roles, all_models, places) = tokio::try_join!(
        admin::list_roles(&state.pool),
        models::list_models(&state.pool),
        placement::places(&state.pool, id)
    )?;
    let slug = format!("assistant-{}", version.assistant_id.simple());
    let model_name = |id: Option<uuid::Uuid>| {
        id.and_then(|id| all_models.iter().find(|m| m.id == id))
            .map_or_else(|| "no model".to_owned(), |m| m.display_name.clone())
    };
    Ok(super::types::Review {
        number: version.number,
        status: version.status.as_str().to_owned(),
        graph: support::graph(&version.definition),
        models: version
            .definition
            .prompts
            .iter()
            .map(|p| model_name(p.model_id))
            .collect(),
        definition: support::form(&version.definition),
        roles: roles
            .iter()
            .map(|r| super::types::RoleChoice {
                id: r.id.to_string(),
                name: r.name.clone(),
                granted: r.tools.contains(&slug),
            })
            .collect(),
        places: places
            .into_iter()
            .map(|p| super::types::PlaceChoice {
                parent: p.parent.map(|id| id.to_string()).unwrap_or_default(),
                name: p.name,
                holds_it: p.holds_it,
            })
            .collect(),
    })
}

/// Adds a link to approved assistant `id` in the navigation: in section or page `parent`, or
/// at the top of the sidebar when it is empty. Shown to those who may run it.
#[server(endpoint = "admin/assistants/place", input = Json)]
pub async fn place_assistant(id: String, parent: String) -> Result<(), AppError> {
    let admin = crate::admin::api::support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let parent = match parent.trim() {
        "" => None,
        raw => Some(support::id(raw)?),
    };
    studio_core::assistants::placement::place(
        &state.pool,
        crate::admin::api::support::actor(&admin),
        support::id(&id)?,
        parent,
    )
    .await?;
    Ok(())
}

/// Approves the pending version of assistant `id` and grants it to exactly `roles`.
#[server(endpoint = "admin/assistants/approve", input = Json)]
pub async fn approve_assistant(id: String, roles: Vec<String>) -> Result<(), AppError> {
    let admin = crate::admin::api::support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let roles = roles
        .iter()
        .map(|r| support::id(r))
        .collect::<Result<Vec<_>, _>>()?;
    studio_core::assistants::store::approve(
        &state.pool,
        crate::admin::api::support::actor(&admin),
        support::id(&id)?,
        &roles,
    )
    .await?;
    Ok(())
}

/// Rejects the pending version of assistant `id` with `note`, which its owner reads.
#[server(endpoint = "admin/assistants/reject", input = Json)]
pub async fn reject_assistant(id: String, note: String) -> Result<(), AppError> {
    let admin = crate::admin::api::support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    studio_core::assistants::store::reject(
        &state.pool,
        crate::admin::api::support::actor(&admin),
        support::id(&id)?,
        &note,
    )
    .await?;
    Ok(())
}

/// Disables assistant `id` (nobody runs it) or enables it again.
#[server(endpoint = "admin/assistants/disable", input = Json)]
pub async fn disable_assistant(id: String, disabled: bool) -> Result<(), AppError> {
    let admin = crate::admin::api::support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    studio_core::assistants::store::set_disabled(
        &state.pool,
        crate::admin::api::support::actor(&admin),
        support::id(&id)?,
        disabled,
    )
    .await?;
    Ok(())
}

/// Each assistant's use over the last `days` days (1 to 366), most costly first.
#[server(endpoint = "admin/assistants/usage", input = Json)]
pub async fn assistant_usage(days: i64) -> Result<Vec<super::types::UsageRow>, AppError> {
    use studio_core::assistants::report;
    crate::admin::api::support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let since = chrono::Utc::now() - chrono::TimeDelta::days(days.clamp(1, 366));
    Ok(report::usage(&state.pool, since)
        .await?
        .into_iter()
        .map(|u| super::types::UsageRow {
            id: u.assistant_id.to_string(),
            name: u.name,
            runs: u.runs,
            people: u.people,
            failed: u.failed,
            tokens: u.tokens,
            cost: format!("${:.4}", u.cost),
        })
        .collect())
}
