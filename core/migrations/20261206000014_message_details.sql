-- A message as the conversation page shows it: its model's name, the branch choices (itself
-- and its siblings: same parent, same role, oldest first), what the calls that wrote it used,
-- and the images and documents sent with it. Read for a whole branch and for one finished
-- reply alone; the planner inlines it.
create view message_details as
select m.id, m.conversation_id, m.parent_id, m.role, m.content, m.reasoning, m.model_id,
       am.display_name as model_name, m.status, m.error, m.created_at,
       array(
           select s.id from messages as s
           where s.conversation_id = m.conversation_id
             and s.parent_id is not distinct from m.parent_id
             and s.role = m.role
           order by s.created_at, s.id
       ) as siblings,
       u.input_tokens, u.output_tokens, u.cached_input_tokens, u.cost,
       array(
           select i.id from message_images as i where i.message_id = m.id order by i.position
       ) as image_ids,
       array(
           select d.file_name from message_documents as d where d.message_id = m.id
           order by d.position
       ) as document_names
from messages as m
left join ai_models as am on am.id = m.model_id
left join lateral (
    select sum(r.input_tokens)::bigint as input_tokens,
           sum(r.output_tokens)::bigint as output_tokens,
           sum(r.cached_input_tokens)::bigint as cached_input_tokens,
           sum(r.cost) as cost
    from usage_records as r where r.message_id = m.id
    having count(*) > 0
) as u on true;
