// sipshard-udp-bench: a small, fast SIP-over-UDP client and backend for
// measuring stateless forwarding through a running sipshard.
//
// One process, two roles in two threads:
//   backend (UAS)  binds --backend HOST:PORT and answers every request but
//                  ACK with "200 OK" (Vias in order, From, To;tag=b, Call-ID,
//                  CSeq, Content-Length: 0), batched with recvmmsg/sendmmsg.
//   client  (UAC)  sends OPTIONS or a ~900-byte INVITE with SDP to --proxy,
//                  each with its own Call-ID and branch (a sequence number is
//                  embedded in both), either paced at --rate msgs/s or as fast
//                  as a --window of outstanding transactions allows; matches
//                  the responses by Call-ID, counts answered and lost
//                  transactions and keeps a latency histogram.
//
// With --proxy-pid it samples the proxy's CPU (per thread, from
// /proc/PID/task/*/schedstat, falling back to utime+stime) and its context
// switches at the start and end of the measured interval, and reports CPU
// per forwarded message. One answered transaction is two forwarded messages
// (the request and the response) and four datagrams through the proxy.
// With --proxy-stats FILE as well (the daemon's --stats-file), it asks the
// proxy for counters (SIGUSR1) around the interval and reports wake-ups.
//
// Loopback benchmarking only: IPv4, numeric addresses. Every loop is bounded
// in time; the process exits by itself. Example:
//   sipshard-udp-bench --proxy 127.0.0.1:5060 --backend 127.0.0.1:5071
//       --rate 1000 --duration 10 --proxy-pid $(pidof sipshard)
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "sipshard/sip/call_id_scan.h"

namespace sipshard::tools {
namespace {

constexpr std::string_view kUsage =
    "Usage: sipshard-udp-bench [options]\n"
    "\n"
    "Roles (--role both|client|backend, default both):\n"
    "  --proxy HOST:PORT      where the client sends requests (the proxy)\n"
    "  --backend HOST:PORT    where the backend listens (answers 200 OK)\n"
    "Load:\n"
    "  --message options|invite  request kind (default options; invite ~900 B + SDP)\n"
    "  --rate N               paced load of N requests/s\n"
    "  --window N             or: as fast as possible, N transactions outstanding\n"
    "                         (default when no --rate: --window 64)\n"
    "  --duration S           measured seconds (default 10, at most 60)\n"
    "  --count N              stop after N measured requests (within --duration)\n"
    "  --warmup S             seconds of load before measuring (default 1, at most 10)\n"
    "  --timeout-ms N         a transaction unanswered this long is lost (default 1000)\n"
    "Measurement:\n"
    "  --proxy-pid PID        sample the proxy's CPU and context switches\n"
    "  --proxy-stats FILE     the proxy's --stats-file: SIGUSR1 it for counters\n"
    "  --json                 print one JSON object instead of the table\n"
    "Helpers:\n"
    "  --print-free-ports N   print N free UDP ports on 127.0.0.1 and exit\n";

constexpr int kBatch = 64;             // datagrams per recvmmsg/sendmmsg
constexpr size_t kBufferSize = 4096;   // per datagram; our messages are < 2 KiB
constexpr size_t kRingSize = 1 << 20;  // outstanding-transaction slots (power of 2)
constexpr double kMaxDurationS = 60;
constexpr double kMaxWarmupS = 10;
constexpr int64_t kReadyTimeoutNs = 5'000'000'000;
constexpr int kSocketBufferBytes = 4 << 20;

__extension__ using Int128 = __int128;

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// ---- options -----------------------------------------------------------------

enum class Role { kBoth, kClient, kBackend };
enum class MessageKind { kOptions, kInvite };

struct Options {
  Role role = Role::kBoth;
  std::optional<sockaddr_in> proxy;
  std::optional<sockaddr_in> backend;
  MessageKind message = MessageKind::kOptions;
  uint64_t rate = 0;  // 0: window mode
  uint64_t window = 64;
  double duration_s = 10;
  uint64_t count = 0;  // 0: unbounded (duration only)
  double warmup_s = 1;
  int64_t timeout_ms = 1000;
  pid_t proxy_pid = 0;
  std::string proxy_stats;
  bool json = false;
  int print_free_ports = 0;
};

std::optional<sockaddr_in> ParseHostPort(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string host(text.substr(0, colon));
  const std::string port(text.substr(colon + 1));
  char* end = nullptr;
  const unsigned long value = std::strtoul(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || value > 65535) return std::nullopt;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(value));
  if (inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) return std::nullopt;
  return address;
}

bool ParseNumber(const char* text, double min, double max, double* out) {
  char* end = nullptr;
  const double value = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(value >= min && value <= max)) return false;
  *out = value;
  return true;
}

// Returns 0 on success, 1 on a usage error, -1 when --help was printed.
int ParseArgs(int argc, char** argv, Options* options) {
  bool window_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage.data(), stdout);
      return -1;
    }
    if (arg == "--json") {
      options->json = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "sipshard-udp-bench: %s needs a value\n%s", argv[i], kUsage.data());
      return 1;
    }
    const char* value = argv[++i];
    double number = 0;
    bool ok = true;
    if (arg == "--role") {
      const std::string_view v = value;
      ok = v == "both" || v == "client" || v == "backend";
      options->role = v == "client" ? Role::kClient : v == "backend" ? Role::kBackend : Role::kBoth;
    } else if (arg == "--proxy") {
      options->proxy = ParseHostPort(value);
      ok = options->proxy.has_value();
    } else if (arg == "--backend") {
      options->backend = ParseHostPort(value);
      ok = options->backend.has_value();
    } else if (arg == "--message") {
      const std::string_view v = value;
      ok = v == "options" || v == "invite";
      options->message = v == "invite" ? MessageKind::kInvite : MessageKind::kOptions;
    } else if (arg == "--rate") {
      ok = ParseNumber(value, 1, 10'000'000, &number);
      options->rate = static_cast<uint64_t>(number);
    } else if (arg == "--window") {
      ok = ParseNumber(value, 1, kRingSize / 2, &number);
      options->window = static_cast<uint64_t>(number);
      window_given = true;
    } else if (arg == "--duration") {
      ok = ParseNumber(value, 0.1, kMaxDurationS, &options->duration_s);
    } else if (arg == "--count") {
      ok = ParseNumber(value, 1, 1e12, &number);
      options->count = static_cast<uint64_t>(number);
    } else if (arg == "--warmup") {
      ok = ParseNumber(value, 0, kMaxWarmupS, &options->warmup_s);
    } else if (arg == "--timeout-ms") {
      ok = ParseNumber(value, 10, 10'000, &number);
      options->timeout_ms = static_cast<int64_t>(number);
    } else if (arg == "--proxy-pid") {
      ok = ParseNumber(value, 1, 1 << 30, &number);
      options->proxy_pid = static_cast<pid_t>(number);
    } else if (arg == "--proxy-stats") {
      options->proxy_stats = value;
    } else if (arg == "--print-free-ports") {
      ok = ParseNumber(value, 1, 16, &number);
      options->print_free_ports = static_cast<int>(number);
    } else {
      std::fprintf(stderr, "sipshard-udp-bench: unknown option %s\n%s", argv[i - 1], kUsage.data());
      return 1;
    }
    if (!ok) {
      std::fprintf(stderr, "sipshard-udp-bench: bad value for %s: %s\n", argv[i - 1], value);
      return 1;
    }
  }
  if (options->print_free_ports > 0) return 0;
  if (options->rate > 0 && window_given) {
    std::fprintf(stderr, "sipshard-udp-bench: --rate and --window exclude each other\n");
    return 1;
  }
  if (options->role != Role::kBackend && !options->proxy) {
    std::fprintf(stderr, "sipshard-udp-bench: the client needs --proxy HOST:PORT\n");
    return 1;
  }
  if (options->role != Role::kClient && !options->backend) {
    std::fprintf(stderr, "sipshard-udp-bench: the backend needs --backend HOST:PORT\n");
    return 1;
  }
  if (!options->proxy_stats.empty() && options->proxy_pid == 0) {
    std::fprintf(stderr, "sipshard-udp-bench: --proxy-stats needs --proxy-pid\n");
    return 1;
  }
  return 0;
}

// ---- sockets -----------------------------------------------------------------

int OpenUdpSocket(const sockaddr_in& bind_to) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  // Best effort: the kernel caps these at net.core.[rw]mem_max.
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kSocketBufferBytes, sizeof kSocketBufferBytes);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSocketBufferBytes, sizeof kSocketBufferBytes);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&bind_to), sizeof bind_to) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

uint16_t BoundPort(int fd) {
  sockaddr_in bound{};
  socklen_t length = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  return ntohs(bound.sin_port);
}

std::string AddressText(const sockaddr_in& address) {
  char host[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &address.sin_addr, host, sizeof host);
  return std::string(host) + ":" + std::to_string(ntohs(address.sin_port));
}

// Waits for `fd` to become readable, at most `timeout_ns`.
void WaitReadable(int fd, int64_t timeout_ns) {
  timeout_ns = std::clamp<int64_t>(timeout_ns, 0, 100'000'000);
  pollfd p{fd, POLLIN, 0};
  const timespec ts{static_cast<time_t>(timeout_ns / 1'000'000'000),
                    static_cast<long>(timeout_ns % 1'000'000'000)};
  ppoll(&p, 1, &ts, nullptr);
}

// recvmmsg/sendmmsg buffers for one batch.
struct MessageBatch {
  MessageBatch() : storage(kBatch * kBufferSize) {
    for (int i = 0; i < kBatch; ++i) {
      iov[i] = iovec{storage.data() + i * kBufferSize, kBufferSize};
      headers[i] = mmsghdr{};
      headers[i].msg_hdr.msg_iov = &iov[i];
      headers[i].msg_hdr.msg_iovlen = 1;
      headers[i].msg_hdr.msg_name = &peers[i];
      headers[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
    }
  }
  char* buffer(int i) { return storage.data() + i * kBufferSize; }
  // Re-arms entry i for receiving (recvmmsg shrinks lengths).
  void ArmReceive(int i) {
    iov[i].iov_len = kBufferSize;
    headers[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
  }

  std::vector<char> storage;
  std::array<iovec, kBatch> iov{};
  std::array<mmsghdr, kBatch> headers{};
  std::array<sockaddr_in, kBatch> peers{};
};

// ---- SIP text helpers ----------------------------------------------------------

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Appends to a fixed buffer; remembers overflow instead of writing past it.
class Writer {
 public:
  Writer(char* out, size_t capacity) : out_(out), capacity_(capacity) {}
  void Append(std::string_view s) {
    if (size_ + s.size() > capacity_) {
      overflow_ = true;
      return;
    }
    std::memcpy(out_ + size_, s.data(), s.size());
    size_ += s.size();
  }
  size_t size() const { return overflow_ ? 0 : size_; }

 private:
  char* out_;
  size_t capacity_;
  size_t size_ = 0;
  bool overflow_ = false;
};

// Writes the backend's "200 OK" for `request` into `out`. Returns its size,
// or 0 when no answer is due (a response, an ACK, or no header section).
size_t BuildOk(std::string_view request, char* out, size_t capacity) {
  if (request.substr(0, 4) == "SIP/" || request.substr(0, 4) == "ACK ") return 0;
  constexpr int kMaxVias = 16;
  std::array<std::string_view, kMaxVias> vias;
  int via_count = 0;
  std::string_view from, to, call_id, cseq;
  size_t pos = request.find('\n');
  bool complete = false;
  while (pos != std::string_view::npos && pos + 1 < request.size()) {
    const size_t start = pos + 1;
    size_t end = request.find('\n', start);
    if (end == std::string_view::npos) end = request.size();
    const std::string_view line = request.substr(start, end - start);
    pos = end < request.size() ? end : std::string_view::npos;
    if (Trim(line).empty()) {
      complete = true;
      break;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || line[0] == ' ' || line[0] == '\t') continue;
    const std::string_view name = Trim(line.substr(0, colon));
    const std::string_view value = Trim(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "via") || EqualsIgnoreCase(name, "v")) {
      if (via_count < kMaxVias) vias[via_count++] = value;
    } else if (EqualsIgnoreCase(name, "from") || EqualsIgnoreCase(name, "f")) {
      from = value;
    } else if (EqualsIgnoreCase(name, "to") || EqualsIgnoreCase(name, "t")) {
      to = value;
    } else if (EqualsIgnoreCase(name, "call-id") || EqualsIgnoreCase(name, "i")) {
      call_id = value;
    } else if (EqualsIgnoreCase(name, "cseq")) {
      cseq = value;
    }
  }
  if (!complete || via_count == 0) return 0;
  Writer w(out, capacity);
  w.Append("SIP/2.0 200 OK\r\n");
  for (int i = 0; i < via_count; ++i) {
    w.Append("Via: ");
    w.Append(vias[i]);
    w.Append("\r\n");
  }
  w.Append("From: ");
  w.Append(from);
  w.Append("\r\nTo: ");
  w.Append(to);
  w.Append(";tag=b\r\nCall-ID: ");
  w.Append(call_id);
  w.Append("\r\nCSeq: ");
  w.Append(cseq);
  w.Append("\r\nContent-Length: 0\r\n\r\n");
  return w.size();
}

// Replaces "\n" by "\r\n".
std::string Crlf(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out.push_back('\r');
    out.push_back(c);
  }
  return out;
}

constexpr std::string_view kSeqMarker = "################";  // 16 hex digits go here

// Builds the request text with kSeqMarker where the sequence number goes.
std::string RequestTemplate(MessageKind kind, const std::string& client, const std::string& run) {
  const std::string seq(kSeqMarker);
  // clang-format off
  if (kind == MessageKind::kOptions) {
    return Crlf(
        "OPTIONS sip:bench@example.com SIP/2.0\n"
        "Via: SIP/2.0/UDP " + client + ";branch=z9hG4bKub" + seq + ";rport\n"
        "Max-Forwards: 70\n"
        "From: <sip:uac@bench.invalid>;tag=" + run + "\n"
        "To: <sip:bench@example.com>\n"
        "Call-ID: ub" + run + "-" + seq + "@bench\n"
        "CSeq: 1 OPTIONS\n"
        "Accept: application/sdp\n"
        "Content-Length: 0\n"
        "\n");
  }
  // A carrier-trunk INVITE as in tests/testing/sip_messages.h (TypicalInvite),
  // with our own address as the top Via.
  const std::string sdp = Crlf(
      "v=0\n"
      "o=alice 2890844526 2890844526 IN IP4 192.0.2.101\n"
      "s=-\n"
      "c=IN IP4 192.0.2.101\n"
      "t=0 0\n"
      "m=audio 49172 RTP/AVP 0 8 101\n"
      "a=rtpmap:0 PCMU/8000\n"
      "a=rtpmap:8 PCMA/8000\n"
      "a=rtpmap:101 telephone-event/8000\n"
      "a=fmtp:101 0-16\n"
      "a=ptime:20\n"
      "a=sendrecv\n");
  const std::string head = Crlf(
      "INVITE sip:+15551234567@pbx.example.com;user=phone SIP/2.0\n"
      "Via: SIP/2.0/UDP " + client + ";branch=z9hG4bKub" + seq + ";rport\n"
      "Via: SIP/2.0/UDP 198.51.100.7:5060;received=198.51.100.7;branch=z9hG4bKnashds8\n"
      "Max-Forwards: 69\n"
      "Record-Route: <sip:198.51.100.7;lr>\n"
      "From: \"Alice Caller\" <sip:+15557654321@carrier.example.net>;tag=" + run + "\n"
      "To: <sip:+15551234567@pbx.example.com;user=phone>\n"
      "Call-ID: ub" + run + "-" + seq + "@bench\n"
      "CSeq: 314159 INVITE\n"
      "Contact: <sip:+15557654321@" + client + ";transport=udp>\n"
      "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, PRACK, UPDATE\n"
      "Supported: 100rel, timer\n"
      "User-Agent: CarrierSBC/4.2\n"
      "Content-Type: application/sdp\n"
      "Content-Length: " + std::to_string(sdp.size()) + "\n"
      "\n");
  // clang-format on
  return head + sdp;
}

// Stamps a sequence number into copies of a request template.
class RequestFactory {
 public:
  explicit RequestFactory(std::string text) : text_(std::move(text)) {
    for (size_t p = text_.find(kSeqMarker); p != std::string::npos;
         p = text_.find(kSeqMarker, p + kSeqMarker.size())) {
      offsets_.push_back(p);
    }
  }
  size_t size() const { return text_.size(); }
  void Write(uint64_t seq, char* out) const {
    static constexpr char kHex[] = "0123456789abcdef";
    std::memcpy(out, text_.data(), text_.size());
    for (size_t offset : offsets_) {
      for (int d = 15; d >= 0; --d)
        out[offset + static_cast<size_t>(15 - d)] = kHex[(seq >> (4 * d)) & 0xf];
    }
  }

 private:
  std::string text_;
  std::vector<size_t> offsets_;
};

// Parses the 16 hex digits after `prefix` in a Call-ID value.
std::optional<uint64_t> SeqFromCallId(std::string_view call_id, std::string_view prefix) {
  if (call_id.substr(0, prefix.size()) != prefix || call_id.size() < prefix.size() + 16) {
    return std::nullopt;
  }
  uint64_t seq = 0;
  for (size_t i = prefix.size(); i < prefix.size() + 16; ++i) {
    const char c = call_id[i];
    const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return std::nullopt;
    seq = seq << 4 | static_cast<uint64_t>(digit);
  }
  return seq;
}

// ---- latency histogram -----------------------------------------------------------

// Log-bucketed: 8 buckets per power of two (about 9 % resolution), in ns.
class LatencyHistogram {
 public:
  void Record(int64_t ns) {
    const uint64_t v = static_cast<uint64_t>(std::max<int64_t>(ns, 1));
    ++buckets_[Index(v)];
    ++count_;
    max_ = std::max(max_, v);
  }
  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  // Upper bound of the bucket holding the q-quantile (0 when empty).
  uint64_t Quantile(double q) const {
    if (count_ == 0) return 0;
    const uint64_t rank =
        std::max<uint64_t>(1, static_cast<uint64_t>(q * static_cast<double>(count_) + 0.5));
    uint64_t seen = 0;
    for (size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen >= rank) return std::min(UpperBound(i), max_);
    }
    return max_;
  }

 private:
  static size_t Index(uint64_t v) {
    if (v < 8) return static_cast<size_t>(v);
    const int msb = 63 - __builtin_clzll(v);
    return static_cast<size_t>(msb) * 8 + ((v >> (msb - 3)) & 7);
  }
  static uint64_t UpperBound(size_t index) {
    if (index < 8) return index;
    const size_t msb = index / 8;
    const uint64_t sub = index % 8;
    return ((8 + sub + 1) << (msb - 3)) - 1;
  }

  std::array<uint64_t, 64 * 8> buckets_{};
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

// ---- proxy process sampling ------------------------------------------------------

struct ThreadSample {
  pid_t tid = 0;
  std::string name;
  int64_t cpu_ns = 0;
  int64_t wait_ns = 0;  // runnable but not running (schedstat only)
  int64_t voluntary = 0;
  int64_t involuntary = 0;
};

struct ProcessSample {
  bool ok = false;
  bool schedstat = true;  // false: CPU from utime+stime ticks
  std::vector<ThreadSample> threads;
};

std::string ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int64_t FieldAfter(const std::string& text, std::string_view key) {
  const size_t pos = text.find(key);
  if (pos == std::string::npos) return 0;
  return std::strtoll(text.c_str() + pos + key.size(), nullptr, 10);
}

ProcessSample SampleProcess(pid_t pid) {
  ProcessSample sample;
  const std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* dir = opendir(task_dir.c_str());
  if (dir == nullptr) return sample;
  const int64_t tick_ns = 1'000'000'000 / std::max<long>(1, sysconf(_SC_CLK_TCK));
  int entries = 0;
  while (dirent* entry = readdir(dir)) {
    if (++entries > 4096) break;
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    const std::string base = task_dir + "/" + entry->d_name;
    ThreadSample t;
    t.tid = static_cast<pid_t>(std::atoi(entry->d_name));
    t.name = ReadSmallFile(base + "/comm");
    while (!t.name.empty() && t.name.back() == '\n') t.name.pop_back();
    const std::string schedstat = ReadSmallFile(base + "/schedstat");
    long long run = 0;
    long long wait = 0;
    if (std::sscanf(schedstat.c_str(), "%lld %lld", &run, &wait) == 2) {
      t.cpu_ns = run;
      t.wait_ns = wait;
    } else {
      // utime and stime are fields 14 and 15, counted after the ")" of comm.
      const std::string stat = ReadSmallFile(base + "/stat");
      const size_t paren = stat.rfind(')');
      if (paren == std::string::npos) continue;
      std::istringstream fields(stat.substr(paren + 2));
      std::string field;
      long long utime = 0;
      long long stime = 0;
      for (int f = 3; f <= 15 && fields >> field; ++f) {
        if (f == 14) utime = std::atoll(field.c_str());
        if (f == 15) stime = std::atoll(field.c_str());
      }
      t.cpu_ns = (utime + stime) * tick_ns;
      sample.schedstat = false;
    }
    const std::string status = ReadSmallFile(base + "/status");
    t.voluntary = FieldAfter(status, "voluntary_ctxt_switches:");
    t.involuntary = FieldAfter(status, "nonvoluntary_ctxt_switches:");
    sample.threads.push_back(std::move(t));
  }
  closedir(dir);
  std::sort(sample.threads.begin(), sample.threads.end(),
            [](const ThreadSample& a, const ThreadSample& b) { return a.tid < b.tid; });
  sample.ok = !sample.threads.empty();
  return sample;
}

// Per-thread difference of two samples; threads that came or went count
// from zero (new) or are left out (gone).
std::vector<ThreadSample> Delta(const ProcessSample& begin, const ProcessSample& end) {
  std::vector<ThreadSample> out;
  for (const ThreadSample& e : end.threads) {
    ThreadSample d = e;
    for (const ThreadSample& b : begin.threads) {
      if (b.tid != e.tid) continue;
      d.cpu_ns -= b.cpu_ns;
      d.wait_ns -= b.wait_ns;
      d.voluntary -= b.voluntary;
      d.involuntary -= b.involuntary;
    }
    out.push_back(std::move(d));
  }
  return out;
}

// The proxy's counters that matter here, from its stats JSON "totals".
struct ProxyCounters {
  bool ok = false;
  int64_t rx_datagrams = 0;
  int64_t requests_forwarded = 0;
  int64_t responses_forwarded = 0;
  int64_t wakeups_sent = 0;
  int64_t inbox_full = 0;
  int64_t pool_exhausted = 0;
  int64_t send_failures = 0;
};

// Asks the proxy to dump its counters (SIGUSR1) and waits, bounded, for the
// stats file to be replaced.
ProxyCounters DumpProxyCounters(pid_t pid, const std::string& path) {
  ProxyCounters counters;
  struct stat before {};
  const bool existed = stat(path.c_str(), &before) == 0;
  if (kill(pid, SIGUSR1) != 0) return counters;
  for (int i = 0; i < 200; ++i) {
    struct stat now {};
    if (stat(path.c_str(), &now) == 0 &&
        (!existed || now.st_ino != before.st_ino || now.st_mtim.tv_sec != before.st_mtim.tv_sec ||
         now.st_mtim.tv_nsec != before.st_mtim.tv_nsec)) {
      const std::string text = ReadSmallFile(path);
      const size_t totals = text.find("\"totals\":{");
      if (totals == std::string::npos) return counters;
      const std::string tail = text.substr(totals);
      counters.ok = true;
      counters.rx_datagrams = FieldAfter(tail, "\"rx_datagrams\":");
      counters.requests_forwarded = FieldAfter(tail, "\"requests_forwarded\":");
      counters.responses_forwarded = FieldAfter(tail, "\"responses_forwarded\":");
      counters.wakeups_sent = FieldAfter(tail, "\"rx_wakeups_sent\":");
      counters.inbox_full = FieldAfter(tail, "\"rx_inbox_full\":");
      counters.pool_exhausted = FieldAfter(tail, "\"rx_pool_exhausted\":");
      counters.send_failures = FieldAfter(tail, "\"send_failures\":");
      return counters;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return counters;
}

int64_t SelfCpuNs() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto ns = [](const timeval& tv) {
    return static_cast<int64_t>(tv.tv_sec) * 1'000'000'000 +
           static_cast<int64_t>(tv.tv_usec) * 1000;
  };
  return ns(usage.ru_utime) + ns(usage.ru_stime);
}

// ---- backend -------------------------------------------------------------------------

struct BackendCounters {
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> answered{0};
  std::atomic<uint64_t> send_errors{0};
};

// Answers requests until `stop` or `deadline_ns`.
void RunBackend(int fd, const std::atomic<bool>& stop, int64_t deadline_ns,
                BackendCounters& counters) {
  MessageBatch in;
  MessageBatch out;
  while (!stop.load(std::memory_order_relaxed) && NowNs() < deadline_ns) {
    for (int i = 0; i < kBatch; ++i) in.ArmReceive(i);
    const int n = recvmmsg(fd, in.headers.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) {
      WaitReadable(fd, 50'000'000);
      continue;
    }
    int replies = 0;
    for (int i = 0; i < n; ++i) {
      const std::string_view request(in.buffer(i), in.headers[i].msg_len);
      const size_t size = BuildOk(request, out.buffer(replies), kBufferSize);
      if (size == 0) continue;
      out.iov[replies].iov_len = size;
      out.peers[replies] = in.peers[i];
      out.headers[replies].msg_hdr.msg_namelen = sizeof(sockaddr_in);
      ++replies;
    }
    counters.received.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
    int sent = 0;
    for (int attempt = 0; sent < replies && attempt < 100; ++attempt) {
      const int r =
          sendmmsg(fd, out.headers.data() + sent, static_cast<unsigned>(replies - sent), 0);
      if (r > 0) {
        sent += r;
      } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        break;
      }
    }
    counters.answered.fetch_add(static_cast<uint64_t>(sent), std::memory_order_relaxed);
    counters.send_errors.fetch_add(static_cast<uint64_t>(replies - sent),
                                   std::memory_order_relaxed);
  }
}

// ---- client -------------------------------------------------------------------------

struct ClientResult {
  double seconds = 0;  // measured interval
  uint64_t sent = 0;
  uint64_t answered = 0;         // 200 OKs received in the interval
  uint64_t other_responses = 0;  // non-200 responses in the interval
  uint64_t lost = 0;             // measured requests never answered in time
  uint64_t unmatched = 0;        // responses matching no outstanding request
  LatencyHistogram latency;
};

class Client {
 public:
  Client(const Options& options, int fd, const RequestFactory& factory, std::string call_id_prefix)
      : options_(options),
        fd_(fd),
        factory_(factory),
        call_id_prefix_(std::move(call_id_prefix)),
        ring_(kRingSize),
        timeout_ns_(options.timeout_ms * 1'000'000) {}

  // Sends a request every 50 ms until one is answered; false after 5 s.
  bool WaitForProxy() {
    const int64_t give_up = NowNs() + kReadyTimeoutNs;
    while (NowNs() < give_up) {
      SendBatch(1, NowNs());
      const int64_t next = NowNs() + 50'000'000;
      while (NowNs() < next) {
        WaitReadable(fd_, next - NowNs());
        if (ReceiveAll(NowNs()) > 0 && answered_any_) return true;
      }
    }
    return false;
  }

  // Runs load for `seconds` without measuring.
  void Warmup(double seconds) { RunLoad(NowNs() + static_cast<int64_t>(seconds * 1e9), 0); }

  // Runs the measured interval; `at_start`/`at_end` are called at its edges
  // (proxy sampling), outside the timed loop.
  template <typename Start, typename End>
  ClientResult Measure(Start at_start, End at_end) {
    result_ = ClientResult();
    at_start();
    measure_first_seq_ = next_seq_;
    measure_end_seq_ = UINT64_MAX;
    measuring_ = true;
    const int64_t begin = NowNs();
    RunLoad(begin + static_cast<int64_t>(options_.duration_s * 1e9), options_.count);
    const int64_t end = NowNs();
    measuring_ = false;
    measure_end_seq_ = next_seq_;
    at_end();
    result_.seconds = static_cast<double>(end - begin) / 1e9;
    result_.sent = next_seq_ - measure_first_seq_;
    // Drain: late answers still tell lost from slow, but are not counted as
    // throughput.
    const int64_t drain_until = NowNs() + timeout_ns_;
    while (outstanding_ > 0 && NowNs() < drain_until) {
      WaitReadable(fd_, 10'000'000);
      ReceiveAll(NowNs());
      Expire(NowNs());
    }
    for (uint64_t seq = oldest_; seq < next_seq_; ++seq) {
      Slot& slot = ring_[seq & (kRingSize - 1)];
      if (slot.sent_ns != 0 && slot.seq == seq && InMeasuredRange(seq)) ++result_.lost;
    }
    return result_;
  }

 private:
  struct Slot {
    uint64_t seq = 0;
    int64_t sent_ns = 0;  // 0: answered or expired
  };

  bool InMeasuredRange(uint64_t seq) const {
    return seq >= measure_first_seq_ && seq < measure_end_seq_;
  }

  // Sends up to `n` (<= kBatch) new requests; returns how many left.
  int SendBatch(int n, int64_t now) {
    n = std::min(n, kBatch);
    for (int i = 0; i < n; ++i) {
      factory_.Write(next_seq_ + static_cast<uint64_t>(i), out_.buffer(i));
      out_.iov[i].iov_len = factory_.size();
      out_.peers[i] = *options_.proxy;
      out_.headers[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
    }
    const int r = sendmmsg(fd_, out_.headers.data(), static_cast<unsigned>(n), MSG_DONTWAIT);
    if (r <= 0) return 0;
    for (int i = 0; i < r; ++i) {
      const uint64_t seq = next_seq_++;
      Slot& slot = ring_[seq & (kRingSize - 1)];
      if (slot.sent_ns != 0) Expire(now, /*force_until=*/seq);
      slot.seq = seq;
      slot.sent_ns = now;
      ++outstanding_;
    }
    return r;
  }

  // Drains the socket (bounded); returns datagrams received.
  int ReceiveAll(int64_t now) {
    int total = 0;
    for (int round = 0; round < 16; ++round) {
      for (int i = 0; i < kBatch; ++i) in_.ArmReceive(i);
      const int n = recvmmsg(fd_, in_.headers.data(), kBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) break;
      now = NowNs();
      for (int i = 0; i < n; ++i)
        Match(std::string_view(in_.buffer(i), in_.headers[i].msg_len), now);
      total += n;
      if (n < kBatch) break;
    }
    return total;
  }

  void Match(std::string_view response, int64_t now) {
    const std::optional<uint64_t> seq = SeqFromCallId(sip::FindCallId(response), call_id_prefix_);
    if (!seq || *seq < oldest_ || *seq >= next_seq_) {
      if (measuring_) ++result_.unmatched;
      return;
    }
    Slot& slot = ring_[*seq & (kRingSize - 1)];
    if (slot.seq != *seq || slot.sent_ns == 0) {
      if (measuring_) ++result_.unmatched;  // a duplicate
      return;
    }
    const bool ok = response.substr(0, 12) == "SIP/2.0 200 ";
    answered_any_ |= ok;
    if (measuring_) {
      if (ok) {
        ++result_.answered;
        result_.latency.Record(now - slot.sent_ns);
      } else {
        ++result_.other_responses;
      }
    }
    slot.sent_ns = 0;
    --outstanding_;
  }

  // Retires answered slots at the tail; declares lost what is older than
  // the timeout (or any slot below `force_until`, to reuse its ring entry).
  void Expire(int64_t now, uint64_t force_until = 0) {
    while (oldest_ < next_seq_) {
      Slot& slot = ring_[oldest_ & (kRingSize - 1)];
      if (slot.sent_ns != 0 && slot.seq == oldest_) {
        if (now - slot.sent_ns < timeout_ns_ && oldest_ + kRingSize > force_until) break;
        if (InMeasuredRange(oldest_)) ++result_.lost;
        slot.sent_ns = 0;
        --outstanding_;
      }
      ++oldest_;
    }
  }

  // Paced (options_.rate) or windowed load until `end_ns` or `count`
  // requests (0: no count limit).
  void RunLoad(int64_t end_ns, uint64_t count) {
    const uint64_t first = next_seq_;
    const uint64_t rate = options_.rate;
    // Rate mode sends in ~1 kHz ticks: rate/1000 requests each (1..64).
    const uint64_t tick_batch = std::clamp<uint64_t>(rate / 1000, 1, kBatch);
    if (pace_start_ns_ == 0) pace_start_ns_ = NowNs();
    auto due_at = [&](int64_t now) -> uint64_t {
      return static_cast<uint64_t>(static_cast<Int128>(now - pace_start_ns_) * rate /
                                   1'000'000'000);
    };
    int64_t now = NowNs();
    while (now < end_ns) {
      const uint64_t left = count == 0 ? UINT64_MAX : count - (next_seq_ - first);
      if (left == 0) break;
      uint64_t want = 0;
      if (rate > 0) {
        const uint64_t due = due_at(now);
        // More than 100 ms behind: skip ahead rather than burst.
        if (due > paced_ + rate / 10 + kBatch) paced_ = due - tick_batch;
        want = due > paced_ && due - paced_ >= tick_batch ? due - paced_ : 0;
      } else {
        want = options_.window > outstanding_ ? options_.window - outstanding_ : 0;
      }
      want = std::min<uint64_t>({want, left, 4 * kBatch});
      uint64_t sent = 0;
      while (sent < want) {
        const int r = SendBatch(static_cast<int>(std::min<uint64_t>(want - sent, kBatch)), now);
        if (r <= 0) break;
        sent += static_cast<uint64_t>(r);
      }
      paced_ += sent;
      const int received = ReceiveAll(now);
      now = NowNs();
      Expire(now);
      if (sent == 0 && received == 0) {
        int64_t wait_ns = 10'000'000;
        if (rate > 0) {
          const int64_t next_due =
              pace_start_ns_ +
              static_cast<int64_t>(static_cast<Int128>(paced_ + tick_batch) * 1'000'000'000 / rate);
          wait_ns = next_due - now;
        }
        wait_ns = std::min(wait_ns, end_ns - now);
        if (wait_ns > 0) WaitReadable(fd_, wait_ns);
        now = NowNs();
      }
    }
  }

  const Options& options_;
  int fd_;
  const RequestFactory& factory_;
  std::string call_id_prefix_;
  std::vector<Slot> ring_;
  int64_t timeout_ns_;
  MessageBatch out_;
  MessageBatch in_;
  uint64_t next_seq_ = 0;
  uint64_t oldest_ = 0;
  uint64_t outstanding_ = 0;
  uint64_t paced_ = 0;
  int64_t pace_start_ns_ = 0;
  bool answered_any_ = false;
  bool measuring_ = false;
  uint64_t measure_first_seq_ = 0;
  uint64_t measure_end_seq_ = 0;
  ClientResult result_;
};

// ---- report ---------------------------------------------------------------------------

struct Report {
  const Options* options = nullptr;
  ClientResult client;
  bool have_proxy = false;
  bool schedstat = true;
  std::vector<ThreadSample> proxy_threads;
  ProxyCounters proxy_begin;
  ProxyCounters proxy_end;
  int64_t self_cpu_ns = 0;
};

double PerMessage(double total, double messages) { return messages > 0 ? total / messages : 0; }

std::string FormatDouble(double v, int precision) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", precision, v);
  return text;
}

void PrintReport(const Report& r) {
  const Options& o = *r.options;
  const ClientResult& c = r.client;
  const double seconds = std::max(c.seconds, 1e-9);
  const double forwarded = 2.0 * static_cast<double>(c.answered);
  int64_t proxy_cpu = 0;
  int64_t proxy_wait = 0;
  int64_t proxy_voluntary = 0;
  int64_t proxy_involuntary = 0;
  for (const ThreadSample& t : r.proxy_threads) {
    proxy_cpu += t.cpu_ns;
    proxy_wait += t.wait_ns;
    proxy_voluntary += t.voluntary;
    proxy_involuntary += t.involuntary;
  }
  const double cpu_us_per_fwd = PerMessage(static_cast<double>(proxy_cpu) / 1000, forwarded);
  const bool counters = r.proxy_begin.ok && r.proxy_end.ok;
  const int64_t wakeups = r.proxy_end.wakeups_sent - r.proxy_begin.wakeups_sent;
  const int64_t drops = (r.proxy_end.inbox_full - r.proxy_begin.inbox_full) +
                        (r.proxy_end.pool_exhausted - r.proxy_begin.pool_exhausted) +
                        (r.proxy_end.send_failures - r.proxy_begin.send_failures);
  const std::string message = o.message == MessageKind::kInvite ? "invite" : "options";
  const std::string mode = o.rate > 0 ? "rate" : "window";
  const uint64_t load = o.rate > 0 ? o.rate : o.window;

  if (o.json) {
    std::string json = "{";
    auto field = [&](std::string_view key, const std::string& value, bool quote = false) {
      if (json.size() > 1) json += ",";
      json += "\"" + std::string(key) + "\":" + (quote ? "\"" + value + "\"" : value);
    };
    field("message", message, true);
    field("mode", mode, true);
    field("load", std::to_string(load));
    field("seconds", FormatDouble(c.seconds, 3));
    field("sent", std::to_string(c.sent));
    field("answered", std::to_string(c.answered));
    field("other_responses", std::to_string(c.other_responses));
    field("lost", std::to_string(c.lost));
    field("unmatched", std::to_string(c.unmatched));
    field("transactions_per_s", FormatDouble(static_cast<double>(c.answered) / seconds, 1));
    field("forwarded_per_s", FormatDouble(forwarded / seconds, 1));
    field("latency_p50_us", FormatDouble(static_cast<double>(c.latency.Quantile(0.5)) / 1000, 1));
    field("latency_p99_us", FormatDouble(static_cast<double>(c.latency.Quantile(0.99)) / 1000, 1));
    field("latency_max_us", FormatDouble(static_cast<double>(c.latency.max()) / 1000, 1));
    if (r.have_proxy) {
      field("proxy_cpu_source", r.schedstat ? "schedstat" : "stat", true);
      field("proxy_cpu_s", FormatDouble(static_cast<double>(proxy_cpu) / 1e9, 4));
      field("proxy_cpu_percent",
            FormatDouble(100.0 * static_cast<double>(proxy_cpu) / 1e9 / seconds, 1));
      field("proxy_cpu_us_per_forwarded", FormatDouble(cpu_us_per_fwd, 2));
      field("proxy_cpu_us_per_datagram", FormatDouble(cpu_us_per_fwd / 2, 2));
      field("proxy_runq_wait_us_per_forwarded",
            FormatDouble(PerMessage(static_cast<double>(proxy_wait) / 1000, forwarded), 2));
      field("proxy_voluntary_switches_per_forwarded",
            FormatDouble(PerMessage(static_cast<double>(proxy_voluntary), forwarded), 3));
      field("proxy_involuntary_switches_per_forwarded",
            FormatDouble(PerMessage(static_cast<double>(proxy_involuntary), forwarded), 3));
    }
    if (counters) {
      field("proxy_wakeups_sent", std::to_string(wakeups));
      field("proxy_wakeups_per_forwarded",
            FormatDouble(PerMessage(static_cast<double>(wakeups), forwarded), 3));
      field("proxy_forwarded_counted",
            std::to_string(r.proxy_end.requests_forwarded + r.proxy_end.responses_forwarded -
                           r.proxy_begin.requests_forwarded - r.proxy_begin.responses_forwarded));
      field("proxy_drops", std::to_string(drops));
    }
    field("tool_cpu_s", FormatDouble(static_cast<double>(r.self_cpu_ns) / 1e9, 4));
    field("tool_cpu_us_per_transaction",
          FormatDouble(PerMessage(static_cast<double>(r.self_cpu_ns) / 1000,
                                  static_cast<double>(c.answered)),
                       2));
    if (r.have_proxy) {
      std::string threads = "[";
      for (const ThreadSample& t : r.proxy_threads) {
        if (threads.size() > 1) threads += ",";
        threads += "{\"name\":\"" + t.name + "\",\"cpu_us_per_forwarded\":" +
                   FormatDouble(PerMessage(static_cast<double>(t.cpu_ns) / 1000, forwarded), 2) +
                   ",\"voluntary_switches\":" + std::to_string(t.voluntary) +
                   ",\"involuntary_switches\":" + std::to_string(t.involuntary) + "}";
      }
      field("proxy_threads", threads + "]");
    }
    std::printf("%s}\n", json.c_str());
    return;
  }

  std::printf("sipshard-udp-bench: %s to %s, %s %" PRIu64 ", %.2f s measured (%.1f s warm-up)\n",
              message.c_str(), AddressText(*o.proxy).c_str(), mode.c_str(), load, c.seconds,
              o.warmup_s);
  std::printf("  %-34s %12" PRIu64 "\n", "requests sent", c.sent);
  std::printf("  %-34s %12" PRIu64 "  (%.0f/s)\n", "answered 200 OK", c.answered,
              static_cast<double>(c.answered) / seconds);
  std::printf("  %-34s %12" PRIu64 "  other responses %" PRIu64 ", unmatched %" PRIu64 "\n", "lost",
              c.lost, c.other_responses, c.unmatched);
  std::printf("  %-34s %12.0f  (request + response)\n", "forwarded messages/s",
              forwarded / seconds);
  std::printf("  %-34s %12s  p50 %.0f, p99 %.0f, max %.0f\n", "latency (µs)", "",
              static_cast<double>(c.latency.Quantile(0.5)) / 1000,
              static_cast<double>(c.latency.Quantile(0.99)) / 1000,
              static_cast<double>(c.latency.max()) / 1000);
  if (r.have_proxy) {
    std::printf("  %-34s %12.3f  (%.1f %% of one core, %s)\n", "proxy CPU (s)",
                static_cast<double>(proxy_cpu) / 1e9,
                100.0 * static_cast<double>(proxy_cpu) / 1e9 / seconds,
                r.schedstat ? "schedstat" : "utime+stime");
    std::printf("  %-34s %12.2f  (%.2f per datagram)\n", "proxy CPU µs / forwarded message",
                cpu_us_per_fwd, cpu_us_per_fwd / 2);
    std::printf("  %-34s %12.3f  voluntary, %.3f involuntary\n",
                "proxy switches / forwarded message",
                PerMessage(static_cast<double>(proxy_voluntary), forwarded),
                PerMessage(static_cast<double>(proxy_involuntary), forwarded));
    std::printf("  %-34s %12.2f\n", "proxy run-queue wait µs / fwd msg",
                PerMessage(static_cast<double>(proxy_wait) / 1000, forwarded));
    for (const ThreadSample& t : r.proxy_threads) {
      std::printf("    thread %-16s %8.2f µs/fwd msg, %8" PRId64 " voluntary, %8" PRId64
                  " involuntary switches\n",
                  t.name.c_str(), PerMessage(static_cast<double>(t.cpu_ns) / 1000, forwarded),
                  t.voluntary, t.involuntary);
    }
  }
  if (counters) {
    std::printf("  %-34s %12" PRId64 "  (%.3f per forwarded message), drops %" PRId64 "\n",
                "proxy wake-ups sent to shards", wakeups,
                PerMessage(static_cast<double>(wakeups), forwarded), drops);
  }
  std::printf(
      "  %-34s %12.3f  (%.2f µs per transaction, client + backend)\n", "tool CPU (s)",
      static_cast<double>(r.self_cpu_ns) / 1e9,
      PerMessage(static_cast<double>(r.self_cpu_ns) / 1000, static_cast<double>(c.answered)));
}

int PrintFreePorts(int n) {
  std::vector<int> fds;
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < n; ++i) {
    const int fd = OpenUdpSocket(any);  // held open so the ports differ
    if (fd < 0) return 1;
    std::printf("%u\n", BoundPort(fd));
    fds.push_back(fd);
  }
  for (int fd : fds) close(fd);
  return 0;
}

int Main(int argc, char** argv) {
  Options options;
  const int parsed = ParseArgs(argc, argv, &options);
  if (parsed != 0) return parsed < 0 ? 0 : 1;
  if (options.print_free_ports > 0) return PrintFreePorts(options.print_free_ports);
  signal(SIGPIPE, SIG_IGN);

  // Hard cap on the whole run: readiness + warm-up + measurement + drain.
  const int64_t deadline = NowNs() + kReadyTimeoutNs +
                           static_cast<int64_t>((options.warmup_s + options.duration_s) * 1e9) +
                           2 * options.timeout_ms * 1'000'000 + 1'000'000'000;

  std::atomic<bool> stop_backend{false};
  BackendCounters backend_counters;
  std::thread backend_thread;
  int backend_fd = -1;
  if (options.role != Role::kClient) {
    backend_fd = OpenUdpSocket(*options.backend);
    if (backend_fd < 0) {
      std::fprintf(stderr, "sipshard-udp-bench: cannot bind backend %s: %s\n",
                   AddressText(*options.backend).c_str(), std::strerror(errno));
      return 1;
    }
    backend_thread =
        std::thread([&] { RunBackend(backend_fd, stop_backend, deadline, backend_counters); });
  }
  auto stop = [&] {
    stop_backend.store(true);
    if (backend_thread.joinable()) backend_thread.join();
    if (backend_fd >= 0) close(backend_fd);
  };
  if (options.role == Role::kBackend) {
    std::fprintf(stderr, "sipshard-udp-bench: backend on %s until %.0f s have passed\n",
                 AddressText(*options.backend).c_str(),
                 static_cast<double>(deadline - NowNs()) / 1e9);
    stop_backend.store(false);
    if (backend_thread.joinable()) backend_thread.join();
    close(backend_fd);
    std::printf("backend: received %" PRIu64 ", answered %" PRIu64 "\n",
                backend_counters.received.load(), backend_counters.answered.load());
    return 0;
  }

  sockaddr_in client_address{};
  client_address.sin_family = AF_INET;
  client_address.sin_addr = options.proxy->sin_addr;  // same host as the proxy: loopback
  const int client_fd = OpenUdpSocket(client_address);
  if (client_fd < 0) {
    std::fprintf(stderr, "sipshard-udp-bench: cannot open the client socket: %s\n",
                 std::strerror(errno));
    stop();
    return 1;
  }
  client_address.sin_port = htons(BoundPort(client_fd));
  char run[9];
  std::snprintf(run, sizeof run, "%08x",
                static_cast<unsigned>(getpid() * 2654435761u ^ static_cast<unsigned>(NowNs())));
  const RequestFactory factory(RequestTemplate(options.message, AddressText(client_address), run));
  Client client(options, client_fd, factory, "ub" + std::string(run) + "-");

  if (!client.WaitForProxy()) {
    std::fprintf(stderr, "sipshard-udp-bench: no 200 OK through %s within 5 s\n",
                 AddressText(*options.proxy).c_str());
    close(client_fd);
    stop();
    return 2;
  }
  client.Warmup(options.warmup_s);

  Report report;
  report.options = &options;
  ProcessSample proxy_begin;
  ProcessSample proxy_end;
  int64_t self_begin = 0;
  report.client = client.Measure(
      [&] {
        if (!options.proxy_stats.empty()) {
          report.proxy_begin = DumpProxyCounters(options.proxy_pid, options.proxy_stats);
        }
        if (options.proxy_pid > 0) proxy_begin = SampleProcess(options.proxy_pid);
        self_begin = SelfCpuNs();
      },
      [&] {
        report.self_cpu_ns = SelfCpuNs() - self_begin;
        if (options.proxy_pid > 0) proxy_end = SampleProcess(options.proxy_pid);
        if (!options.proxy_stats.empty()) {
          report.proxy_end = DumpProxyCounters(options.proxy_pid, options.proxy_stats);
        }
      });
  close(client_fd);
  stop();
  if (options.proxy_pid > 0) {
    report.have_proxy = proxy_begin.ok && proxy_end.ok;
    report.schedstat = proxy_begin.schedstat && proxy_end.schedstat;
    if (report.have_proxy) report.proxy_threads = Delta(proxy_begin, proxy_end);
    if (!report.have_proxy)
      std::fprintf(stderr, "sipshard-udp-bench: could not read /proc/%d\n", options.proxy_pid);
  }
  PrintReport(report);
  return report.client.answered > 0 ? 0 : 3;
}

}  // namespace
}  // namespace sipshard::tools

int main(int argc, char** argv) { return sipshard::tools::Main(argc, argv); }
