-- An assistant's category ("Mathematics", "Letters home"): the catalog filters by it. Part of
-- each version, so a new category is reviewed with the rest of the change. Empty for none.
alter table assistant_versions
    add column category text not null default '',
    add constraint assistant_versions_category_length_check check (char_length(category) <= 40);
