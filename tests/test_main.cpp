// The test binary's main: CAF's runner, with the node's logger at warning level.
#define CAF_TEST_NO_MAIN
#include "caf/test/unit_test_impl.hpp"
#include "common/logging.hpp"

int main(int argc, char** argv) {
  beacon::logging::init(beacon::logging::format::human, spdlog::level::warn);
  return caf::test::main(argc, argv);
}
