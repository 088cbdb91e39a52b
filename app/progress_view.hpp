// Live progress in a terminal: one bar per question with completed/total, running and failed
// cells, redrawn in place on a TTY, a line per change elsewhere (the demo, `beacon submit
// --follow`).
#pragma once

#include <string>
#include <vector>

#include "messages/types.hpp"

namespace beacon {

// One line per question: a bar, completed/total, running and failed cells.
std::vector<std::string> progress_lines(const job_progress& p);

class progress_view {
 public:
  progress_view();
  void show(const job_progress& p);

 private:
  bool tty_;
  size_t drawn_ = 0;
  std::vector<std::string> last_;
};

}  // namespace beacon
