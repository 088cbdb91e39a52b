// Every atom the actors exchange, in one place to grep. Atoms are at most 10 characters (CAF 0.17).
#pragma once

#include "caf/atom.hpp"

namespace beacon::atom {

using claim = caf::atom_constant<caf::atom("claim")>;    // mark a cell running (persistence)
using record = caf::atom_constant<caf::atom("record")>;  // write a terminal cell outcome
using load = caf::atom_constant<caf::atom("load")>;      // read a question's cells
using start = caf::atom_constant<caf::atom("start")>;    // start (or resume) a job
using finish = caf::atom_constant<caf::atom("finish")>;  // decide and write a job's final status
using abort = caf::atom_constant<caf::atom("abort")>;    // end every open cell of a job
using resumable =
    caf::atom_constant<caf::atom("resumable")>;              // list jobs to resume after a restart
using flush = caf::atom_constant<caf::atom("flush")>;        // persistence: write the buffer now
using run = caf::atom_constant<caf::atom("run")>;            // begin work (supervisor, batch, cell)
using cancel = caf::atom_constant<caf::atom("cancel")>;      // cancel a job
using deadline = caf::atom_constant<caf::atom("deadline")>;  // a job ran out of time
using retry = caf::atom_constant<caf::atom("retry")>;        // a backoff timer fired
using persist = caf::atom_constant<caf::atom("persist")>;    // (re)send an outcome to persistence
using restart = caf::atom_constant<caf::atom("restart")>;    // respawn a crashed child
using complete = caf::atom_constant<caf::atom("complete")>;  // ask a provider for a completion
using deliver = caf::atom_constant<caf::atom("deliver")>;    // a simulated latency elapsed
using route = caf::atom_constant<caf::atom("route")>;        // pick the provider for region+model
using seed = caf::atom_constant<caf::atom("seed")>;          // progress: initial counts of a job
using update = caf::atom_constant<caf::atom("update")>;      // progress: committed transitions
using job_state = caf::atom_constant<caf::atom("job_state")>;  // progress: a job changed status
using get = caf::atom_constant<caf::atom("get")>;              // read state (progress, jobs)
using resume = caf::atom_constant<caf::atom("resume")>;  // resume unfinished jobs from storage
using http_done = caf::atom_constant<caf::atom("http_done")>;  // an HTTP transfer finished
using probe = caf::atom_constant<caf::atom("probe")>;    // a provider health check (tick or result)
using report = caf::atom_constant<caf::atom("report")>;  // a provider sends its status now
using half_open = caf::atom_constant<caf::atom("half_open")>;  // a circuit's cool-down ended
using subscribe = caf::atom_constant<caf::atom("subscribe")>;  // follow a job's event stream
using ping = caf::atom_constant<caf::atom("ping")>;            // an event stream's keep-alive
using analyze = caf::atom_constant<caf::atom("analyze")>;  // compute a job's cross-region analysis
using admit = caf::atom_constant<caf::atom("admit")>;      // store an admitted job
using reopen = caf::atom_constant<caf::atom("reopen")>;    // a person's retry of failed cells

}  // namespace beacon::atom
