-- Whether a knowledge repository is shared with a user, directly or through one of their
-- roles: the one definition the access checks use (inlined by the planner).
create function knowledge_shared_with(repository uuid, member uuid) returns boolean
language sql stable as $$
    select exists (
        select 1 from knowledge_repository_shares s
        where s.repository_id = repository
          and (s.user_id = member
               or s.role_id in (select ur.role_id from user_roles ur where ur.user_id = member)))
$$;
