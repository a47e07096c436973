-- Files the browser sends straight to object storage (S3): the item exists from the moment
-- the upload is granted, as `uploading`, and is queued once the file has arrived.
alter table knowledge_items drop constraint knowledge_items_status_check;
alter table knowledge_items add constraint knowledge_items_status_check
    check (status in ('uploading', 'queued', 'extracting', 'ocr', 'chunking', 'embedding', 'ready', 'failed'));
