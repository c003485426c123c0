// Interop with SIPp through the real binary: bench/interop_sipp.sh runs a
// SIPp UAC and a SIPp UAS on loopback with sipshard (stateful route,
// record_route = true) in between, and exits 0 only when every call
// succeeded. Skipped where `sipp` (Debian's sip-tester) is not installed.
#include <sys/wait.h>

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

namespace sipshard::testing {
namespace {

// The sipshard binary of this build: <build>/sipshard, next to tests/.
std::string SipshardBinary() {
  char path[4096];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) return "build/sipshard";
  std::string self(path, static_cast<size_t>(n));
  self = self.substr(0, self.rfind('/'));  // <build>/tests
  return self.substr(0, self.rfind('/')) + "/sipshard";
}

TEST(SippInteropTest, TwoHundredCallsThroughAStatefulRecordRoutingRoute) {
  if (std::system("command -v sipp >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "sipp not installed (tools/install-deps.sh installs sip-tester)";
  }
  const std::string command = std::string(SIPSHARD_SOURCE_DIR) +
                              "/bench/interop_sipp.sh --calls 200 --rate 50 --sipshard " +
                              SipshardBinary() + " > /dev/null 2>&1";
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "run `" << command.substr(0, command.find(" >"))
                                    << "` to see SIPp's verdict";
}

}  // namespace
}  // namespace sipshard::testing
