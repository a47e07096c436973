-- Schedules: an approved assistant run for its owner with saved inputs at set times. Each
-- occurrence is at most one run: (schedule_id, scheduled_for) is unique among runs.

create table schedules (
    id uuid primary key default gen_random_uuid(),
    -- Whose it is: runs are theirs, with their access.
    user_id uuid not null,
    assistant_id uuid not null,
    name text not null,
    -- The values given to each run, by field name.
    inputs jsonb not null,
    -- {"every": "daily" | "weekly" | "monthly" | "cron", ...} (studio_core::schedules).
    recurrence jsonb not null,
    time_zone text not null,
    -- Occurrences missed while nothing ran (downtime): the latest runs once on recovery
    -- (true) or they are skipped (false).
    catch_up boolean not null default true,
    -- Each run's result is mailed to the owner too.
    email boolean not null default true,
    -- The next occurrence; null while paused.
    next_run_at timestamptz,
    paused_at timestamptz,
    pause_reason text,
    -- Runs that failed one after another; reset by a success.
    failures integer not null default 0,
    last_run_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint schedules_user_id_fkey foreign key (user_id) references users (id) on delete cascade,
    constraint schedules_assistant_id_fkey foreign key (assistant_id) references assistants (id) on delete cascade,
    constraint schedules_name_length_check check (char_length(btrim(name)) between 1 and 200)
);
create index schedules_user_id_idx on schedules (user_id, created_at desc);
-- The ticker's question: what is due.
create index schedules_due_idx on schedules (next_run_at) where paused_at is null;
create trigger schedules_set_updated_at before update on schedules
    for each row execute function set_updated_at();

alter table assistant_runs add column schedule_id uuid;
alter table assistant_runs add column scheduled_for timestamptz;
alter table assistant_runs
    add constraint assistant_runs_schedule_id_fkey foreign key (schedule_id)
        references schedules (id) on delete set null;
create unique index assistant_runs_occurrence_key on assistant_runs (schedule_id, scheduled_for)
    where schedule_id is not null;
