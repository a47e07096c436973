-- Knowledge in chat: the repositories a conversation answers from, and the chunks each reply
-- was given, numbered as the reply cites them. A citation keeps the text it showed, so it
-- still reads after the item changes or goes.

create table conversation_repositories (
    conversation_id uuid not null,
    repository_id uuid not null,
    created_at timestamptz not null default now(),
    constraint conversation_repositories_pkey primary key (conversation_id, repository_id),
    constraint conversation_repositories_conversation_id_fkey foreign key (conversation_id) references conversations (id) on delete cascade,
    constraint conversation_repositories_repository_id_fkey foreign key (repository_id) references knowledge_repositories (id) on delete cascade
);
create index conversation_repositories_repository_id_idx on conversation_repositories (repository_id);

create table message_citations (
    message_id uuid not null,
    number integer not null,
    chunk_id uuid,
    item_id uuid,
    repository_id uuid,
    item_name text not null,
    location text,
    content text not null,
    score real not null,
    created_at timestamptz not null default now(),
    constraint message_citations_pkey primary key (message_id, number),
    constraint message_citations_message_id_fkey foreign key (message_id) references messages (id) on delete cascade,
    constraint message_citations_chunk_id_fkey foreign key (chunk_id) references knowledge_chunks (id) on delete set null,
    constraint message_citations_item_id_fkey foreign key (item_id) references knowledge_items (id) on delete set null,
    constraint message_citations_repository_id_fkey foreign key (repository_id) references knowledge_repositories (id) on delete set null,
    constraint message_citations_number_check check (number >= 1)
);
create index message_citations_chunk_id_idx on message_citations (chunk_id);
create index message_citations_item_id_idx on message_citations (item_id);
create index message_citations_repository_id_idx on message_citations (repository_id);
