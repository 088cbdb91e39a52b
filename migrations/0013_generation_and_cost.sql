-- How each answer was generated and what it cost. The settings the cell was sent with
-- (temperature, max_tokens, top_p and seed; NULL top_p or seed: not set by the job) and the
-- ones its provider's protocol could not carry (settings_unsent, comma-separated; NULL: all
-- sent). cost: the answer's cost at its provider's prices from the reported usage (NULL when
-- the provider has no price or did not report usage: never an estimate). charged: what the
-- job's budget counted for the cell's attempts, summed over its rounds (NULL: no budget).
-- temperature and top_p are numeric, written as the shortest decimal text that reads back as
-- the value sent: they read back as that same text, which receipts v1.2 cover.
-- A job stopped by its budget records when (budget_exhausted_at); its verdict is failed.
ALTER TABLE executions
  ADD COLUMN temperature numeric,
  ADD COLUMN max_tokens integer CHECK (max_tokens > 0),
  ADD COLUMN top_p numeric,
  ADD COLUMN seed bigint,
  ADD COLUMN settings_unsent text,
  ADD COLUMN cost double precision CHECK (cost >= 0),
  ADD COLUMN charged double precision CHECK (charged >= 0);

ALTER TABLE jobs ADD COLUMN budget_exhausted_at timestamptz;

-- Receipts v1.2.0: v1.1 plus the answer's usage (output.usage) and the settings it was generated
-- with (provenance.generation; temperature and top_p as the decimal text stored). Rows written
-- since this migration (max_tokens set) are v1.2; earlier ones keep serving v1.1.
CREATE FUNCTION beacon_receipt_v1_2(e executions) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT r || jsonb_build_object(
    'schema_version', 'v1.2.0',
    'output', (r -> 'output') || jsonb_build_object('usage', jsonb_build_object(
      'prompt_tokens', e.prompt_tokens, 'completion_tokens', e.completion_tokens,
      'finish_reason', e.finish_reason)),
    'provenance', (r -> 'provenance') || jsonb_build_object('generation', jsonb_build_object(
      'temperature', e.temperature::text, 'max_tokens', e.max_tokens, 'top_p', e.top_p::text,
      'seed', e.seed, 'settings_unsent', e.settings_unsent)))
  FROM (SELECT beacon_receipt_v1_1(e) AS r) v
$$;

CREATE OR REPLACE FUNCTION beacon_row_receipt(e executions) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN e.receipt_data IS NOT NULL THEN e.receipt_data
    WHEN e.receipt_leaf IS NOT NULL THEN
      (SELECT l.receipt::jsonb FROM log_leaves l WHERE l.leaf_data = e.receipt_leaf
        ORDER BY l.leaf_index LIMIT 1)
    WHEN e.receipt_index IS NOT NULL AND e.max_tokens IS NOT NULL THEN beacon_receipt_v1_2(e)
    WHEN e.receipt_index IS NOT NULL THEN beacon_receipt_v1_1(e)
  END
$$;
