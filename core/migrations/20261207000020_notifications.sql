-- In-app notifications: what a person is told (a scheduled run ended, ...), read or not.
-- Every change is announced on the `notifications` channel with the person's id, so each
-- server can push the unread count to that person's pages.

create table notifications (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null,
    -- run_ended, ...
    kind text not null,
    title text not null,
    body text not null default '',
    -- The run it is about, if any.
    run_id uuid,
    read_at timestamptz,
    created_at timestamptz not null default now(),
    constraint notifications_user_id_fkey foreign key (user_id) references users (id) on delete cascade,
    constraint notifications_run_id_fkey foreign key (run_id) references assistant_runs (id) on delete cascade,
    constraint notifications_title_length_check check (char_length(title) between 1 and 300),
    constraint notifications_body_length_check check (char_length(body) <= 2000)
);
create index notifications_user_id_idx on notifications (user_id, created_at desc);
create index notifications_unread_idx on notifications (user_id) where read_at is null;
-- A run is told of once per kind, however often its end is handled.
create unique index notifications_run_kind_key on notifications (run_id, kind) where run_id is not null;

create or replace function notifications_notify() returns trigger
language plpgsql as $$
begin
    perform pg_notify('notifications', coalesce(new.user_id, old.user_id)::text);
    return null;
end;
$$;

create trigger notifications_notify after insert or update or delete on notifications
    for each row execute function notifications_notify();
