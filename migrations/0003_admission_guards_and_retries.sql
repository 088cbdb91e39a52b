-- Idempotency-Key of POST /api/v1/jobs: a repeated key with the same body answers the first job.
CREATE TABLE idempotency_keys (
  key             text PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 255),
  request_sha256  text NOT NULL,
  job_id          text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  created_at      timestamptz NOT NULL DEFAULT now()
);

-- Nonces of signed JobSpecs already admitted, per signing key: a replayed spec is refused even
-- under a new job id (the id is not signed). Kept as long as the jobs.
CREATE TABLE signature_nonces (
  public_key  text NOT NULL,
  nonce       text NOT NULL,
  job_id      text NOT NULL,
  seen_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (public_key, nonce)
);

-- Retries asked for by a person (POST .../retry-question, retry-all-failed): how many, and what
-- each retry replaced (status, error, attempts, provider, automatic retry history).
ALTER TABLE executions
  ADD COLUMN manual_retries integer NOT NULL DEFAULT 0 CHECK (manual_retries >= 0),
  ADD COLUMN manual_retry_history jsonb NOT NULL DEFAULT '[]';
