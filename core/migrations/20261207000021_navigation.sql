-- The navigation as data: the sidebar's links, sections (a heading over links) and landing
-- pages (`/page/{id}`, their links as tiles), in order, each shown to everyone signed in or
-- only to the roles and the tool it names. Administrators edit it (studio_core::navigation).

create table navigation_items (
    id uuid primary key default gen_random_uuid(),
    -- A section or a landing page holds links (and pages); the top level has no parent.
    parent_id uuid,
    kind text not null,
    label text not null,
    -- One of studio_core::navigation::ICONS.
    icon text not null,
    -- A link's address: a path of this site or an https address; null for sections and pages.
    href text,
    description text not null default '',
    -- Shown only to people whose roles grant this tool (a tool's slug), when set.
    tool text,
    -- Shown only to people holding one of these roles (names), when not empty. A role that is
    -- renamed or deleted matches nobody: the item is hidden, never shown to more people.
    roles text[] not null default '{}',
    position integer not null,
    hidden boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint navigation_items_parent_id_fkey foreign key (parent_id) references navigation_items (id) on delete cascade,
    constraint navigation_items_kind_check check (kind in ('link', 'section', 'page')),
    constraint navigation_items_label_length_check check (char_length(btrim(label)) between 1 and 60),
    constraint navigation_items_href_check check ((kind = 'link') = (href is not null)),
    constraint navigation_items_description_length_check check (char_length(description) <= 500)
);
create index navigation_items_parent_idx on navigation_items (parent_id, position);

-- The links the sidebar had before it was data.
insert into navigation_items (kind, label, icon, href, tool, position) values
    ('link', 'Home', 'home', '/', null, 10),
    ('link', 'Chat', 'chat', '/chat', null, 20),
    ('link', 'Assistants', 'sparkles', '/assistants', null, 30),
    ('link', 'Schedules', 'clock', '/schedules', null, 40),
    ('link', 'Knowledge', 'book', '/knowledge', 'knowledge-repositories', 50);
