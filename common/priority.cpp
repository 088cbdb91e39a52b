// setpriority wrappers.
#include "common/priority.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace beacon {

bool set_thread_niceness(int nice) {
  auto tid = static_cast<id_t>(syscall(SYS_gettid));
  return setpriority(PRIO_PROCESS, tid, nice) == 0;
}

bool set_process_niceness(pid_t pid, int nice) {
  return setpriority(PRIO_PROCESS, static_cast<id_t>(pid), nice) == 0;
}

}  // namespace beacon
