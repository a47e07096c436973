-- Trust at the door: verified addresses, one-time account links (verification, password
-- reset, invitations, the first administrator's setup), outgoing mail, and grants that only
-- verified accounts hold.

-- When we (a link we mailed, an administrator, or a provider that vouches for it) last
-- verified the address, and when the password was last set. A password set before the
-- address was verified may be someone else's: linking a provider identity removes it.
alter table users add column email_verified_at timestamptz;
alter table users add column password_set_at timestamptz;
-- Accounts in use before verification existed keep working: their addresses count as
-- verified from now, and their passwords as set before that.
update users
set email_verified_at = now(),
    is_email_verified = true,
    password_set_at = case when password_hash is not null then created_at end;
alter table users add constraint users_email_verified_at_check
    check (is_email_verified = (email_verified_at is not null));

-- The roles that count: only a verified, enabled account holds any. Every access check
-- (tools, models, shared knowledge) reads grants through this view.
create view granted_roles as
select ur.user_id, ur.role_id
from user_roles as ur
join users as u on u.id = ur.user_id
where u.is_email_verified and not u.is_disabled;

create or replace function knowledge_shared_with(repository uuid, member uuid) returns boolean
language sql stable as $$
    select exists (
        select 1 from knowledge_repository_shares s
        where s.repository_id = repository
          and (s.user_id = member
               or s.role_id in (select g.role_id from granted_roles g where g.user_id = member)))
$$;

-- Single-use links sent by mail or printed by the server. Only the SHA-256 of the token is
-- kept; a used or expired row matches nothing.
create table account_tokens (
    id uuid primary key default gen_random_uuid(),
    token_hash bytea not null,
    -- verify_email, reset_password, invitation, setup
    purpose text not null,
    -- Null for the setup link, which creates its account.
    user_id uuid,
    -- The address the link vouches for (verification and invitations).
    email text,
    -- Roles an invitation grants when accepted.
    role_ids uuid[] not null default '{}',
    created_by uuid,
    expires_at timestamptz not null,
    used_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint account_tokens_token_hash_key unique (token_hash),
    constraint account_tokens_token_hash_length_check check (octet_length(token_hash) = 32),
    constraint account_tokens_purpose_check
        check (purpose in ('verify_email', 'reset_password', 'invitation', 'setup')),
    constraint account_tokens_user_check check ((purpose = 'setup') = (user_id is null)),
    constraint account_tokens_user_id_fkey foreign key (user_id) references users (id) on delete cascade,
    constraint account_tokens_created_by_fkey foreign key (created_by) references users (id) on delete set null
);
create index account_tokens_user_id_idx on account_tokens (user_id, purpose) where used_at is null;
create trigger account_tokens_set_updated_at before update on account_tokens
    for each row execute function set_updated_at();

-- Every message the server sends. Written in the transaction that decides to send it and
-- delivered by a `mail-send` job; with no SMTP configured it stays here, held, for
-- administrators to read. A sent message keeps its envelope, not its body.
create table mail_outbox (
    id uuid primary key default gen_random_uuid(),
    to_address text not null,
    -- verify_email, sign_up_attempt, reset_password, invitation
    kind text not null,
    subject text not null,
    text_body text not null,
    html_body text not null,
    -- The link the message carries, written to the server log while no SMTP is configured.
    link text,
    -- queued, sent, held (no SMTP), failed (refused for good)
    status text not null default 'queued',
    attempts integer not null default 0,
    last_error text,
    sent_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint mail_outbox_status_check check (status in ('queued', 'sent', 'held', 'failed'))
);
create index mail_outbox_created_at_idx on mail_outbox (created_at desc);
create index mail_outbox_to_kind_idx on mail_outbox (to_address, kind, created_at desc);
create trigger mail_outbox_set_updated_at before update on mail_outbox
    for each row execute function set_updated_at();

-- Sign-in throttling looks up failures per (address, client).
create index sign_in_attempts_email_ip_idx on sign_in_attempts (email, ip, created_at desc);
