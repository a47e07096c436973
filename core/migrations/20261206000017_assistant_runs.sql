-- Runs of an assistant's approved version: the inputs given, and each prompt as a step with
-- what it was sent, what came back, its tokens, cost and time.

create table assistant_runs (
    id uuid primary key default gen_random_uuid(),
    assistant_id uuid not null,
    version_id uuid not null,
    -- Who ran it.
    user_id uuid not null,
    -- queued -> running -> succeeded | failed
    status text not null default 'queued',
    -- The values given, by field name (text, or a list of choices).
    inputs jsonb not null,
    error text,
    started_at timestamptz,
    finished_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint assistant_runs_assistant_id_fkey foreign key (assistant_id) references assistants (id) on delete cascade,
    constraint assistant_runs_version_id_fkey foreign key (version_id) references assistant_versions (id) on delete cascade,
    constraint assistant_runs_user_id_fkey foreign key (user_id) references users (id) on delete cascade,
    constraint assistant_runs_status_check check (status in ('queued', 'running', 'succeeded', 'failed'))
);
create index assistant_runs_user_id_idx on assistant_runs (user_id, created_at desc);
create index assistant_runs_assistant_id_idx on assistant_runs (assistant_id, created_at desc);
create trigger assistant_runs_set_updated_at before update on assistant_runs
    for each row execute function set_updated_at();

create table assistant_run_steps (
    id uuid primary key default gen_random_uuid(),
    run_id uuid not null,
    -- The prompt's position in the version.
    position integer not null,
    key text not null,
    name text not null,
    -- pending -> running -> succeeded | failed; skipped when a prompt it waits for failed.
    status text not null default 'pending',
    model_id uuid,
    -- The prompt with its placeholders filled in, as sent.
    input text,
    system_context text,
    output text not null default '',
    error text,
    input_tokens integer,
    output_tokens integer,
    cost numeric(18, 8),
    started_at timestamptz,
    finished_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint assistant_run_steps_run_id_fkey foreign key (run_id) references assistant_runs (id) on delete cascade,
    constraint assistant_run_steps_model_id_fkey foreign key (model_id) references ai_models (id) on delete set null,
    constraint assistant_run_steps_position_key unique (run_id, position),
    constraint assistant_run_steps_status_check
        check (status in ('pending', 'running', 'succeeded', 'failed', 'skipped'))
);
create trigger assistant_run_steps_set_updated_at before update on assistant_run_steps
    for each row execute function set_updated_at();

-- A step's model call is counted like a chat reply's, under its run.
alter table usage_records add column assistant_run_id uuid;
alter table usage_records
    add constraint usage_records_assistant_run_id_fkey foreign key (assistant_run_id)
        references assistant_runs (id) on delete set null;
create index usage_records_assistant_run_id_idx on usage_records (assistant_run_id)
    where assistant_run_id is not null;
