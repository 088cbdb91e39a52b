// JSON of the transparency log for the routes that serve it: a log's identity, a receipt's
// transparency block (its leaf, the first signed head that includes it and the inclusion proof
// against that head), and the rules a verifier applies.
#pragma once

#include <boost/json/object.hpp>
#include <pqxx/transaction>

#include "storage/transparency_store.hpp"

namespace beacon::http {

// {key_id, public_key, tree_size}
boost::json::object log_json(const storage::log_info& log);

// {key_id, public_key, leaf_index, leaf_hash, audit_path, tree_head}: what verify_receipt needs
// to check a v1 receipt offline. `tree` is the position's log (its cache serves many rows).
boost::json::object receipt_transparency(pqxx::transaction_base& tx, storage::log_tree& tree,
                                         const storage::leaf_position& pos);

// How the log is built and signed, for a verifier.
boost::json::object transparency_rules();

}  // namespace beacon::http
