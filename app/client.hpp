// The command-line client of a running node, over its REST API and event stream:
//   beacon submit SPEC.json [--follow]   live progress bars per question until the verdict
//   beacon status ID                      counts by status per question, model and region
//   beacon cancel ID                      cancel and report what was cancelled
//   beacon jobs [--limit N]               the newest jobs
//   beacon export ID [--format csv|jsonl] [-o FILE]   every execution, streamed as it arrives
//   beacon report ID -o report.html       one self-contained HTML report of the job
// Exit codes: 0 success (a followed job completed), 1 the job failed or was cancelled or the
// node refused the request, 2 the node could not be reached.
#pragma once

#include <boost/json/value.hpp>
#include <functional>
#include <string>
#include <utility>

namespace beacon {

struct client_options {
  std::string node_url = "http://127.0.0.1:8787";
  std::string token;  // sent as "Authorization: Bearer" when set
};

int run_submit(const client_options& o, const std::string& spec_path, bool follow);

// GET `target` of the node: its status and JSON body (a non-JSON body as a string). Throws
// std::runtime_error when the node cannot be reached.
std::pair<unsigned, boost::json::value> node_get(const client_options& o,
                                                 const std::string& target);
int run_follow(const client_options& o, const std::string& job_id);
int run_status(const client_options& o, const std::string& job_id);
int run_cancel(const client_options& o, const std::string& job_id);
int run_jobs(const client_options& o, int limit);
// Writes the export to `output` (stdout when empty); a truncated download is exit code 1.
int run_export(const client_options& o, const std::string& job_id, const std::string& format,
               const std::string& output);
// Streams a job's export in `format` to `sink` as it arrives; 0, or 1 when the node refused or
// the download broke off (said on stderr). Throws when the node cannot be reached.
int stream_export(const client_options& o, const std::string& job_id, const std::string& format,
                  const std::function<void(const char*, size_t)>& sink);
// Writes the job's report (app/report.hpp) to `output`: its status, progress, analysis and every
// execution from the export.
int run_report(const client_options& o, const std::string& job_id, const std::string& output);

}  // namespace beacon
