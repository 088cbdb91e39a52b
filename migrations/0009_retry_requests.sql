-- A person's retry sent to a node that does not run the job: recorded here for the node that
-- holds the job's lease, which takes it at its next heartbeat and reopens the cells itself (the
-- reopen deletes the request in its own transaction, so a request is carried out once even when
-- its taker dies: an untaken or lapsed request is taken again). execution_id 0: every failed cell.
CREATE TABLE retry_requests (
  job_id       text NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  execution_id bigint NOT NULL,
  requested_by text NOT NULL,
  requested_at timestamptz NOT NULL DEFAULT now(),
  taken_by     text,
  taken_at     timestamptz,
  PRIMARY KEY (job_id, execution_id)
);
