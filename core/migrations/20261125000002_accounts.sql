-- Accounts and access: users and their sign-in identities, roles, tools and grants,
-- server-side sessions, sign-in attempts (for rate limiting), the audit log, and settings.

create table users (
    id uuid primary key default gen_random_uuid(),
    -- Stored lower-cased and trimmed: one account per address, whatever the spelling.
    email text not null,
    is_email_verified boolean not null default false,
    display_name text not null,
    -- argon2id PHC string; null for accounts that only sign in through an identity provider.
    password_hash text,
    is_disabled boolean not null default false,
    last_sign_in_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint users_email_key unique (email),
    constraint users_email_normalized_check check (email = lower(btrim(email))),
    constraint users_email_length_check check (char_length(email) between 3 and 254),
    constraint users_display_name_length_check check (char_length(display_name) between 1 and 200)
);
create trigger users_set_updated_at before update on users
    for each row execute function set_updated_at();

-- An account at an OpenID Connect issuer, linked to one user.
create table user_identities (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null,
    issuer text not null,
    subject text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint user_identities_user_id_fkey foreign key (user_id) references users (id) on delete cascade,
    constraint user_identities_issuer_subject_key unique (issuer, subject)
);
create index user_identities_user_id_idx on user_identities (user_id);
create trigger user_identities_set_updated_at before update on user_identities
    for each row execute function set_updated_at();

create table roles (
    id uuid primary key default gen_random_uuid(),
    name text not null,
    description text not null default '',
    -- administrator, staff and student: cannot be renamed or deleted.
    is_system boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint roles_name_length_check check (char_length(btrim(name)) between 1 and 60)
);
create unique index roles_name_key on roles (lower(name));
create trigger roles_set_updated_at before update on roles
    for each row execute function set_updated_at();

create table user_roles (
    user_id uuid not null,
    role_id uuid not null,
    created_at timestamptz not null default now(),
    constraint user_roles_pkey primary key (user_id, role_id),
    constraint user_roles_user_id_fkey foreign key (user_id) references users (id) on delete cascade,
    constraint user_roles_role_id_fkey foreign key (role_id) references roles (id) on delete cascade
);
create index user_roles_role_id_idx on user_roles (role_id);

-- A capability that roles are granted (a page, its server functions and routes).
create table tools (
    id uuid primary key default gen_random_uuid(),
    slug text not null,
    name text not null,
    description text not null default '',
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint tools_slug_key unique (slug),
    constraint tools_slug_format_check check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$')
);
create trigger tools_set_updated_at before update on tools
    for each row execute function set_updated_at();

create table role_tools (
    role_id uuid not null,
    tool_id uuid not null,
    created_at timestamptz not null default now(),
    constraint role_tools_pkey primary key (role_id, tool_id),
    constraint role_tools_role_id_fkey foreign key (role_id) references roles (id) on delete cascade,
    constraint role_tools_tool_id_fkey foreign key (tool_id) references tools (id) on delete cascade
);
create index role_tools_tool_id_idx on role_tools (tool_id);

insert into roles (name, description, is_system) values
    ('administrator', 'Manages users, roles, models and settings.', true),
    ('staff', 'Teachers and staff.', true),
    ('student', 'Students.', true);

insert into tools (slug, name, description) values
    ('chat', 'Chat', 'Conversations with AI models.'),
    ('model-compare', 'Model compare', 'One prompt, several models side by side.'),
    ('prompt-library', 'Prompt library', 'Saved and shared prompts.'),
    ('assistant-architect', 'Assistant architect', 'Build multi-step assistants.'),
    ('knowledge-repositories', 'Knowledge repositories', 'Upload and search your own knowledge.'),
    ('schedules', 'Schedules', 'Run assistants on a schedule.'),
    ('ideas', 'Ideas', 'Suggest and vote on ideas.'),
    ('admin', 'Administration', 'Users, roles, models, settings and logs.');

-- Defaults: administrators everything; staff everything but admin; students the basics.
insert into role_tools (role_id, tool_id)
select r.id, t.id
from roles as r
cross join tools as t
where r.name = 'administrator'
   or (r.name = 'staff' and t.slug <> 'admin')
   or (r.name = 'student' and t.slug in ('chat', 'model-compare', 'prompt-library', 'ideas'));

create table sessions (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null,
    -- SHA-256 of the cookie's random token; the token itself is never stored.
    token_hash bytea not null,
    last_seen_at timestamptz not null default now(),
    idle_expires_at timestamptz not null,
    absolute_expires_at timestamptz not null,
    revoked_at timestamptz,
    ip text,
    user_agent text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint sessions_user_id_fkey foreign key (user_id) references users (id) on delete cascade,
    constraint sessions_token_hash_key unique (token_hash),
    constraint sessions_token_hash_length_check check (octet_length(token_hash) = 32)
);
create index sessions_user_id_idx on sessions (user_id) where revoked_at is null;
create trigger sessions_set_updated_at before update on sessions
    for each row execute function set_updated_at();

-- Every sign-in attempt, kept for rate limiting and the audit page. No passwords, ever.
create table sign_in_attempts (
    id uuid primary key default gen_random_uuid(),
    email text not null,
    ip text,
    is_success boolean not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index sign_in_attempts_email_idx on sign_in_attempts (email, created_at desc);
create index sign_in_attempts_ip_idx on sign_in_attempts (ip, created_at desc);

create table audit_log (
    id uuid primary key default gen_random_uuid(),
    -- Null when the actor is not signed in (a failed sign-in) or was deleted since.
    actor_user_id uuid,
    action text not null,
    target_type text,
    target_id text,
    before jsonb,
    after jsonb,
    ip text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint audit_log_actor_user_id_fkey foreign key (actor_user_id) references users (id) on delete set null
);
create index audit_log_created_at_idx on audit_log (created_at desc);
create index audit_log_action_idx on audit_log (action, created_at desc);

-- Instance-wide settings that admins change at run time (key -> JSON value).
create table settings (
    id uuid primary key default gen_random_uuid(),
    key text not null,
    value jsonb not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint settings_key_key unique (key)
);
create trigger settings_set_updated_at before update on settings
    for each row execute function set_updated_at();

insert into settings (key, value) values ('accounts.local_sign_up', 'true'::jsonb);
