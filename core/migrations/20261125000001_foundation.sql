-- Foundation: extensions (gen_random_uuid() is built in since PostgreSQL 13), the shared updated_at trigger, and the job queue.

create extension if not exists vector;

-- Every table with an updated_at column gets `before update` trigger calling this.
create or replace function set_updated_at() returns trigger
language plpgsql as $$
begin
    new.updated_at := now();
    return new;
end;
$$;

-- The Postgres job queue (see core/src/db/jobs.rs for its contract).
create table jobs (
    id uuid primary key default gen_random_uuid(),
    kind text not null,
    payload jsonb not null default '{}'::jsonb,
    status text not null default 'queued',
    -- Jobs of equal dedupe_key collapse while one of them is waiting to run.
    dedupe_key text,
    priority smallint not null default 0,
    attempts integer not null default 0,
    max_attempts integer not null default 5,
    run_at timestamptz not null default now(),
    -- Set while running: who holds the job, the fencing token of this claim, and until when.
    locked_by text,
    lease_token uuid,
    lease_expires_at timestamptz,
    last_error text,
    finished_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint jobs_status_check
        check (status in ('queued', 'running', 'succeeded', 'dead')),
    constraint jobs_kind_not_blank check (kind <> ''),
    constraint jobs_max_attempts_positive check (max_attempts > 0),
    constraint jobs_lease_when_running
        check ((status = 'running') = (lease_token is not null and lease_expires_at is not null))
);

create trigger jobs_set_updated_at before update on jobs
    for each row execute function set_updated_at();

create unique index jobs_dedupe_key_waiting_key on jobs (dedupe_key)
    where status = 'queued' and dedupe_key is not null;
create index jobs_ready_idx on jobs (priority desc, run_at, id) where status = 'queued';
create index jobs_running_lease_idx on jobs (lease_expires_at) where status = 'running';
create index jobs_dead_idx on jobs (updated_at desc) where status = 'dead';

-- Wake sleeping workers as soon as work becomes ready; they also poll as a fallback.
create or replace function jobs_notify_queued() returns trigger
language plpgsql as $$
begin
    if new.status = 'queued' then
        perform pg_notify('jobs_queued', new.kind);
    end if;
    return null;
end;
$$;

create trigger jobs_notify_queued_insert after insert on jobs
    for each row execute function jobs_notify_queued();
create trigger jobs_notify_queued_update after update of status on jobs
    for each row when (old.status is distinct from new.status)
    execute function jobs_notify_queued();

-- A queued job waits while another job of the same dedupe_key is running.
create index jobs_dedupe_key_running_idx on jobs (dedupe_key)
    where status = 'running' and dedupe_key is not null;
