-- Chat: conversations (with folders), their messages as a tree (edits and regenerations are
-- siblings), and a usage record for every provider call.

create table chat_folders (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null,
    name text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint chat_folders_user_id_fkey foreign key (user_id) references users (id) on delete cascade,
    constraint chat_folders_name_length_check check (char_length(btrim(name)) between 1 and 100)
);
create unique index chat_folders_user_id_name_key on chat_folders (user_id, lower(name));
create trigger chat_folders_set_updated_at before update on chat_folders
    for each row execute function set_updated_at();

create table conversations (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null,
    title text not null,
    -- False once the user renames it: the automatic title no longer replaces it.
    title_is_auto boolean not null default true,
    folder_id uuid,
    -- The model the next message goes to.
    model_id uuid,
    is_pinned boolean not null default false,
    is_archived boolean not null default false,
    -- The newest message of the branch shown (null: no message yet).
    current_message_id uuid,
    last_activity_at timestamptz not null default now(),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint conversations_user_id_fkey foreign key (user_id) references users (id) on delete cascade,
    constraint conversations_folder_id_fkey foreign key (folder_id) references chat_folders (id) on delete set null,
    constraint conversations_model_id_fkey foreign key (model_id) references ai_models (id) on delete set null,
    constraint conversations_title_length_check check (char_length(btrim(title)) between 1 and 200)
);
-- The conversation list: a user's conversations by last activity.
create index conversations_user_id_last_activity_idx
    on conversations (user_id, is_archived, last_activity_at desc, id desc);
create index conversations_folder_id_idx on conversations (folder_id);
create index conversations_model_id_idx on conversations (model_id);
create index conversations_title_search_idx on conversations using gin (to_tsvector('simple', title));
create trigger conversations_set_updated_at before update on conversations
    for each row execute function set_updated_at();

create table messages (
    id uuid primary key default gen_random_uuid(),
    conversation_id uuid not null,
    -- The message this one answers or follows; null for the first. Siblings share a parent.
    parent_id uuid,
    role text not null,
    content text not null default '',
    reasoning text not null default '',
    -- For replies: the model that wrote it.
    model_id uuid,
    -- streaming: being written now; complete; stopped: the user stopped it (content is what
    -- came); failed: the provider failed (content is what came before, error says why).
    status text not null default 'complete',
    error text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    search tsvector generated always as (to_tsvector('simple', content)) stored,
    constraint messages_conversation_id_fkey foreign key (conversation_id) references conversations (id) on delete cascade,
    constraint messages_parent_id_fkey foreign key (parent_id) references messages (id) on delete cascade,
    constraint messages_model_id_fkey foreign key (model_id) references ai_models (id) on delete set null,
    constraint messages_role_check check (role in ('user', 'assistant', 'system')),
    constraint messages_status_check check (status in ('streaming', 'complete', 'stopped', 'failed'))
);
create index messages_conversation_id_created_at_idx on messages (conversation_id, created_at);
create index messages_parent_id_idx on messages (parent_id);
create index messages_model_id_idx on messages (model_id);
create index messages_search_idx on messages using gin (search);
-- Replies still being written (a restarted server marks them stopped).
create index messages_streaming_idx on messages (id) where status = 'streaming';
create trigger messages_set_updated_at before update on messages
    for each row execute function set_updated_at();

alter table conversations
    add constraint conversations_current_message_id_fkey
    foreign key (current_message_id) references messages (id) on delete set null;
create index conversations_current_message_id_idx on conversations (current_message_id);

-- Images attached to user messages. Uploaded first (message_id null), then taken by the
-- message they are sent with.
create table message_images (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null,
    message_id uuid,
    position integer,
    file_name text not null default '',
    media_type text not null,
    data bytea not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint message_images_user_id_fkey foreign key (user_id) references users (id) on delete cascade,
    constraint message_images_message_id_fkey foreign key (message_id) references messages (id) on delete cascade,
    constraint message_images_media_type_check check (media_type in ('image/png', 'image/jpeg', 'image/webp', 'image/gif')),
    constraint message_images_size_check check (octet_length(data) between 1 and 20971520),
    constraint message_images_message_id_position_key unique (message_id, position)
);
create index message_images_user_id_idx on message_images (user_id) where message_id is null;
create trigger message_images_set_updated_at before update on message_images
    for each row execute function set_updated_at();

create table usage_records (
    id uuid primary key default gen_random_uuid(),
    user_id uuid,
    model_id uuid,
    -- Kept when the model is deleted, so reports still name it.
    model_key text not null,
    provider_kind text not null,
    -- chat, compare, assistant, ...
    feature text not null,
    conversation_id uuid,
    message_id uuid,
    input_tokens integer not null default 0,
    output_tokens integer not null default 0,
    cached_input_tokens integer not null default 0,
    -- True when the provider reported no usage (a stopped or failed call) and the tokens are
    -- estimated from the text (about four characters a token).
    tokens_estimated boolean not null default false,
    -- Milliseconds from sending the request to the first streamed token, and to the end.
    first_token_ms integer,
    total_ms integer not null,
    -- US dollars, from the model's prices when the call was made.
    cost numeric(18, 8) not null default 0,
    status text not null,
    error text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint usage_records_user_id_fkey foreign key (user_id) references users (id) on delete set null,
    constraint usage_records_model_id_fkey foreign key (model_id) references ai_models (id) on delete set null,
    constraint usage_records_conversation_id_fkey foreign key (conversation_id) references conversations (id) on delete set null,
    constraint usage_records_message_id_fkey foreign key (message_id) references messages (id) on delete set null,
    constraint usage_records_status_check check (status in ('complete', 'stopped', 'failed')),
    constraint usage_records_tokens_check check (input_tokens >= 0 and output_tokens >= 0 and cached_input_tokens >= 0)
);
create index usage_records_user_id_created_at_idx on usage_records (user_id, created_at);
create index usage_records_model_id_idx on usage_records (model_id);
create index usage_records_conversation_id_idx on usage_records (conversation_id);
create index usage_records_message_id_idx on usage_records (message_id);
create trigger usage_records_set_updated_at before update on usage_records
    for each row execute function set_updated_at();
