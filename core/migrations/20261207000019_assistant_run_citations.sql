-- The knowledge a step of an assistant run was given, numbered as the step cites it.

create table assistant_run_citations (
    step_id uuid not null,
    number integer not null,
    chunk_id uuid,
    item_id uuid,
    repository_id uuid,
    item_name text not null,
    location text,
    content text not null,
    score real not null,
    created_at timestamptz not null default now(),
    constraint assistant_run_citations_pkey primary key (step_id, number),
    constraint assistant_run_citations_step_id_fkey foreign key (step_id) references assistant_run_steps (id) on delete cascade,
    constraint assistant_run_citations_chunk_id_fkey foreign key (chunk_id) references knowledge_chunks (id) on delete set null,
    constraint assistant_run_citations_item_id_fkey foreign key (item_id) references knowledge_items (id) on delete set null,
    constraint assistant_run_citations_repository_id_fkey foreign key (repository_id) references knowledge_repositories (id) on delete set null,
    constraint assistant_run_citations_number_check check (number >= 1)
);
