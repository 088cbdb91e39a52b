// Termination signals via sigwait.
#include "app/signals.hpp"

#include <pthread.h>

#include <csignal>
#include <ctime>

namespace beacon::signals {
namespace {
sigset_t termination_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}
}  // namespace

void block_termination() {
  auto set = termination_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_for_termination() {
  auto set = termination_set();
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

bool termination_requested() {
  auto set = termination_set();
  timespec zero{0, 0};
  return sigtimedwait(&set, nullptr, &zero) > 0;
}

}  // namespace beacon::signals
