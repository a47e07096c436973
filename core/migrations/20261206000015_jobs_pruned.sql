-- Succeeded jobs are deleted a while after they finish (`jobs::prune_succeeded`, run by every
-- job runner): this finds the old ones without reading the whole table.
create index jobs_succeeded_finished_idx on jobs (finished_at) where status = 'succeeded';
