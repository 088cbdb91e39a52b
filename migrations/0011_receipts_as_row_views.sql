-- Receipts v1.1 are a view of their row: every value a receipt covers is a column of its
-- executions row (timestamps to the microsecond, attempts, provider, classification) or one of two
-- hashes stored beside them (the output's and the question's), so the node stores a receipt as
-- its place in the log (receipt_log, receipt_index: 12 bytes) instead of ~1 kB of JSON, and
-- builds it when it is read. The leaf the node appended when the cell completed is the SHA-256
-- of the receipt's canonical JSON; a row changed afterwards serves a receipt that no longer hashes
-- to its leaf, and every verifier says so.
ALTER TABLE executions
  ADD COLUMN receipt_log integer,
  ADD COLUMN receipt_index bigint,
  ADD COLUMN output_hash bytea,
  ADD COLUMN benchmark_hash bytea;

-- Leaves in runs: one row per appended batch, its leaves' 32-byte leaf data one after another
-- (a row per leaf cost a heap tuple and two index entries each).
CREATE TABLE log_leaf_runs (
  log_id     integer NOT NULL REFERENCES transparency_logs (log_id),
  first_leaf bigint NOT NULL,
  leaf_data  bytea NOT NULL CHECK (length(leaf_data) > 0 AND length(leaf_data) % 32 = 0),
  PRIMARY KEY (log_id, first_leaf)
);

-- Every leaf of every log, one per row (for audits and tests; the node reads runs).
CREATE VIEW log_leaf_list AS
SELECT r.log_id, r.first_leaf + i AS leaf_index,
       substring(r.leaf_data FROM (i * 32 + 1)::int FOR 32) AS leaf_data
  FROM log_leaf_runs r, generate_series(0, length(r.leaf_data) / 32 - 1) AS i;

-- The leaves appended before (one per row) become runs of one; their rows find them by index.
INSERT INTO log_leaf_runs (log_id, first_leaf, leaf_data)
SELECT log_id, leaf_index, leaf_data FROM log_leaves;
UPDATE executions e
   SET (receipt_log, receipt_index) =
       (SELECT l.log_id, l.leaf_index FROM log_leaves l WHERE l.leaf_data = e.receipt_leaf
         ORDER BY l.leaf_index LIMIT 1)
 WHERE e.receipt_leaf IS NOT NULL;
-- log_leaves now only keeps the text of the v1.0 receipts stored before this migration.
COMMENT ON TABLE log_leaves IS 'the stored text of v1.0 receipts (no longer appended to)';

-- A timestamp as receipts write it (RFC 3339, UTC, milliseconds truncated).
CREATE FUNCTION beacon_rfc3339(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- A time given in microseconds since the Unix epoch, exactly (to_timestamp of a float8 can be a
-- microsecond off).
CREATE FUNCTION beacon_from_epoch_us(us bigint) RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$
  SELECT to_timestamp(us / 1000000) + (us % 1000000) * interval '1 microsecond'
$$;

-- Microseconds since the Unix epoch, exactly.
CREATE FUNCTION beacon_epoch_us(t timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
  SELECT (extract(epoch FROM t) * 1000000)::bigint
$$;

-- A v1.1 receipt, built from its row (without output.data), as common/receipt.cpp builds it.
CREATE FUNCTION beacon_receipt_v1_1(e executions) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'schema_version', 'v1.1.0',
    'id', 'receipt-' || e.id,
    'jobspec_id', e.job_id,
    'execution_details', jsonb_build_object(
      'task_id', e.id::text, 'execution_id', e.id, 'job_id', e.job_id,
      'question_id', e.question_id, 'model_id', e.model_id, 'region', e.region, 'run', e.run,
      'provider_id', coalesce(e.provider_id, ''),
      'started_at', beacon_rfc3339(e.started_at), 'completed_at', beacon_rfc3339(e.completed_at),
      'duration', d.us * 1000, 'duration_ms', d.us / 1000,
      'attempts', e.attempts, 'status', 'completed'),
    'output', jsonb_build_object(
      'hash', 'sha256:' || encode(e.output_hash, 'hex'),
      'metadata', jsonb_build_object(
        'hash_of', 'canonical JSON (sorted keys, compact) of output.data',
        'response_classification', e.response_classification,
        'response_language', coalesce(e.output_data -> 'metadata' ->> 'language', ''))),
    'provenance', jsonb_build_object(
      'benchmark_hash', 'sha256:' || encode(e.benchmark_hash, 'hex'),
      'provider_info', jsonb_build_object(
        'provider_id', coalesce(e.provider_id, ''),
        'region', coalesce(e.provider_region, ''),
        'model', coalesce(e.output_data -> 'metadata' ->> 'model', ''),
        'http_status', coalesce(e.http_status, 0)),
      'execution_env', jsonb_build_object(
        'runner', 'beacon-runner',
        'key_id', (SELECT g.key_id FROM transparency_logs g WHERE g.log_id = e.receipt_log))),
    'created_at', beacon_rfc3339(e.completed_at),
    'completed_at', beacon_rfc3339(e.completed_at))
  FROM (SELECT greatest(0, beacon_epoch_us(e.completed_at) - beacon_epoch_us(e.started_at)) AS us) d
$$;

-- A cell's receipt as stored (without output.data): v0 (signed, in the row), v1.0 (its text in
-- log_leaves) or v1.1 (a view of the row); NULL when it has none.
CREATE FUNCTION beacon_row_receipt(e executions) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN e.receipt_data IS NOT NULL THEN e.receipt_data
    WHEN e.receipt_leaf IS NOT NULL THEN
      (SELECT l.receipt::jsonb FROM log_leaves l WHERE l.leaf_data = e.receipt_leaf
        ORDER BY l.leaf_index LIMIT 1)
    WHEN e.receipt_index IS NOT NULL THEN beacon_receipt_v1_1(e)
  END
$$;
