-- The transparency log (RFC 9162 hashing): one append-only Merkle log per signing key, so each
-- node of a cluster appends to its own log without waiting for the others (a node's receipts name
-- its key). The persistence actor appends the leaves of a batch's completed cells in the
-- transaction that stores them, and signs one tree head per batch. Leaves are the receipts'
-- SHA-256 (the leaf input); tiles keep the hashes of complete subtrees of 2^8, 2^16, ... leaves
-- so a proof reads at most a few hundred hashes per level instead of whole subtrees.
CREATE TABLE transparency_logs (
  log_id     serial PRIMARY KEY,
  key_id     text NOT NULL UNIQUE,
  public_key bytea NOT NULL,
  tree_size  bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- A leaf and the receipt it stands for (its canonical JSON, without the output, which the row
-- holds): the receipt lives here, once, instead of in the executions row.
CREATE TABLE log_leaves (
  log_id     integer NOT NULL REFERENCES transparency_logs (log_id),
  leaf_index bigint NOT NULL,
  leaf_data  bytea NOT NULL,
  receipt    text NOT NULL,
  PRIMARY KEY (log_id, leaf_index)
);
-- A receipt finds its leaf by its own SHA-256 (executions.receipt_leaf).
CREATE INDEX log_leaves_by_data ON log_leaves USING hash (leaf_data);

CREATE TABLE log_tiles (
  log_id     integer NOT NULL REFERENCES transparency_logs (log_id),
  level      smallint NOT NULL,
  tile_index bigint NOT NULL,
  hash       bytea NOT NULL,
  PRIMARY KEY (log_id, level, tile_index)
);

CREATE TABLE log_heads (
  log_id       integer NOT NULL REFERENCES transparency_logs (log_id),
  tree_size    bigint NOT NULL,
  root_hash    bytea NOT NULL,
  signed_at    text NOT NULL,
  signature    bytea NOT NULL,
  PRIMARY KEY (log_id, tree_size)
);

-- The receipt's leaf data (v1 receipts; NULL for v0 receipts and cells without one).
ALTER TABLE executions ADD COLUMN receipt_leaf bytea;

-- A cell's stored receipt: a v0 receipt in its row, or a v1 receipt with its leaf.
CREATE FUNCTION beacon_stored_receipt(receipt jsonb, leaf bytea) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT coalesce(receipt, (SELECT l.receipt::jsonb FROM log_leaves l WHERE l.leaf_data = leaf
                             ORDER BY l.leaf_index LIMIT 1))
$$;
