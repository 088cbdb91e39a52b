// Every atom the actors exchange, in one CAF type-ID block: one place to grep. CAF_ADD_ATOM gives
// `atom::x` and `atom::x_v`; atoms are at most 10 characters (CAF 0.17).
#pragma once

#include "caf/atom.hpp"
#include "caf/type_id.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(beacon, caf::first_custom_type_id)

// Mark a cell running (persistence).
CAF_ADD_ATOM(beacon, beacon::atom, claim, "claim")
// Record a cell's next attempt before its call.
CAF_ADD_ATOM(beacon, beacon::atom, attempt, "attempt")
// Write a terminal cell outcome.
CAF_ADD_ATOM(beacon, beacon::atom, record, "record")
// Read a question's cells.
CAF_ADD_ATOM(beacon, beacon::atom, load, "load")
// Start (or resume) a job.
CAF_ADD_ATOM(beacon, beacon::atom, start, "start")
// Decide and write a job's final status.
CAF_ADD_ATOM(beacon, beacon::atom, finish, "finish")
// End every open cell of a job.
CAF_ADD_ATOM(beacon, beacon::atom, abort, "abort")
// List jobs to resume after a restart.
CAF_ADD_ATOM(beacon, beacon::atom, resumable, "resumable")
// Persistence: write the buffer now.
CAF_ADD_ATOM(beacon, beacon::atom, flush, "flush")
// Begin work (supervisor, batch, cell).
CAF_ADD_ATOM(beacon, beacon::atom, run, "run")
// Cancel a job.
CAF_ADD_ATOM(beacon, beacon::atom, cancel, "cancel")
// A job ran out of time.
CAF_ADD_ATOM(beacon, beacon::atom, deadline, "deadline")
// A backoff timer fired.
CAF_ADD_ATOM(beacon, beacon::atom, retry, "retry")
// (re)send an outcome to persistence.
CAF_ADD_ATOM(beacon, beacon::atom, persist, "persist")
// An execution made its last provider call: its outcome is on its way to storage.
CAF_ADD_ATOM(beacon, beacon::atom, answered, "answered")
// Respawn a crashed child.
CAF_ADD_ATOM(beacon, beacon::atom, restart, "restart")
// Ask a provider for a completion.
CAF_ADD_ATOM(beacon, beacon::atom, complete, "complete")
// A simulated latency elapsed.
CAF_ADD_ATOM(beacon, beacon::atom, deliver, "deliver")
// Pick the provider for region+model.
CAF_ADD_ATOM(beacon, beacon::atom, route, "route")
// A page of a job's counts, read from storage.
CAF_ADD_ATOM(beacon, beacon::atom, progress, "progress")
// Progress: initial counts of a job.
CAF_ADD_ATOM(beacon, beacon::atom, seed, "seed")
// Progress: committed transitions.
CAF_ADD_ATOM(beacon, beacon::atom, update, "update")
// Progress: a job changed status.
CAF_ADD_ATOM(beacon, beacon::atom, job_state, "job_state")
// Read state (progress, jobs).
CAF_ADD_ATOM(beacon, beacon::atom, get, "get")
// Resume unfinished jobs from storage.
CAF_ADD_ATOM(beacon, beacon::atom, resume, "resume")
// An HTTP transfer finished.
CAF_ADD_ATOM(beacon, beacon::atom, http_done, "http_done")
// A provider health check (tick or result).
CAF_ADD_ATOM(beacon, beacon::atom, probe, "probe")
// A provider sends its status now.
CAF_ADD_ATOM(beacon, beacon::atom, report, "report")
// A circuit's cool-down ended.
CAF_ADD_ATOM(beacon, beacon::atom, half_open, "half_open")
// Follow a job's event stream.
CAF_ADD_ATOM(beacon, beacon::atom, subscribe, "subscribe")
// An event stream's keep-alive; a liveness probe of an actor.
CAF_ADD_ATOM(beacon, beacon::atom, ping, "ping")
// Compute a job's cross-region analysis.
CAF_ADD_ATOM(beacon, beacon::atom, analyze, "analyze")
// Store an admitted job.
CAF_ADD_ATOM(beacon, beacon::atom, admit, "admit")
// A person's retry of failed cells.
CAF_ADD_ATOM(beacon, beacon::atom, reopen, "reopen")
// Take a job's lease (lease keeper); a lease taken over from another node (job manager).
CAF_ADD_ATOM(beacon, beacon::atom, lease, "lease")
// Give a job's lease up.
CAF_ADD_ATOM(beacon, beacon::atom, release, "release")
// This node lost a job's lease to another node.
CAF_ADD_ATOM(beacon, beacon::atom, lost, "lost")
// Renew this node's leases and look for lapsed ones.
CAF_ADD_ATOM(beacon, beacon::atom, heartbeat, "heartbeat")
// Let every lease of this node lapse (a clean stop).
CAF_ADD_ATOM(beacon, beacon::atom, lapse, "lapse")

CAF_END_TYPE_ID_BLOCK(beacon)
