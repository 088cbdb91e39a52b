-- The per-job cross-region analysis (analysis/job_report.hpp), written when a job ends and
-- recomputed on demand. The per-answer profile (classification reason, language, key terms) is
-- part of the stored output (output_data -> 'metadata'), so it is covered by the receipt's hash
-- and costs no extra column in the hot write.

CREATE TABLE cross_region_analyses (
  id                          bigserial PRIMARY KEY,
  job_id                      text NOT NULL UNIQUE REFERENCES jobs (id) ON DELETE CASCADE,
  cross_region_execution_id   uuid REFERENCES cross_region_executions (id) ON DELETE SET NULL,
  job_status                  text NOT NULL,  -- the job's status when it was computed
  cells_analyzed              integer NOT NULL CHECK (cells_analyzed >= 0),
  answers_analyzed            integer NOT NULL CHECK (answers_analyzed >= 0),
  report                      jsonb NOT NULL,  -- region_scores, analysis, evidence
  groups                      jsonb NOT NULL,  -- one object per question x model
  duration_ms                 bigint NOT NULL CHECK (duration_ms >= 0),
  created_at                  timestamptz NOT NULL DEFAULT now()
);

-- A receipt as served: the stored receipt (signed without output.data, see common/receipt.hpp)
-- with output.data filled from the row's output.
CREATE FUNCTION beacon_receipt(receipt jsonb, output jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN receipt IS NULL THEN NULL
              ELSE jsonb_set(receipt, '{output,data}', coalesce(output, 'null'::jsonb)) END
$$;
