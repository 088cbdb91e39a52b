-- How each answer was generated and what it cost. The settings the cell was sent with
-- (temperature, max_tokens, top_p and seed; NULL top_p or seed: not set by the job) and the
-- ones its provider's protocol could not carry (settings_unsent, comma-separated; NULL: all
-- sent). cost: the answer's cost at its provider's prices from the reported usage (NULL when
-- the provider has no price or did not report usage: never an estimate). charged: what the
-- job's budget counted for the cell's attempts, summed over its rounds (NULL: no budget).
-- A job stopped by its budget records when (budget_exhausted_at); its verdict is failed.
ALTER TABLE executions
  ADD COLUMN temperature double precision,
  ADD COLUMN max_tokens integer CHECK (max_tokens > 0),
  ADD COLUMN top_p double precision,
  ADD COLUMN seed bigint,
  ADD COLUMN settings_unsent text,
  ADD COLUMN cost double precision CHECK (cost >= 0),
  ADD COLUMN charged double precision CHECK (charged >= 0);

ALTER TABLE jobs ADD COLUMN budget_exhausted_at timestamptz;
