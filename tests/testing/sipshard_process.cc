#include "tests/testing/sipshard_process.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"
#include "tests/testing/udp_peer.h"

#ifndef SIPSHARD_BINARY
#define SIPSHARD_BINARY "sipshard"
#endif

namespace sipshard::testing {
namespace {

uint64_t NumberAfter(std::string_view text, size_t pos) {
  uint64_t v = 0;
  while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') v = v * 10 + static_cast<uint64_t>(text[pos++] - '0');
  return v;
}

std::string ProbeRequest(const transport::SocketAddress& listen, const transport::SocketAddress& from,
                         int n) {
  std::string host = listen.is_ipv6() ? "[" + listen.HostString() + "]" : listen.HostString();
  std::string from_host = from.is_ipv6() ? "[" + from.HostString() + "]" : from.HostString();
  return "OPTIONS sip:" + host + ":" + std::to_string(listen.port()) + " SIP/2.0\r\n" +
         "Via: SIP/2.0/UDP " + from_host + ":" + std::to_string(from.port()) +
         ";branch=z9hG4bKprobe" + std::to_string(n) + "\r\n" +
         "From: <sip:probe@test>;tag=p\r\nTo: <sip:" + host + ">\r\nCall-ID: probe-" +
         std::to_string(n) + "\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
}

}  // namespace

std::unique_ptr<SipshardProcess> SipshardProcess::Start(std::string_view config_toml,
                                                        const transport::SocketAddress& listen) {
  std::unique_ptr<SipshardProcess> process(new SipshardProcess());
  char dir_template[] = "/tmp/sipshard-test-XXXXXX";
  process->dir_ = mkdtemp(dir_template);
  const std::string config_path = process->dir_ + "/sipshard.toml";
  process->stats_path_ = process->dir_ + "/stats.json";
  std::ofstream(config_path) << config_toml;

  process->pid_ = fork();
  if (process->pid_ == 0) {
    const std::string log_path = process->dir_ + "/sipshard.log";
    freopen(log_path.c_str(), "w", stderr);
    execl(SIPSHARD_BINARY, SIPSHARD_BINARY, "--config", config_path.c_str(), "--stats-file",
          process->stats_path_.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  UdpPeer probe(listen.is_ipv6() ? "::1" : "127.0.0.1", 0);
  for (int attempt = 0; attempt < 50; ++attempt) {
    probe.SendTo(ProbeRequest(listen, probe.address(), attempt), listen);
    if (std::optional<ReceivedMessage> reply = probe.Receive(100)) {
      if (FirstLine(reply->bytes) == "SIP/2.0 200 OK") {
        probe.Drain(50);
        return process;
      }
    }
    int status;
    if (waitpid(process->pid_, &status, WNOHANG) == process->pid_) {
      process->pid_ = -1;
      break;
    }
  }
  std::ifstream log(process->dir_ + "/sipshard.log");
  std::stringstream text;
  text << log.rdbuf();
  ADD_FAILURE() << "sipshard did not come up; its log:\n" << text.str();
  return nullptr;
}

SipshardProcess::~SipshardProcess() {
  if (pid_ > 0) Stop(SIGKILL, 2000);
  if (!dir_.empty()) std::system(("rm -rf " + dir_).c_str());
}

std::string SipshardProcess::ReadStatsFile() const {
  std::ifstream in(stats_path_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string SipshardProcess::DumpStats() {
  struct stat before{};
  const bool existed = stat(stats_path_.c_str(), &before) == 0;
  kill(pid_, SIGUSR1);
  for (int i = 0; i < 200; ++i) {
    struct stat now{};
    if (stat(stats_path_.c_str(), &now) == 0 &&
        (!existed || now.st_mtim.tv_nsec != before.st_mtim.tv_nsec ||
         now.st_mtim.tv_sec != before.st_mtim.tv_sec || now.st_ino != before.st_ino)) {
      return ReadStatsFile();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ADD_FAILURE() << "no stats dump after SIGUSR1";
  return {};
}

int SipshardProcess::Stop(int signal, int timeout_ms) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  for (int waited = 0; waited < timeout_ms; waited += 10) {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  return -1;
}

std::string SipshardProcess::FinalStats() const { return ReadStatsFile(); }

uint64_t TotalCounter(std::string_view stats, std::string_view name) {
  const size_t totals = stats.find("\"totals\":{");
  if (totals == std::string_view::npos) return 0;
  const std::string key = "\"" + std::string(name) + "\":";
  const size_t pos = stats.find(key, totals);
  return pos == std::string_view::npos ? 0 : NumberAfter(stats, pos + key.size());
}

bool WaitForCounter(SipshardProcess& proxy, std::string_view name, uint64_t at_least,
                    int timeout_ms) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    if (TotalCounter(proxy.DumpStats(), name) >= at_least) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::vector<uint64_t> ShardCounter(std::string_view stats, std::string_view name) {
  std::vector<uint64_t> out;
  const size_t begin = stats.find("\"shards\":[");
  const size_t end = stats.find("\"receive_threads\":[");
  const std::string key = "\"" + std::string(name) + "\":";
  for (size_t pos = stats.find(key, begin); pos != std::string_view::npos && pos < end;
       pos = stats.find(key, pos + 1)) {
    out.push_back(NumberAfter(stats, pos + key.size()));
  }
  return out;
}

uint64_t ParseErrorCount(std::string_view stats, std::string_view error_name) {
  uint64_t sum = 0;
  for (uint64_t v : ShardCounter(stats, error_name)) sum += v;
  return sum;
}

uint16_t FreeUdpPort(std::string_view host) {
  UdpPeer peer(host, 0);
  return peer.address().port();
}

}  // namespace sipshard::testing
