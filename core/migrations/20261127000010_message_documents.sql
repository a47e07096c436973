-- Documents attached to user messages: the text the knowledge pipeline's reader (extraction,
-- and OCR for scans) found in them when uploaded, which the model is sent with the message.
-- Uploaded first (message_id null), then taken by the message they are sent with.
create table message_documents (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null,
    message_id uuid,
    position integer,
    file_name text not null,
    content_kind text not null,
    size_bytes bigint not null,
    content text not null,
    -- Longer than a message may carry: the content is its beginning.
    truncated boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint message_documents_user_id_fkey foreign key (user_id) references users (id) on delete cascade,
    constraint message_documents_message_id_fkey foreign key (message_id) references messages (id) on delete cascade,
    constraint message_documents_message_id_position_key unique (message_id, position)
);
create index message_documents_user_id_idx on message_documents (user_id) where message_id is null;
create trigger message_documents_set_updated_at before update on message_documents
    for each row execute function set_updated_at();
