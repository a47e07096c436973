-- Knowledge: repositories (owned, shared with users or roles, or public), their items (files,
-- web pages, pasted text) with the pipeline's state, the chunks cut from each item, and the
-- chunks' embeddings, one row per embedding model.

create table knowledge_repositories (
    id uuid primary key default gen_random_uuid(),
    owner_id uuid not null,
    name text not null,
    description text not null default '',
    -- Every signed-in user with the knowledge tool may search it.
    is_public boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint knowledge_repositories_owner_id_fkey foreign key (owner_id) references users (id) on delete cascade,
    constraint knowledge_repositories_name_length_check check (char_length(btrim(name)) between 1 and 100),
    constraint knowledge_repositories_description_length_check check (char_length(description) <= 2000)
);
create index knowledge_repositories_owner_id_idx on knowledge_repositories (owner_id);
create index knowledge_repositories_public_idx on knowledge_repositories (id) where is_public;
create trigger knowledge_repositories_set_updated_at before update on knowledge_repositories
    for each row execute function set_updated_at();

-- Read access given to one user or to everyone holding a role.
create table knowledge_repository_shares (
    id uuid primary key default gen_random_uuid(),
    repository_id uuid not null,
    user_id uuid,
    role_id uuid,
    created_at timestamptz not null default now(),
    constraint knowledge_repository_shares_repository_id_fkey foreign key (repository_id) references knowledge_repositories (id) on delete cascade,
    constraint knowledge_repository_shares_user_id_fkey foreign key (user_id) references users (id) on delete cascade,
    constraint knowledge_repository_shares_role_id_fkey foreign key (role_id) references roles (id) on delete cascade,
    constraint knowledge_repository_shares_one_grantee_check check ((user_id is null) <> (role_id is null))
);
create unique index knowledge_repository_shares_user_key on knowledge_repository_shares (repository_id, user_id) where user_id is not null;
create unique index knowledge_repository_shares_role_key on knowledge_repository_shares (repository_id, role_id) where role_id is not null;
create index knowledge_repository_shares_user_id_idx on knowledge_repository_shares (user_id);
create index knowledge_repository_shares_role_id_idx on knowledge_repository_shares (role_id);

create table knowledge_items (
    id uuid primary key default gen_random_uuid(),
    repository_id uuid not null,
    -- file: an upload; url: a web page fetched by the pipeline; text: pasted text.
    kind text not null,
    -- The file name, the page's address, or the text's title.
    name text not null,
    -- Where the original is kept (see knowledge::storage); null for a URL not fetched yet.
    storage_key text,
    -- What the content turned out to be (pdf, docx, text ...), once extracted.
    content_kind text,
    size_bytes bigint not null default 0,
    -- queued -> extracting -> (ocr) -> chunking -> embedding -> ready, or failed with error.
    status text not null default 'queued',
    -- Embedding progress: chunks embedded of chunks to embed.
    progress_done integer not null default 0,
    progress_total integer not null default 0,
    error text,
    chunk_count integer not null default 0,
    -- PDF pages that had no text layer (their text needs OCR).
    pages_without_text integer[] not null default '{}',
    created_by uuid,
    processed_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint knowledge_items_repository_id_fkey foreign key (repository_id) references knowledge_repositories (id) on delete cascade,
    constraint knowledge_items_created_by_fkey foreign key (created_by) references users (id) on delete set null,
    constraint knowledge_items_kind_check check (kind in ('file', 'url', 'text')),
    constraint knowledge_items_status_check
        check (status in ('queued', 'extracting', 'ocr', 'chunking', 'embedding', 'ready', 'failed')),
    constraint knowledge_items_name_length_check check (char_length(btrim(name)) between 1 and 2048),
    constraint knowledge_items_progress_check check (progress_done between 0 and progress_total),
    constraint knowledge_items_error_when_failed check ((status = 'failed') = (error is not null))
);
create index knowledge_items_repository_id_created_at_idx on knowledge_items (repository_id, created_at desc);
create index knowledge_items_created_by_idx on knowledge_items (created_by);
create trigger knowledge_items_set_updated_at before update on knowledge_items
    for each row execute function set_updated_at();

-- Pages showing a repository follow its items through this channel (payload: repository id).
create or replace function knowledge_items_notify() returns trigger
language plpgsql as $$
begin
    perform pg_notify('knowledge_items', coalesce(new.repository_id, old.repository_id)::text);
    return null;
end;
$$;
create trigger knowledge_items_notify after insert or update or delete on knowledge_items
    for each row execute function knowledge_items_notify();

create table knowledge_chunks (
    id uuid primary key default gen_random_uuid(),
    item_id uuid not null,
    -- Copied from the item so searches filter without a join.
    repository_id uuid not null,
    position integer not null,
    content text not null,
    -- Page or section, for citations.
    location text,
    token_count integer not null,
    created_at timestamptz not null default now(),
    search tsvector generated always as (to_tsvector('simple', content)) stored,
    constraint knowledge_chunks_item_id_fkey foreign key (item_id) references knowledge_items (id) on delete cascade,
    constraint knowledge_chunks_repository_id_fkey foreign key (repository_id) references knowledge_repositories (id) on delete cascade,
    constraint knowledge_chunks_item_id_position_key unique (item_id, position)
);
create index knowledge_chunks_repository_id_idx on knowledge_chunks (repository_id);
create index knowledge_chunks_search_idx on knowledge_chunks using gin (search);

-- One vector per chunk and embedding model. The column has no fixed dimension so several
-- models can live side by side; each model gets its own partial HNSW index over the vector
-- cast to its dimension, and every query names its model (a search never mixes models).
create table knowledge_embeddings (
    chunk_id uuid not null,
    model text not null,
    repository_id uuid not null,
    embedding vector not null,
    created_at timestamptz not null default now(),
    constraint knowledge_embeddings_pkey primary key (chunk_id, model),
    constraint knowledge_embeddings_chunk_id_fkey foreign key (chunk_id) references knowledge_chunks (id) on delete cascade,
    constraint knowledge_embeddings_repository_id_fkey foreign key (repository_id) references knowledge_repositories (id) on delete cascade
);
create index knowledge_embeddings_repository_id_model_idx on knowledge_embeddings (repository_id, model);
create index knowledge_embeddings_minilm_hnsw_idx on knowledge_embeddings
    using hnsw ((embedding::vector(384)) vector_cosine_ops)
    where model = 'all-MiniLM-L6-v2';
