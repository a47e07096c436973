-- Assistants: a form of input fields and a chain of prompts. Each change is a version; an
-- approved version keeps running while a newer one is drafted and reviewed.

create table assistants (
    id uuid primary key default gen_random_uuid(),
    owner_id uuid not null,
    -- The version people run (null until one is approved).
    approved_version_id uuid,
    -- The tool that grants running it, created on first approval.
    tool_id uuid,
    -- Set by an administrator: nobody runs it, whatever is approved.
    disabled_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint assistants_owner_id_fkey foreign key (owner_id) references users (id) on delete cascade,
    constraint assistants_tool_id_fkey foreign key (tool_id) references tools (id) on delete set null,
    constraint assistants_tool_id_key unique (tool_id)
);
create index assistants_owner_id_idx on assistants (owner_id);
create trigger assistants_set_updated_at before update on assistants
    for each row execute function set_updated_at();

create table assistant_versions (
    id uuid primary key default gen_random_uuid(),
    assistant_id uuid not null,
    -- 1, 2, 3, ... per assistant.
    number integer not null,
    -- draft -> pending -> approved | rejected; an approved version is superseded by the next
    -- approved one. A rejected version is edited back into a draft.
    status text not null default 'draft',
    name text not null,
    description text not null default '',
    icon text not null,
    -- The owner lets people who run it search the owner's repositories named in its prompts.
    share_knowledge boolean not null default false,
    submitted_at timestamptz,
    reviewed_at timestamptz,
    reviewed_by uuid,
    review_note text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint assistant_versions_assistant_id_fkey foreign key (assistant_id) references assistants (id) on delete cascade,
    constraint assistant_versions_reviewed_by_fkey foreign key (reviewed_by) references users (id) on delete set null,
    constraint assistant_versions_number_key unique (assistant_id, number),
    constraint assistant_versions_status_check
        check (status in ('draft', 'pending', 'approved', 'rejected', 'superseded')),
    constraint assistant_versions_name_length_check check (char_length(btrim(name)) between 1 and 100),
    constraint assistant_versions_description_length_check check (char_length(description) <= 2000),
    constraint assistant_versions_review_note_length_check check (char_length(review_note) <= 2000)
);
-- At most one version in the works (draft, pending or rejected) per assistant.
create unique index assistant_versions_one_open_key on assistant_versions (assistant_id)
    where status in ('draft', 'pending', 'rejected');
-- The review queue.
create index assistant_versions_pending_idx on assistant_versions (submitted_at)
    where status = 'pending';
create trigger assistant_versions_set_updated_at before update on assistant_versions
    for each row execute function set_updated_at();

alter table assistants
    add constraint assistants_approved_version_id_fkey foreign key (approved_version_id)
        references assistant_versions (id) on delete set null;

create table assistant_fields (
    version_id uuid not null,
    position integer not null,
    name text not null,
    label text not null,
    help text not null default '',
    -- short_text, long_text, select, multi_select, file
    kind text not null,
    required boolean not null default false,
    -- The choices of a select or multi-select, in order.
    options text[] not null default '{}',
    constraint assistant_fields_pkey primary key (version_id, position),
    constraint assistant_fields_version_id_fkey foreign key (version_id) references assistant_versions (id) on delete cascade,
    constraint assistant_fields_name_key unique (version_id, name),
    constraint assistant_fields_kind_check
        check (kind in ('short_text', 'long_text', 'select', 'multi_select', 'file'))
);

create table assistant_prompts (
    version_id uuid not null,
    position integer not null,
    key text not null,
    name text not null,
    content text not null,
    system_context text,
    -- Null while drafting, or when the model was deleted: such a prompt cannot run.
    model_id uuid,
    -- Repositories searched for this prompt (checked against the runner's access at run time).
    repository_ids uuid[] not null default '{}',
    constraint assistant_prompts_pkey primary key (version_id, position),
    constraint assistant_prompts_version_id_fkey foreign key (version_id) references assistant_versions (id) on delete cascade,
    constraint assistant_prompts_model_id_fkey foreign key (model_id) references ai_models (id) on delete set null,
    constraint assistant_prompts_key_key unique (version_id, key)
);
create index assistant_prompts_model_id_idx on assistant_prompts (model_id);
