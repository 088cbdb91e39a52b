-- When a person asked to cancel the job. Written with the first page of cells it ends, so a
-- node that stops mid-cancel (or a supervisor restarted mid-cancel) finishes the cancel on resume
-- instead of running the rest of the job.
ALTER TABLE jobs ADD COLUMN cancel_requested_at timestamptz;
