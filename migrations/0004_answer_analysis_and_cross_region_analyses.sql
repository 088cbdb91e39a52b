-- Per-answer analysis written with the terminal outcome (analysis/answer_profile.hpp), and the
-- per-job cross-region analysis (analysis/job_report.hpp), recomputed on demand.
ALTER TABLE executions
  ADD COLUMN classification_reason text,
  ADD COLUMN response_language     text,
  -- Key terms of the question the answer mentions; NULL when the question has no key-term list.
  ADD COLUMN key_terms             jsonb;

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
