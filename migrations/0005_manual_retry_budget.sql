-- Manual retries (retry-question, retry-all-failed) have their own budget, apart from the
-- automatic max_retries, and continue the cell's attempt numbering: attempt_base counts the
-- provider calls of the cell's earlier rounds.
ALTER TABLE executions
  ADD COLUMN manual_retry_limit integer NOT NULL DEFAULT 3 CHECK (manual_retry_limit >= 0),
  ADD COLUMN attempt_base integer NOT NULL DEFAULT 0 CHECK (attempt_base >= 0);

-- When the job's current round started: its first start, or the start after a manual retry of
-- an ended job. The job timeout counts from here; started_at and completed_at keep the first
-- run's times.
ALTER TABLE jobs ADD COLUMN round_started_at timestamptz;
