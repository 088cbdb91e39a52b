// SIGINT/SIGTERM handling for the node: blocked in every thread at start-up, then waited for.
#pragma once

namespace beacon::signals {

// Call first in main(), before any thread starts, so no thread is interrupted by them.
void block_termination();
// Waits until SIGINT or SIGTERM arrives; returns the signal number.
int wait_for_termination();
// True when SIGINT or SIGTERM is pending (consumes it).
bool termination_requested();

}  // namespace beacon::signals
