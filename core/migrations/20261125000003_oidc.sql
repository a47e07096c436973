-- Sign-in through OpenID Connect: the flows in progress, and which provider a session came
-- from (for federated sign-out).

-- One row per sign-in sent to a provider and not yet back. The state is the key (only its
-- SHA-256 is stored); the row is deleted when the provider returns, so a replayed callback
-- finds nothing.
create table oidc_logins (
    state_hash bytea primary key,
    provider text not null,
    -- PKCE code verifier and ID token nonce for this one flow.
    pkce_verifier text not null,
    nonce text not null,
    -- Where to go after signing in: a path on this site.
    return_to text not null default '/',
    expires_at timestamptz not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint oidc_logins_state_hash_length_check check (octet_length(state_hash) = 32),
    constraint oidc_logins_return_to_check check (return_to like '/%' and return_to not like '//%')
);
create index oidc_logins_expires_at_idx on oidc_logins (expires_at);
create trigger oidc_logins_set_updated_at before update on oidc_logins
    for each row execute function set_updated_at();

-- The configured provider id a session signed in with; null for a password.
alter table sessions add column provider text;
