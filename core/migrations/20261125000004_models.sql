-- AI providers (where models run, with their credentials) and the models people may use.

create table ai_providers (
    id uuid primary key default gen_random_uuid(),
    -- openai (also any OpenAI-compatible server: Ollama, vLLM, LM Studio), gemini, bedrock, local
    kind text not null,
    name text not null,
    -- Null: the kind's default endpoint.
    base_url text,
    -- Null: taken from the environment (OPENAI_API_KEY, GEMINI_API_KEY). Never sent to browsers.
    api_key text,
    -- Bedrock's AWS region; null: the default AWS chain's.
    region text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint ai_providers_kind_check check (kind in ('openai', 'gemini', 'bedrock', 'local')),
    constraint ai_providers_name_length_check check (char_length(btrim(name)) between 1 and 100),
    constraint ai_providers_base_url_check check (base_url is null or base_url ~ '^https?://')
);
create unique index ai_providers_name_key on ai_providers (lower(name));
create trigger ai_providers_set_updated_at before update on ai_providers
    for each row execute function set_updated_at();

create table ai_models (
    id uuid primary key default gen_random_uuid(),
    provider_id uuid not null,
    -- The provider's own id for the model (gpt-4.1-mini, llama3.2, gemini-2.5-flash, ...).
    model_key text not null,
    display_name text not null,
    description text not null default '',
    supports_vision boolean not null default false,
    supports_tools boolean not null default false,
    supports_reasoning boolean not null default false,
    context_tokens integer,
    max_output_tokens integer,
    -- US dollars per million tokens.
    input_price numeric(14, 6) not null default 0,
    output_price numeric(14, 6) not null default 0,
    cached_input_price numeric(14, 6) not null default 0,
    is_active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint ai_models_provider_id_fkey foreign key (provider_id) references ai_providers (id) on delete restrict,
    constraint ai_models_provider_id_model_key_key unique (provider_id, model_key),
    constraint ai_models_model_key_length_check check (char_length(btrim(model_key)) between 1 and 200),
    constraint ai_models_display_name_length_check check (char_length(btrim(display_name)) between 1 and 100),
    constraint ai_models_tokens_check check (
        (context_tokens is null or context_tokens > 0)
        and (max_output_tokens is null or max_output_tokens > 0)
    ),
    constraint ai_models_prices_check check (input_price >= 0 and output_price >= 0 and cached_input_price >= 0)
);
create index ai_models_provider_id_idx on ai_models (provider_id);
create trigger ai_models_set_updated_at before update on ai_models
    for each row execute function set_updated_at();

-- Which roles may use a model. A model no role holds is usable by nobody.
create table ai_model_roles (
    model_id uuid not null,
    role_id uuid not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint ai_model_roles_pkey primary key (model_id, role_id),
    constraint ai_model_roles_model_id_fkey foreign key (model_id) references ai_models (id) on delete cascade,
    constraint ai_model_roles_role_id_fkey foreign key (role_id) references roles (id) on delete cascade
);
create index ai_model_roles_role_id_idx on ai_model_roles (role_id);
create trigger ai_model_roles_set_updated_at before update on ai_model_roles
    for each row execute function set_updated_at();
