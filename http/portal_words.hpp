// The words the original portal reads, where they differ from the stored vocabulary
// (domain/status.hpp): its live page shows "Executing questions…" for a job `processing` and no
// stage at all for `running`, so the portal-facing job status (GET /api/v1/jobs/{id}) says
// `processing` for a running job. Every other status is the same word; the progress route, the
// event stream and the CLI keep the stored words, and the job read carries the stored word too.
#pragma once

#include <cctype>
#include <string>
#include <string_view>

#include "domain/status.hpp"

namespace beacon::http {

constexpr std::string_view portal_job_status(job_status stored) {
  return stored == job_status::running ? std::string_view("processing") : to_string(stored);
}

// The lower-case region key the portal's heat map looks up (US -> us, ASIA -> asia).
inline std::string portal_region_key(std::string_view region) {
  std::string out(region);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace beacon::http
