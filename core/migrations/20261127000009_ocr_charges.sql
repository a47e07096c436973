-- Pages sent to a paid OCR service (Textract), per item and month. A month's sum is held
-- under the configured budget; an item processed again in the same month is counted once
-- (its Textract job is reused). Kept when the item is removed: the pages were paid for.
create table ocr_charges (
    item_id uuid not null,
    month date not null,
    pages integer not null check (pages > 0),
    charged_at timestamptz not null default now(),
    primary key (item_id, month)
);
