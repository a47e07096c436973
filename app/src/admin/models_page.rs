//! `/admin/models`: the AI providers (where models run, with their keys) and the models people
//! may pick, with capabilities, limits, prices and the roles allowed to use each.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;

use super::{
    models_api::{
        delete_model, delete_provider, discover_models, get_catalogue, save_model, save_provider,
    },
    types::{Catalogue, ModelForm, ProviderForm},
    user_controls::{RoleChecks, apply_change},
};
use crate::{
    error::AppError,
    ui::{DataTable, ErrorView, StatusLine, confirm},
};

type Status = WriteSignal<Option<(bool, String)>>;

#[component]
pub fn AdminModelsPage() -> impl IntoView {
    let (version, set_version) = signal(0_u32);
    let (status, set_status) = signal(None::<(bool, String)>);
    let catalogue = crate::wire::load(move || version.get(), |_| get_catalogue());
    // The form being filled in, if any.
    let provider_form = RwSignal::new(None::<ProviderForm>);
    let model_form = RwSignal::new(None::<ModelForm>);

    view! {
        <Title text="Models · Administration" />
        <section class="page wide">
            <h1>"AI models"</h1>
            <StatusLine status />
            <Transition fallback=|| view! { <p>"Loading models…"</p> }>
                <ErrorBoundary fallback=|errors| {
                    view! { <ErrorView errors /> }
                }>
                    {move || Suspend::new(async move {
                        let catalogue = catalogue.await?;
                        Ok::<
                            _,
                            AppError,
                        >(
                            view! {
                                <Providers
                                    catalogue=catalogue.clone()
                                    provider_form
                                    model_form
                                    set_status
                                    set_version
                                />
                                <Models catalogue model_form set_status set_version />
                            },
                        )
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

#[component]
fn Providers(
    catalogue: Catalogue,
    provider_form: RwSignal<Option<ProviderForm>>,
    model_form: RwSignal<Option<ModelForm>>,
    set_status: Status,
    set_version: WriteSignal<u32>,
) -> impl IntoView {
    // Model ids found on a provider, offered as one-click additions.
    let discovered = RwSignal::new(None::<(String, Vec<String>)>);
    let kinds = catalogue.kinds.clone();
    let default_kind = kinds.first().map(|k| k.kind.clone()).unwrap_or_default();
    let rows = catalogue
        .providers
        .iter()
        .map(|provider| {
            let edit = {
                let provider = provider.clone();
                move |_| {
                    provider_form.set(Some(ProviderForm {
                        id: provider.id.clone(),
                        kind: provider.kind.clone(),
                        name: provider.name.clone(),
                        base_url: provider.base_url.clone().unwrap_or_default(),
                        api_key: String::new(),
                        clear_api_key: false,
                        region: provider.region.clone().unwrap_or_default(),
                    }));
                }
            };
            let remove = {
                let (id, name) = (provider.id.clone(), provider.name.clone());
                move |_| {
                    if !confirm(&format!("Delete the provider {name}?")) {
                        return;
                    }
                    apply_change(
                        delete_provider(id.clone()),
                        format!("Provider {name} deleted."),
                        set_status,
                        set_version,
                    );
                }
            };
            let discover = {
                let (id, name) = (provider.id.clone(), provider.name.clone());
                move |_| {
                    let (id, name) = (id.clone(), name.clone());
                    spawn_local(async move {
                        match discover_models(id.clone()).await {
                            Ok(ids) => {
                                set_status.set(Some((
                                    true,
                                    format!(
                                        "{name} offers {}.",
                                        crate::ui::counted(ids.len() as i64, "model", "models"),
                                    ),
                                )));
                                discovered.set(Some((id, ids)));
                            }
                            Err(err) => set_status.set(Some((false, err.for_person()))),
                        }
                    });
                }
            };
            let can_discover = provider.kind == "openai";
            let discover_label = format!(" on {}", provider.name);
            view! {
                <tr role="row">
                    <th scope="row" role="rowheader">
                        {provider.name.clone()}
                    </th>
                    <td role="cell" data-label="Type">
                        {provider.kind_label.clone()}
                    </td>
                    <td role="cell" class="break" data-label="Address">
                        {match (&provider.region, &provider.base_url) {
                            (Some(region), Some(url)) => format!("{region} · {url}"),
                            (Some(region), None) => region.clone(),
                            (None, Some(url)) => url.clone(),
                            (None, None) => "Default".to_owned(),
                        }}
                    </td>
                    <td role="cell" data-label="API key">
                        {if provider.has_api_key {
                            "Stored"
                        } else if provider.kind == "bedrock" {
                            "The server's AWS credentials"
                        } else {
                            "From the environment, if set"
                        }}
                    </td>
                    <td role="cell" class="actions">
                        <button class="button secondary" type="button" on:click=edit>
                            "Edit"
                            <span class="visually-hidden">{format!(" {}", provider.name)}</span>
                        </button>
                        {can_discover
                            .then(|| {
                                view! {
                                    <button
                                        class="button secondary"
                                        type="button"
                                        on:click=discover
                                    >
                                        "Find models"
                                        <span class="visually-hidden">{discover_label}</span>
                                    </button>
                                }
                            })}
                        <button class="button danger" type="button" on:click=remove>
                            "Delete"
                            <span class="visually-hidden">{format!(" {}", provider.name)}</span>
                        </button>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let has_providers = !catalogue.providers.is_empty();
    view! {
        <h2>"Providers"</h2>
        <p class="muted">
            "Where models run. OpenAI-compatible covers OpenAI itself and servers such as Ollama ("
            <code>"http://host:11434/v1"</code>
            "), vLLM and LM Studio. Keys are stored on the server and never shown again."
        </p>
        {if has_providers {
            view! {
                <DataTable
                    label="Providers"
                    columns=["Name", "Type", "Address", "API key", "Actions"]
                        .map(String::from)
                        .to_vec()
                >
                    {rows}
                </DataTable>
            }
                .into_any()
        } else {
            view! { <p>"No providers yet. Add one to start offering models."</p> }.into_any()
        }}
        {move || {
            discovered
                .get()
                .map(|(provider_id, ids)| {
                    view! { <DiscoveredModels provider_id ids model_form /> }
                })
        }}
        {move || match provider_form.get() {
            Some(form) => {
                view! {
                    <ProviderEditor form kinds=kinds.clone() provider_form set_status set_version />
                }
                    .into_any()
            }
            None => {
                let kind = default_kind.clone();
                view! {
                    <button
                        class="button"
                        type="button"
                        on:click=move |_| {
                            provider_form
                                .set(
                                    Some(ProviderForm {
                                        kind: kind.clone(),
                                        ..ProviderForm::default()
                                    }),
                                )
                        }
                    >
                        "Add provider"
                    </button>
                }
                    .into_any()
            }
        }}
    }
}

/// Model ids found on a provider; choosing one starts a model form for it.
#[component]
fn DiscoveredModels(
    provider_id: String,
    ids: Vec<String>,
    model_form: RwSignal<Option<ModelForm>>,
) -> impl IntoView {
    view! {
        <section class="discovered" aria-label="Models found on the provider">
            <h3>"Models found"</h3>
            <ul class="chip-list">
                {ids
                    .into_iter()
                    .map(|key| {
                        let provider_id = provider_id.clone();
                        let label = format!("Add {key}");
                        view! {
                            <li>
                                <button
                                    class="button secondary"
                                    type="button"
                                    aria-label=label
                                    on:click={
                                        let key = key.clone();
                                        move |_| {
                                            model_form
                                                .set(
                                                    Some(ModelForm {
                                                        provider_id: provider_id.clone(),
                                                        model_key: key.clone(),
                                                        display_name: key.clone(),
                                                        is_active: true,
                                                        ..ModelForm::default()
                                                    }),
                                                )
                                        }
                                    }
                                >
                                    {key.clone()}
                                </button>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
    }
}

#[component]
fn ProviderEditor(
    form: ProviderForm,
    kinds: Vec<super::types::ProviderKindView>,
    provider_form: RwSignal<Option<ProviderForm>>,
    set_status: Status,
    set_version: WriteSignal<u32>,
) -> impl IntoView {
    let is_new = form.id.is_empty();
    let id = form.id.clone();
    let kind = RwSignal::new(form.kind.clone());
    let name = RwSignal::new(form.name.clone());
    let base_url = RwSignal::new(form.base_url.clone());
    let api_key = RwSignal::new(String::new());
    let clear_api_key = RwSignal::new(false);
    let region = RwSignal::new(form.region.clone());
    let is_bedrock = move || kind.get() == "bedrock";
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let form = ProviderForm {
            id: id.clone(),
            kind: kind.get_untracked(),
            name: name.get_untracked(),
            base_url: base_url.get_untracked(),
            api_key: api_key.get_untracked(),
            clear_api_key: clear_api_key.get_untracked(),
            region: region.get_untracked(),
        };
        let done = format!("Provider {} saved.", form.name.trim());
        let save = async move {
            save_provider(form).await?;
            provider_form.set(None);
            Ok(())
        };
        apply_change(save, done, set_status, set_version);
    };
    view! {
        <form class="form editor" on:submit=submit aria-labelledby="provider-editor-title">
            <h3 id="provider-editor-title">
                {if is_new { "New provider" } else { "Edit provider" }}
            </h3>
            <label for="provider-kind">"Type"</label>
            <select id="provider-kind" bind:value=kind>
                {kinds
                    .into_iter()
                    .map(|k| view! { <option value=k.kind.clone()>{k.label}</option> })
                    .collect_view()}
            </select>
            <label for="provider-name">"Name"</label>
            <input id="provider-name" type="text" required maxlength="100" bind:value=name />
            <Show when=is_bedrock>
                <label for="provider-region">"AWS region"</label>
                <input
                    id="provider-region"
                    type="text"
                    placeholder="e.g. us-east-1; empty uses the server's AWS_REGION"
                    maxlength="50"
                    pattern="[a-z]{2}(-[a-z]+)+-[0-9]+"
                    bind:value=region
                />
            </Show>
            <label for="provider-base-url">
                {move || if is_bedrock() { "Endpoint URL" } else { "Base URL" }}
            </label>
            <input
                id="provider-base-url"
                type="url"
                placeholder="Leave empty for the provider's default"
                maxlength="500"
                bind:value=base_url
            />
            <label for="provider-api-key">"API key"</label>
            <input
                id="provider-api-key"
                type="password"
                autocomplete="off"
                maxlength="500"
                aria-describedby="provider-api-key-hint"
                bind:value=api_key
            />
            <p class="hint" id="provider-api-key-hint">
                {move || match (is_new, is_bedrock()) {
                    (true, true) => {
                        "A Bedrock API key, optional: without one, the server's AWS credentials are used (environment, profile, or the instance or task role), towards AWS's own endpoints only."
                    }
                    (true, false) => {
                        "Optional for local servers. Without one, OPENAI_API_KEY or GEMINI_API_KEY from the server's environment is used, but only at the vendor's own address."
                    }
                    (false, _) => {
                        "Leave empty to keep the stored key. Changing the base URL or the type removes the stored key unless you enter one here."
                    }
                }}
            </p>
            <Show when=move || !is_new>
                <label class="check">
                    <input type="checkbox" bind:checked=clear_api_key />
                    "Remove the stored key"
                </label>
            </Show>
            <div class="form-actions">
                <button class="button" type="submit">
                    "Save provider"
                </button>
                <button
                    class="button secondary"
                    type="button"
                    on:click=move |_| provider_form.set(None)
                >
                    "Cancel"
                </button>
            </div>
        </form>
    }
}

#[component]
fn Models(
    catalogue: Catalogue,
    model_form: RwSignal<Option<ModelForm>>,
    set_status: Status,
    set_version: WriteSignal<u32>,
) -> impl IntoView {
    let provider_name = {
        let providers = catalogue.providers.clone();
        move |id: &str| {
            providers
                .iter()
                .find(|p| p.id == id)
                .map(|p| p.name.clone())
                .unwrap_or_default()
        }
    };
    let role_names = {
        let roles = catalogue.roles.clone();
        move |ids: &[String]| {
            let names: Vec<String> = roles
                .iter()
                .filter(|(id, _)| ids.contains(id))
                .map(|(_, name)| name.clone())
                .collect();
            if names.is_empty() {
                "Nobody".to_owned()
            } else {
                names.join(", ")
            }
        }
    };
    let rows = catalogue
        .models
        .iter()
        .map(|model| {
            let capabilities: Vec<&str> = [
                (model.supports_vision, "vision"),
                (model.supports_tools, "tools"),
                (model.supports_reasoning, "reasoning"),
            ]
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect();
            let edit = {
                let model = model.clone();
                move |_| model_form.set(Some(model.clone()))
            };
            let remove = {
                let (id, name) = (model.id.clone(), model.display_name.clone());
                move |_| {
                    if !confirm(&format!("Delete the model {name}?")) {
                        return;
                    }
                    apply_change(
                        delete_model(id.clone()),
                        format!("Model {name} deleted."),
                        set_status,
                        set_version,
                    );
                }
            };
            view! {
                <tr role="row">
                    <th scope="row" role="rowheader">
                        {model.display_name.clone()}
                    </th>
                    <td role="cell" class="break" data-label="Model id">
                        <code>{model.model_key.clone()}</code>
                    </td>
                    <td role="cell" data-label="Provider">
                        {provider_name(&model.provider_id)}
                    </td>
                    <td role="cell" data-label="Capabilities">
                        {capabilities.join(", ")}
                    </td>
                    <td role="cell" data-label="Allowed roles">
                        {role_names(&model.role_ids)}
                    </td>
                    <td
                        role="cell"
                        class="nowrap"
                        data-label="Price in / out / cached (per 1M tokens)"
                    >
                        {format!(
                            "${} / ${} / ${}",
                            model.input_price,
                            model.output_price,
                            model.cached_input_price,
                        )}
                    </td>
                    <td role="cell" data-label="Status">
                        {if model.is_active { "Active" } else { "Off" }}
                    </td>
                    <td role="cell" class="actions">
                        <button class="button secondary" type="button" on:click=edit>
                            "Edit"
                            <span class="visually-hidden">
                                {format!(" {}", model.display_name)}
                            </span>
                        </button>
                        <button class="button danger" type="button" on:click=remove>
                            "Delete"
                            <span class="visually-hidden">
                                {format!(" {}", model.display_name)}
                            </span>
                        </button>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let has_models = !catalogue.models.is_empty();
    let first_provider = catalogue.providers.first().map(|p| p.id.clone());
    let can_add = first_provider.is_some();
    let providers = catalogue.providers.clone();
    let roles = catalogue.roles.clone();
    view! {
        <h2>"Models"</h2>
        {if has_models {
            view! {
                <DataTable
                    label="Models"
                    columns=[
                        "Name",
                        "Model id",
                        "Provider",
                        "Capabilities",
                        "Allowed roles",
                        "Price in / out / cached (per 1M tokens)",
                        "Status",
                        "Actions",
                    ]
                        .map(String::from)
                        .to_vec()
                >
                    {rows}
                </DataTable>
            }
                .into_any()
        } else {
            view! { <p>"No models yet."</p> }.into_any()
        }}
        {move || match model_form.get() {
            Some(form) => {
                view! {
                    <ModelEditor
                        form
                        providers=providers.clone()
                        roles=roles.clone()
                        model_form
                        set_status
                        set_version
                    />
                }
                    .into_any()
            }
            None if can_add => {
                let provider_id = first_provider.clone().unwrap_or_default();
                view! {
                    <button
                        class="button"
                        type="button"
                        on:click=move |_| {
                            model_form
                                .set(
                                    Some(ModelForm {
                                        provider_id: provider_id.clone(),
                                        is_active: true,
                                        ..ModelForm::default()
                                    }),
                                )
                        }
                    >
                        "Add model"
                    </button>
                }
                    .into_any()
            }
            None => view! { <p class="muted">"Add a provider first."</p> }.into_any(),
        }}
    }
}

#[component]
fn ModelEditor(
    form: ModelForm,
    providers: Vec<super::types::ProviderView>,
    roles: Vec<(String, String)>,
    model_form: RwSignal<Option<ModelForm>>,
    set_status: Status,
    set_version: WriteSignal<u32>,
) -> impl IntoView {
    let is_new = form.id.is_empty();
    let id = form.id.clone();
    let provider_id = RwSignal::new(form.provider_id.clone());
    let model_key = RwSignal::new(form.model_key.clone());
    let display_name = RwSignal::new(form.display_name.clone());
    let description = RwSignal::new(form.description.clone());
    let vision = RwSignal::new(form.supports_vision);
    let tools = RwSignal::new(form.supports_tools);
    let reasoning = RwSignal::new(form.supports_reasoning);
    let context_tokens = RwSignal::new(form.context_tokens.clone());
    let max_output_tokens = RwSignal::new(form.max_output_tokens.clone());
    let input_price = RwSignal::new(form.input_price.clone());
    let output_price = RwSignal::new(form.output_price.clone());
    let cached_input_price = RwSignal::new(form.cached_input_price.clone());
    let active = RwSignal::new(form.is_active);
    let role_ids = RwSignal::new(form.role_ids.clone());
    // The number field that cannot be saved, and why: said under it, and at the page's top.
    let field_error = RwSignal::new(None::<(&'static str, String)>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let form = ModelForm {
            id: id.clone(),
            provider_id: provider_id.get_untracked(),
            model_key: model_key.get_untracked(),
            display_name: display_name.get_untracked(),
            description: description.get_untracked(),
            supports_vision: vision.get_untracked(),
            supports_tools: tools.get_untracked(),
            supports_reasoning: reasoning.get_untracked(),
            context_tokens: context_tokens.get_untracked(),
            max_output_tokens: max_output_tokens.get_untracked(),
            input_price: input_price.get_untracked(),
            output_price: output_price.get_untracked(),
            cached_input_price: cached_input_price.get_untracked(),
            is_active: active.get_untracked(),
            role_ids: role_ids.get_untracked(),
        };
        if let Some((field, why)) = form.first_problem() {
            set_status.set(Some((false, why.clone())));
            field_error.set(Some((field, why)));
            crate::ui::browser::focus_field(field);
            return;
        }
        field_error.set(None);
        let done = format!("Model {} saved.", form.display_name.trim());
        let save = async move {
            save_model(form).await?;
            model_form.set(None);
            Ok(())
        };
        apply_change(save, done, set_status, set_version);
    };
    let number_field = move |id: &'static str,
                             label: &'static str,
                             value: RwSignal<String>,
                             hint: &'static str| {
        let why = move || {
            field_error.with(|error| {
                error
                    .as_ref()
                    .filter(|(field, _)| *field == id)
                    .map(|(_, why)| why.clone())
            })
        };
        let invalid = move || why().map(|_| "true");
        let error_id = format!("{id}-error");
        view! {
            <label for=id>{label}</label>
            <input
                id=id
                type="text"
                inputmode="decimal"
                placeholder=hint
                aria-invalid=invalid
                aria-describedby=error_id.clone()
                bind:value=value
            />
            <p class="field-error" id=error_id>
                {why}
            </p>
        }
    };
    view! {
        <form class="form editor" on:submit=submit aria-labelledby="model-editor-title">
            <h3 id="model-editor-title">{if is_new { "New model" } else { "Edit model" }}</h3>
            <label for="model-provider">"Provider"</label>
            <select id="model-provider" bind:value=provider_id>
                {providers
                    .into_iter()
                    .map(|p| view! { <option value=p.id.clone()>{p.name}</option> })
                    .collect_view()}
            </select>
            <label for="model-key">"Model id at the provider"</label>
            <input
                id="model-key"
                type="text"
                required
                maxlength="200"
                placeholder="gpt-4.1-mini, llama3.2, gemini-2.5-flash"
                bind:value=model_key
            />
            <label for="model-name">"Display name"</label>
            <input id="model-name" type="text" required maxlength="100" bind:value=display_name />
            <label for="model-description">"Description"</label>
            <textarea
                id="model-description"
                maxlength="1000"
                rows="2"
                bind:value=description
            ></textarea>
            <fieldset class="checks">
                <legend>"Capabilities"</legend>
                <label class="check">
                    <input type="checkbox" bind:checked=vision />
                    "Vision (reads images)"
                </label>
                <label class="check">
                    <input type="checkbox" bind:checked=tools />
                    "Tools"
                </label>
                <label class="check">
                    <input type="checkbox" bind:checked=reasoning />
                    "Reasoning"
                </label>
            </fieldset>
            {number_field("model-context", "Context window (tokens)", context_tokens, "128000")}
            {number_field(
                "model-max-output",
                "Maximum output (tokens)",
                max_output_tokens,
                "16384",
            )}
            {number_field(
                "model-input-price",
                "Input price ($ per 1M tokens)",
                input_price,
                "0.40",
            )}
            {number_field(
                "model-output-price",
                "Output price ($ per 1M tokens)",
                output_price,
                "1.60",
            )}
            {number_field(
                "model-cached-price",
                "Cached input price ($ per 1M tokens)",
                cached_input_price,
                "0.10",
            )}
            <fieldset class="checks">
                <legend>"Allowed roles"</legend>
                <RoleChecks roles selected=role_ids />
            </fieldset>
            <label class="check">
                <input type="checkbox" bind:checked=active />
                "Active (offered to the allowed roles)"
            </label>
            <div class="form-actions">
                <button class="button" type="submit">
                    "Save model"
                </button>
                <button
                    class="button secondary"
                    type="button"
                    on:click=move |_| model_form.set(None)
                >
                    "Cancel"
                </button>
            </div>
        </form>
    }
}
