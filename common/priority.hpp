// CPU scheduling priority: the bulk work (actor threads, the persistence backend) runs at a
// higher niceness than the REST threads, so status reads get a core while a big job saturates
// them. Failures (no permission) are reported, never fatal.
#pragma once

#include <sys/types.h>

namespace beacon {

// Sets the calling thread's niceness (Linux: per thread). False when not permitted.
bool set_thread_niceness(int nice);

// Sets another process's niceness (e.g. a PostgreSQL backend). False when not permitted.
bool set_process_niceness(pid_t pid, int nice);

}  // namespace beacon
