-- Jobs, their execution cells, and the per-job / per-region counters written with them.
-- Status values are CHECK-constrained to exactly the set the code writes (messages/status.hpp).

CREATE TABLE jobs (
  id                text PRIMARY KEY,                 -- the JobSpec id, e.g. bias-detection-1759330371966
  spec              jsonb NOT NULL,
  status            text NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
  created_at        timestamptz NOT NULL DEFAULT now(),
  started_at        timestamptz,
  completed_at      timestamptz,
  updated_at        timestamptz NOT NULL DEFAULT now(),
  total_cells       integer NOT NULL CHECK (total_cells > 0),
  pending_cells     integer NOT NULL DEFAULT 0,
  running_cells     integer NOT NULL DEFAULT 0,
  completed_cells   integer NOT NULL DEFAULT 0,
  failed_cells      integer NOT NULL DEFAULT 0,
  timeout_cells     integer NOT NULL DEFAULT 0,
  cancelled_cells   integer NOT NULL DEFAULT 0,
  min_success_rate  double precision NOT NULL CHECK (min_success_rate BETWEEN 0 AND 1),
  min_regions       integer NOT NULL CHECK (min_regions >= 0),
  error             text
);
CREATE INDEX jobs_status_created ON jobs (status, created_at DESC);
CREATE INDEX jobs_created ON jobs (created_at DESC);

CREATE TABLE cross_region_executions (
  id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  job_id                text NOT NULL UNIQUE REFERENCES jobs (id) ON DELETE CASCADE,
  total_regions         integer NOT NULL,
  total_cells           integer NOT NULL,
  pending_cells         integer NOT NULL DEFAULT 0,
  running_cells         integer NOT NULL DEFAULT 0,
  completed_cells       integer NOT NULL DEFAULT 0,
  failed_cells          integer NOT NULL DEFAULT 0,
  timeout_cells         integer NOT NULL DEFAULT 0,
  cancelled_cells       integer NOT NULL DEFAULT 0,
  min_regions_required  integer NOT NULL,
  min_success_rate      double precision NOT NULL,
  status                text NOT NULL DEFAULT 'queued'
                        CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
  provider_ids          text[] NOT NULL DEFAULT '{}',
  latest_error          text,
  started_at            timestamptz,
  completed_at          timestamptz,
  duration_ms           bigint,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE region_results (
  id                          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  cross_region_execution_id   uuid NOT NULL REFERENCES cross_region_executions (id) ON DELETE CASCADE,
  job_id                      text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  region                      text NOT NULL,
  total_cells                 integer NOT NULL,
  pending_cells               integer NOT NULL DEFAULT 0,
  running_cells               integer NOT NULL DEFAULT 0,
  completed_cells             integer NOT NULL DEFAULT 0,
  failed_cells                integer NOT NULL DEFAULT 0,
  timeout_cells               integer NOT NULL DEFAULT 0,
  cancelled_cells             integer NOT NULL DEFAULT 0,
  status                      text NOT NULL DEFAULT 'pending'
                              CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
  provider_ids                text[] NOT NULL DEFAULT '{}',
  latest_error                text,
  started_at                  timestamptz,
  completed_at                timestamptz,
  duration_ms                 bigint,
  updated_at                  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (job_id, region)
);

CREATE TABLE executions (
  id                          bigserial PRIMARY KEY,
  job_id                      text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  cross_region_execution_id   uuid REFERENCES cross_region_executions (id) ON DELETE SET NULL,
  region                      text NOT NULL,
  model_id                    text NOT NULL,
  question_id                 text NOT NULL,
  question_index              integer NOT NULL,
  run                         integer NOT NULL CHECK (run >= 0),
  provider_id                 text,
  provider_region             text,
  status                      text NOT NULL DEFAULT 'pending'
                              CHECK (status IN ('pending', 'running', 'completed', 'failed', 'timeout', 'cancelled')),
  -- The status before the last transition, set by the same UPDATE (the counters need it).
  previous_status             text
                              CHECK (previous_status IN ('pending', 'running', 'completed', 'failed', 'timeout', 'cancelled')),
  attempts                    integer NOT NULL DEFAULT 0,
  max_retries                 integer NOT NULL,
  retry_history               jsonb NOT NULL DEFAULT '[]',
  started_at                  timestamptz,
  completed_at                timestamptz,
  duration_ms                 bigint CHECK (duration_ms >= 0),
  output_data                 jsonb,
  receipt_data                jsonb,
  error_code                  text,
  error_message               text,
  response_classification     text NOT NULL DEFAULT 'unknown'
                              CHECK (response_classification IN
                                     ('unknown', 'substantive', 'content_refusal', 'deflection', 'technical_failure')),
  is_substantive              boolean NOT NULL DEFAULT false,
  is_content_refusal          boolean NOT NULL DEFAULT false,
  is_technical_error          boolean NOT NULL DEFAULT false,
  response_length             integer,
  system_prompt               text,
  created_at                  timestamptz NOT NULL DEFAULT now(),
  updated_at                  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (job_id, region, model_id, question_id, run),
  -- A terminal cell carries its provider (or an error code saying why there was none) and an explanation.
  CHECK (status NOT IN ('failed', 'timeout', 'cancelled') OR (error_code IS NOT NULL AND error_message IS NOT NULL)),
  CHECK (status <> 'completed' OR (output_data IS NOT NULL AND provider_id IS NOT NULL))
) WITH (fillfactor = 30);
-- Every cell is updated twice (running, then terminal). No index covers a column those updates
-- change and pages keep free space, so the updates are HOT (no index entries). Status reads use
-- the counters, not an index on status.
-- The REST layer lists a job's executions newest first; the runtime pages through one
-- question's open cells by id.
CREATE INDEX executions_job_id ON executions (job_id, id);
CREATE INDEX executions_job_question ON executions (job_id, question_index, id);

-- The status of a group of cells (a region, or a whole job's cells) from its counters.
CREATE FUNCTION beacon_rollup_status(pending integer, running integer, completed integer,
                                     failed integer, timeout integer, cancelled integer)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN pending + running > 0 THEN
      CASE WHEN running + completed + failed + timeout + cancelled > 0 THEN 'running' ELSE 'pending' END
    WHEN completed > 0 THEN 'completed'
    WHEN failed + timeout = 0 AND cancelled > 0 THEN 'cancelled'
    ELSE 'failed'
  END
$$;
