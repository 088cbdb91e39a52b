// Terminal progress bars.
#include "app/progress_view.hpp"

#include <unistd.h>

#include <cstdio>

#include "domain/status.hpp"

namespace beacon {
namespace {

constexpr size_t completed_i = index_of(cell_status::completed);
constexpr size_t running_i = index_of(cell_status::running);

std::string bar(int32_t done, int32_t total, int width = 24) {
  int filled = total > 0 ? static_cast<int>(static_cast<int64_t>(done) * width / total) : 0;
  return std::string(filled, '#') + std::string(width - filled, '-');
}

int32_t failures(const question_progress& q) {
  return q.counts[index_of(cell_status::failed)] + q.counts[index_of(cell_status::timeout)] +
         q.counts[index_of(cell_status::cancelled)];
}

}  // namespace

std::vector<std::string> progress_lines(const job_progress& p) {
  std::vector<std::string> lines;
  for (auto& q : p.questions) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "  %-20s [%s] %3d/%-3d running %-3d failed %d",
                  q.question_id.c_str(),
                  bar(q.counts[completed_i] + failures(q), q.total()).c_str(),
                  q.counts[completed_i], q.total(), q.counts[running_i], failures(q));
    lines.push_back(buf);
  }
  return lines;
}

progress_view::progress_view() : tty_(isatty(STDOUT_FILENO) != 0) {}

void progress_view::show(const job_progress& p) {
  auto lines = progress_lines(p);
  if (tty_) {
    if (drawn_ > 0) std::printf("\033[%zuA", drawn_);
    for (auto& l : lines) std::printf("\r%s\033[K\n", l.c_str());
    drawn_ = lines.size();
  } else {
    for (size_t i = 0; i < lines.size(); ++i)
      if (i >= last_.size() || last_[i] != lines[i]) std::printf("%s\n", lines[i].c_str());
    last_ = lines;
  }
  std::fflush(stdout);
}

}  // namespace beacon
