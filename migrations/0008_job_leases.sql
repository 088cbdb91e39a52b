-- Job ownership between nodes sharing one database. A node runs a job only while it holds the
-- job's lease: a row with the owner's node id, an expiry its heartbeats push forward, and a
-- fencing token from a sequence that grows with every take-over. The persistence actor writes a
-- job's cells only while the stored token is the one it holds (the row locked FOR SHARE in the
-- writing transaction), so a node that was paused or cut off past its expiry writes nothing.
CREATE SEQUENCE job_lease_tokens;

CREATE TABLE job_leases (
  job_id     text PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
  node_id    text NOT NULL,
  token      bigint NOT NULL,
  expires_at timestamptz NOT NULL,
  taken_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX job_leases_by_node ON job_leases (node_id);
