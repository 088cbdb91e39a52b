// Files compiled into the binary (web/* and docs/openapi.yaml, by CMake), so the node serves its
// page and API description from anywhere.
#pragma once

#include <map>
#include <string>

namespace beacon::http {

// Path relative to the repository -> contents.
const std::map<std::string, std::string>& embedded_files();

// The contents of one embedded file; throws std::out_of_range when it is not embedded.
inline const std::string& embedded_file(const std::string& path) {
  return embedded_files().at(path);
}

}  // namespace beacon::http
