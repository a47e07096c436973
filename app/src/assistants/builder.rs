//! The Assistant Architect: details, input fields, prompts, preview and submit, as steps that
//! can be saved at any point and revisited. Fields and prompts are ordered by drag and by
//! their "Move up" / "Move down" buttons; every save is checked whole and each problem named.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::{
    api::{open_builder, save_assistant, submit_assistant},
    graph::PromptGraph,
    types::{Builder, Choice, DefinitionForm, FieldForm, PromptForm, status_label},
};
use crate::ui::{ChoiceBox, IconPicker, MoveButtons, StatusLine, WhenLoaded};

/// The kinds of input field, as stored and as read.
const KINDS: &[(&str, &str)] = &[
    ("short_text", "Short text"),
    ("long_text", "Long text"),
    ("select", "Select (one choice)"),
    ("multi_select", "Multi-select"),
    ("file", "File (its text)"),
];

/// The builder's steps.
const STEPS: &[&str] = &["Details", "Input fields", "Prompts", "Preview", "Submit"];

/// One input field being edited; `key` tells it apart while the list is reordered.
#[derive(Clone, Copy)]
struct FieldEdit {
    key: u32,
    name: RwSignal<String>,
    label: RwSignal<String>,
    help: RwSignal<String>,
    kind: RwSignal<String>,
    required: RwSignal<bool>,
    /// One choice per line.
    options: RwSignal<String>,
}

impl FieldEdit {
    fn new(key: u32, f: FieldForm) -> Self {
        Self {
            key,
            name: RwSignal::new(f.name),
            label: RwSignal::new(f.label),
            help: RwSignal::new(f.help),
            kind: RwSignal::new(f.kind),
            required: RwSignal::new(f.required),
            options: RwSignal::new(f.options.join("\n")),
        }
    }

    fn form(&self) -> FieldForm {
        FieldForm {
            name: self.name.get_untracked(),
            label: self.label.get_untracked(),
            help: self.help.get_untracked(),
            kind: self.kind.get_untracked(),
            required: self.required.get_untracked(),
            options: self
                .options
                .get_untracked()
                .lines()
                .map(str::to_owned)
                .collect(),
        }
    }
}

/// One prompt being edited.
#[derive(Clone, Copy)]
struct PromptEdit {
    key: u32,
    output: RwSignal<String>,
    name: RwSignal<String>,
    content: RwSignal<String>,
    system: RwSignal<String>,
    model_id: RwSignal<String>,
    repositories: RwSignal<Vec<String>>,
}

impl PromptEdit {
    fn new(key: u32, p: PromptForm) -> Self {
        Self {
            key,
            output: RwSignal::new(p.key),
            name: RwSignal::new(p.name),
            content: RwSignal::new(p.content),
            system: RwSignal::new(p.system),
            model_id: RwSignal::new(p.model_id),
            repositories: RwSignal::new(p.repositories),
        }
    }

    fn form(&self) -> PromptForm {
        PromptForm {
            key: self.output.get_untracked(),
            name: self.name.get_untracked(),
            content: self.content.get_untracked(),
            system: self.system.get_untracked(),
            model_id: self.model_id.get_untracked(),
            repositories: self.repositories.get_untracked(),
        }
    }
}

/// `/assistants/new`.
#[component]
pub fn NewAssistantPage() -> impl IntoView {
    view! { <BuilderLoader id=None /> }
}

/// `/assistants/{id}/edit`.
#[component]
pub fn AssistantBuilderPage() -> impl IntoView {
    let params = use_params_map();
    let id = params.read_untracked().get("id");
    view! { <BuilderLoader id /> }
}

#[component]
fn BuilderLoader(id: Option<String>) -> impl IntoView {
    let builder = crate::wire::load(move || id.clone(), open_builder);
    view! {
        <Title text="Assistant Architect" />
        <section class="page wide">
            <WhenLoaded data=builder then=move |builder| view! { <BuilderForm builder /> } />
        </section>
    }
}

/// Moves the entry with `key` by `by` places (up is -1), if it can.
fn shift<T: Copy + Send + Sync + 'static>(
    list: RwSignal<Vec<T>>,
    key_of: fn(&T) -> u32,
    key: u32,
    by: isize,
) {
    list.update(|all| {
        if let Some(at) = all.iter().position(|e| key_of(e) == key) {
            let to = at as isize + by;
            if (0..all.len() as isize).contains(&to) {
                all.swap(at, to as usize);
            }
        }
    });
}

/// Moves the entry with `key` to where the entry with `onto` is (a drop).
fn move_onto<T: Copy + Send + Sync + 'static>(
    list: RwSignal<Vec<T>>,
    key_of: fn(&T) -> u32,
    key: u32,
    onto: u32,
) {
    list.update(|all| {
        let (Some(from), Some(to)) = (
            all.iter().position(|e| key_of(e) == key),
            all.iter().position(|e| key_of(e) == onto),
        ) else {
            return;
        };
        let entry = all.remove(from);
        all.insert(to, entry);
    });
}

#[component]
fn BuilderForm(builder: Builder) -> impl IntoView {
    let Builder {
        id,
        number,
        status,
        review_note,
        definition,
        graph,
        models,
        repositories,
        icons,
        categories,
    } = builder;
    let id = RwSignal::new(id);
    let version_status = RwSignal::new(status);
    let graph = RwSignal::new(graph);
    let step = RwSignal::new(0usize);
    let (message, set_message) = signal(None::<(bool, String)>);
    let next_key = StoredValue::new(0u32);
    // Entries added later belong to the builder, not to the step that shows them: a step's
    // owner goes when another step is shown, and the entries must outlive it.
    let owner = StoredValue::new(Owner::current().expect("the builder renders under an owner"));
    let key = move || {
        next_key.update_value(|k| *k += 1);
        next_key.get_value()
    };
    let DefinitionForm {
        name,
        description,
        icon,
        category,
        share_knowledge,
        fields,
        prompts,
    } = definition;
    let name = RwSignal::new(name);
    let description = RwSignal::new(description);
    let icon = RwSignal::new(icon);
    let category = RwSignal::new(category);
    let share_knowledge = RwSignal::new(share_knowledge);
    let fields = RwSignal::new(
        fields
            .into_iter()
            .map(|f| FieldEdit::new(key(), f))
            .collect::<Vec<_>>(),
    );
    let prompts = RwSignal::new(
        prompts
            .into_iter()
            .map(|p| PromptEdit::new(key(), p))
            .collect::<Vec<_>>(),
    );
    let models = StoredValue::new(models);
    let repositories = StoredValue::new(repositories);

    let collect = move || DefinitionForm {
        name: name.get_untracked(),
        description: description.get_untracked(),
        icon: icon.get_untracked(),
        category: category.get_untracked(),
        share_knowledge: share_knowledge.get_untracked(),
        fields: fields.get_untracked().iter().map(FieldEdit::form).collect(),
        prompts: prompts
            .get_untracked()
            .iter()
            .map(PromptEdit::form)
            .collect(),
    };
    let save = move |then_submit: bool| {
        let definition = collect();
        let was_new = id.get_untracked().is_none();
        set_message.set(Some((true, "Saving…".into())));
        spawn_local(async move {
            let saved = match save_assistant(id.get_untracked(), definition).await {
                Ok(saved) => saved,
                Err(err) => {
                    set_message.set(Some((false, err.for_person())));
                    return;
                }
            };
            graph.set(saved.graph);
            version_status.set(saved.status);
            id.set(Some(saved.id.clone()));
            if then_submit {
                match submit_assistant(saved.id.clone()).await {
                    Ok(()) => {
                        version_status.set("pending".into());
                        set_message.set(Some((
                            true,
                            "Submitted: an administrator reviews it next.".into(),
                        )));
                    }
                    Err(err) => set_message.set(Some((false, err.for_person()))),
                }
            } else {
                set_message.set(Some((true, "Saved as a draft.".into())));
            }
            if was_new {
                // The address names the assistant from now on, so a reload keeps the
                // work; the page stays as it is (a navigation would start it again).
                crate::ui::browser::replace_address(&format!("/assistants/{}/edit", saved.id));
            }
        });
    };
    let save_draft = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save(false);
    };
    let title = move || {
        let n = name.get();
        if n.trim().is_empty() {
            "New assistant".to_owned()
        } else {
            n
        }
    };
    let status_text = move || {
        let label = status_label(&version_status.get());
        if number > 0 {
            format!("Version {number}: {label}")
        } else {
            label.to_owned()
        }
    };
    let step_is = move |at: usize| move || step.get() == at;

    view! {
        <h1>{title}</h1>
        <p class="muted">{status_text}</p>
        {review_note
            .map(|note| {
                view! { <p class="notice error">"The reviewer asked for changes: "{note}</p> }
            })}
        <nav class="steps" aria-label="Builder steps">
            <ol>
                {STEPS
                    .iter()
                    .enumerate()
                    .map(|(at, label)| {
                        let current = move || (step.get() == at).then_some("step");
                        view! {
                            <li>
                                <button
                                    type="button"
                                    class="link-button"
                                    aria-current=current
                                    on:click=move |_| step.set(at)
                                >
                                    {format!("{}. {label}", at + 1)}
                                </button>
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
        </nav>
        <form class="form builder" on:submit=save_draft novalidate>
            <Show when=step_is(0)>
                <Details
                    name
                    description
                    icon
                    category
                    share_knowledge
                    icons=icons.clone()
                    categories=categories.clone()
                />
            </Show>
            <Show when=step_is(1)>
                <Fields fields key owner />
            </Show>
            <Show when=step_is(2)>
                <Prompts prompts fields models repositories key owner />
            </Show>
            <Show when=step_is(3)>
                <h2>"Preview"</h2>
                <p class="hint">"The graph as last saved. Save to see your latest changes."</p>
                {move || view! { <PromptGraph nodes=graph.get() /> }}
                {move || {
                    id.get()
                        .map(|id| {
                            view! {
                                <p>
                                    <a
                                        class="button secondary"
                                        href=format!("/assistants/{id}?draft=1")
                                    >
                                        "Test the saved version"
                                    </a>
                                </p>
                            }
                        })
                }}
                <h3>"The form people fill in"</h3>
                <ul>
                    {move || {
                        fields
                            .get()
                            .iter()
                            .map(|f| {
                                let kind = f.kind.get();
                                let kind = KINDS
                                    .iter()
                                    .find(|(k, _)| *k == kind)
                                    .map_or("", |(_, label)| *label);
                                view! { <li>{format!("{} ({kind})", f.label.get())}</li> }
                            })
                            .collect_view()
                    }}
                </ul>
            </Show>
            <Show when=step_is(4)>
                <h2>"Submit for approval"</h2>
                <p class="hint">
                    "An administrator reviews the assistant and chooses who may run it. While a new version waits, the approved one keeps running."
                </p>
                <button type="button" class="button" on:click=move |_| save(true)>
                    "Save and submit"
                </button>
            </Show>
            <div class="form-actions">
                <button type="submit" class="button secondary">
                    "Save draft"
                </button>
                <button
                    type="button"
                    class="button secondary"
                    on:click=move |_| step.update(|s| *s = (*s + 1).min(STEPS.len() - 1))
                >
                    "Next step"
                </button>
                <StatusLine status=message />
            </div>
        </form>
    }
}

#[component]
fn Details(
    name: RwSignal<String>,
    description: RwSignal<String>,
    icon: RwSignal<String>,
    category: RwSignal<String>,
    share_knowledge: RwSignal<bool>,
    icons: Vec<String>,
    /// The categories in use, offered as the category is typed.
    categories: Vec<String>,
) -> impl IntoView {
    view! {
        <h2>"Details"</h2>
        <label for="assistant-name">"Name"</label>
        <input id="assistant-name" type="text" maxlength="100" required bind:value=name />
        <label for="assistant-description">"Description"</label>
        <textarea
            id="assistant-description"
            rows="3"
            maxlength="2000"
            bind:value=description
        ></textarea>
        <label for="assistant-category">"Category (optional)"</label>
        <input
            id="assistant-category"
            type="text"
            maxlength="40"
            list="assistant-categories"
            aria-describedby="assistant-category-help"
            bind:value=category
        />
        <datalist id="assistant-categories">
            {categories.into_iter().map(|c| view! { <option value=c></option> }).collect_view()}
        </datalist>
        <p id="assistant-category-help" class="hint">
            "The catalog filters by it: \u{201c}Mathematics\u{201d}, \u{201c}Letters home\u{201d}."
        </p>
        <IconPicker icons icon />
        <label class="check">
            <input type="checkbox" bind:checked=share_knowledge />
            "Share this knowledge with people who run it: the prompts may search my repositories for them"
        </label>
    }
}

/// One entry of an ordered list being edited: an entry dropped on it takes its place, and its
/// buttons move it and take it away.
#[component]
fn EditEntry<T>(
    list: RwSignal<Vec<T>>,
    key_of: fn(&T) -> u32,
    /// This entry's key.
    k: u32,
    dragged: RwSignal<Option<u32>>,
    /// Makes the buttons' ids unique on the page.
    id: String,
    /// The entry as the buttons name it.
    what: Signal<String>,
    children: Children,
) -> impl IntoView
where
    T: Copy + Send + Sync + 'static,
{
    let remove = move || list.update(|all| all.retain(|e| key_of(e) != k));
    view! {
        <li
            class="edit-entry"
            draggable="true"
            on:dragstart=move |_| dragged.set(Some(k))
            on:dragover=move |ev| ev.prevent_default()
            on:drop=move |ev| {
                ev.prevent_default();
                if let Some(from) = dragged.get_untracked() {
                    move_onto(list, key_of, from, k);
                }
                dragged.set(None);
            }
        >
            {children()}
            {move || {
                let step = move |by: isize, button: String| {
                    shift(list, key_of, k, by);
                    request_animation_frame(move || crate::ui::browser::focus_field(&button));
                };
                let what = what.get();
                let remove_label = format!("Remove {what}");
                view! {
                    <MoveButtons id=id.clone() what step>
                        <button
                            type="button"
                            class="button danger small"
                            aria-label=remove_label
                            on:click=move |_| remove()
                        >
                            "Remove"
                        </button>
                    </MoveButtons>
                }
            }}
        </li>
    }
}

#[component]
fn Fields(
    fields: RwSignal<Vec<FieldEdit>>,
    key: impl Fn() -> u32 + Copy + Send + Sync + 'static,
    owner: StoredValue<Owner>,
) -> impl IntoView {
    let dragged = RwSignal::new(None::<u32>);
    let add = move |_| {
        let n = fields.with_untracked(Vec::len) + 1;
        let field = owner.get_value().with(|| {
            FieldEdit::new(
                key(),
                FieldForm {
                    name: format!("field_{n}"),
                    label: format!("Field {n}"),
                    kind: "short_text".into(),
                    required: true,
                    ..FieldForm::default()
                },
            )
        });
        fields.update(|all| all.push(field));
    };
    view! {
        <h2>"Input fields"</h2>
        <p class="hint">
            "Prompts use a field's value by its name: {{name}}. Drag a field, or use its arrows, to order the form."
        </p>
        <ol class="edit-list">
            <For each=move || fields.get() key=|f| f.key let:field>
                <FieldEditor field fields dragged />
            </For>
        </ol>
        <button type="button" class="button secondary" on:click=add>
            "Add a field"
        </button>
    }
}

#[component]
fn FieldEditor(
    field: FieldEdit,
    fields: RwSignal<Vec<FieldEdit>>,
    dragged: RwSignal<Option<u32>>,
) -> impl IntoView {
    let k = field.key;
    let id = move |part: &str| format!("field-{k}-{part}");
    let what = move || {
        let label = field.label.get();
        format!("field \u{201c}{label}\u{201d}")
    };
    let has_options = move || matches!(field.kind.get().as_str(), "select" | "multi_select");
    let key_of: fn(&FieldEdit) -> u32 = |f| f.key;
    view! {
        <EditEntry list=fields key_of k dragged id=id("move") what=Signal::derive(what)>
            <div class="edit-grid">
                <label for=id("label")>"Label"</label>
                <input id=id("label") type="text" maxlength="100" bind:value=field.label />
                <label for=id("name")>"Name in prompts"</label>
                <input id=id("name") type="text" maxlength="100" bind:value=field.name />
                <label for=id("kind")>"Kind"</label>
                <select
                    id=id("kind")
                    on:change=move |ev| field.kind.set(event_target_value(&ev))
                    prop:value=move || field.kind.get()
                >
                    {KINDS
                        .iter()
                        .map(|(value, label)| {
                            let chosen = move || field.kind.get() == *value;
                            view! {
                                <option value=*value selected=chosen>
                                    {*label}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
                <label for=id("help")>"Help"</label>
                <input id=id("help") type="text" maxlength="2000" bind:value=field.help />
                <Show when=has_options>
                    <label for=id("options")>"Choices, one per line"</label>
                    <textarea id=id("options") rows="3" bind:value=field.options></textarea>
                </Show>
                <label class="check">
                    <input type="checkbox" bind:checked=field.required />
                    "Required"
                </label>
            </div>
        </EditEntry>
    }
}

#[component]
fn Prompts(
    prompts: RwSignal<Vec<PromptEdit>>,
    fields: RwSignal<Vec<FieldEdit>>,
    models: StoredValue<Vec<Choice>>,
    repositories: StoredValue<Vec<Choice>>,
    key: impl Fn() -> u32 + Copy + Send + Sync + 'static,
    owner: StoredValue<Owner>,
) -> impl IntoView {
    let dragged = RwSignal::new(None::<u32>);
    let add = move |_| {
        let n = prompts.with_untracked(Vec::len) + 1;
        let model = models.with_value(|m| m.first().map(|m| m.id.clone()).unwrap_or_default());
        let prompt = owner.get_value().with(|| {
            PromptEdit::new(
                key(),
                PromptForm {
                    key: format!("step_{n}"),
                    name: format!("Step {n}"),
                    model_id: model,
                    ..PromptForm::default()
                },
            )
        });
        prompts.update(|all| all.push(prompt));
    };
    let names = move || {
        let mut all: Vec<String> = fields
            .get()
            .iter()
            .map(|f| format!("{{{{{}}}}}", f.name.get()))
            .collect();
        all.extend(
            prompts
                .get()
                .iter()
                .map(|p| format!("{{{{{}}}}}", p.output.get())),
        );
        if all.is_empty() {
            "none yet".to_owned()
        } else {
            all.join(", ")
        }
    };
    view! {
        <h2>"Prompts"</h2>
        <p class="hint">
            "A prompt uses a field with {{name}} and another prompt's output with {{key}}; prompts that do not wait for each other run together. Names to use: "
            {names}
        </p>
        <ol class="edit-list">
            <For each=move || prompts.get() key=|p| p.key let:prompt>
                <PromptEditor prompt prompts models repositories dragged />
            </For>
        </ol>
        <button type="button" class="button secondary" on:click=add>
            "Add a prompt"
        </button>
    }
}

#[component]
fn PromptEditor(
    prompt: PromptEdit,
    prompts: RwSignal<Vec<PromptEdit>>,
    models: StoredValue<Vec<Choice>>,
    repositories: StoredValue<Vec<Choice>>,
    dragged: RwSignal<Option<u32>>,
) -> impl IntoView {
    let k = prompt.key;
    let id = move |part: &str| format!("prompt-{k}-{part}");
    let what = move || {
        let name = prompt.name.get();
        format!("prompt \u{201c}{name}\u{201d}")
    };
    let key_of: fn(&PromptEdit) -> u32 = |p| p.key;
    let repository_choices = repositories.get_value();
    view! {
        <EditEntry list=prompts key_of k dragged id=id("move") what=Signal::derive(what)>
            <div class="edit-grid">
                <label for=id("name")>"Name"</label>
                <input id=id("name") type="text" maxlength="100" bind:value=prompt.name />
                <label for=id("key")>"Key (its output in later prompts)"</label>
                <input id=id("key") type="text" maxlength="100" bind:value=prompt.output />
                <label for=id("model")>"Model"</label>
                <select
                    id=id("model")
                    on:change=move |ev| prompt.model_id.set(event_target_value(&ev))
                    prop:value=move || prompt.model_id.get()
                >
                    <option value="">"Choose a model"</option>
                    {models
                        .get_value()
                        .into_iter()
                        .map(|m| {
                            let id = m.id.clone();
                            let chosen = move || prompt.model_id.with(|chosen| *chosen == id);
                            view! {
                                <option value=m.id selected=chosen>
                                    {m.name}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
                <label for=id("content")>"Prompt"</label>
                <textarea
                    id=id("content")
                    rows="5"
                    maxlength="20000"
                    bind:value=prompt.content
                ></textarea>
                <label for=id("system")>"System context (optional)"</label>
                <textarea
                    id=id("system")
                    rows="2"
                    maxlength="20000"
                    bind:value=prompt.system
                ></textarea>
                {(!repository_choices.is_empty())
                    .then(|| {
                        view! {
                            <fieldset>
                                <legend>"Search these repositories (optional)"</legend>
                                {repository_choices
                                    .into_iter()
                                    .map(|r| {
                                        view! {
                                            <ChoiceBox
                                                value=r.id
                                                label=r.name
                                                chosen=prompt.repositories
                                            />
                                        }
                                    })
                                    .collect_view()}
                            </fieldset>
                        }
                    })}
            </div>
        </EditEntry>
    }
}
