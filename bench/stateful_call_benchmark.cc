// In-process benchmark of one transaction-stateful call through one shard's
// ProxyCore: INVITE / 100 / 180 / 200 / ACK / BYE / 200, the BYE relayed
// statefully too (its Route is our Record-Route with sx=t), with a sink Sender
// and a timer wheel advanced by hand (1 ms per call, so about 32 s worth of
// finished transactions wait for Timers D/L/M, as in production).
// Reports calls/s on one core and heap allocations per call (global
// operator new is counted in this binary).
//
//   ./build/bench/sipshard_benchmarks --benchmark_filter=StatefulCall --benchmark_min_time=2
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "sipshard/config/loader.h"
#include "sipshard/proxy/proxy_core.h"

namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

void* operator new(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
// The replacement new above allocates with malloc, so free is the match.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace sipshard::proxy {
namespace {

// Keeps the last datagram per direction, like a send ring without a kernel.
class SinkSender final : public Sender {
 public:
  std::span<char> Reserve(size_t max_bytes) override {
    return max_bytes <= sizeof buffer_ ? std::span<char>(buffer_, max_bytes) : std::span<char>();
  }
  bool Commit(size_t length, const OutboundPath& path) override {
    if (path.destination.port() == 5071) {
      std::memcpy(to_backend_, buffer_, length);
      to_backend_size_ = length;
    }
    ++sent_;
    return true;
  }
  std::string_view to_backend() const { return std::string_view(to_backend_, to_backend_size_); }
  uint64_t sent_ = 0;

 private:
  char buffer_[65536];
  char to_backend_[65536];
  size_t to_backend_size_ = 0;
};

constexpr char kConfig[] = R"toml(
[server]
listen = ["udp:127.0.0.1:5060"]
# 1000 calls/s of simulated time with the RFC 32 s waits hold ~64 k
# transactions, right at the default capacity; any 503 would change the
# call being measured, so the run fails on overflow (below).
[transactions]
max_per_shard = 131072
[[sets]]
name = "farm"
  [[sets.destinations]]
  uri = "sip:127.0.0.1:5071"
[[routes]]
name = "default"
action = "forward"
set = "farm"
stateful = true
record_route = true
)toml";

// A message text with "#" placeholders for the 8-digit call number. The
// harness is not what is measured, so filling costs one memcpy plus the
// digit patches (a byte-by-byte copy cost ~3 % of a call).
class Template {
 public:
  explicit Template(std::string_view text) : text_(text) {
    for (size_t i = text_.find('#'); i != std::string::npos; i = text_.find('#', i + 1)) {
      text_.replace(i, 1, "00000000");
      holes_.push_back(i);
    }
  }
  size_t Fill(uint32_t n, char* out) const {
    char digits[8];
    for (int i = 7; i >= 0; --i, n /= 10) digits[i] = static_cast<char>('0' + n % 10);
    std::memcpy(out, text_.data(), text_.size());
    for (size_t hole : holes_) std::memcpy(out + hole, digits, 8);
    return text_.size();
  }

 private:
  std::string text_;
  std::vector<size_t> holes_;
};

constexpr std::string_view kInvite =
    "INVITE sip:bob@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bK#;rport\r\n"
    "Max-Forwards: 70\r\nFrom: <sip:alice@example.net>;tag=a#\r\n"
    "To: <sip:bob@example.com>\r\nCall-ID: #@bench\r\nCSeq: 1 INVITE\r\n"
    "Contact: <sip:alice@127.0.0.1:5090>\r\nContent-Type: application/sdp\r\n"
    "Content-Length: 0\r\n\r\n";
constexpr std::string_view kAck =
    "ACK sip:bob@127.0.0.1:5071 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bKack#;rport\r\n"
    "Route: <sip:127.0.0.1:5060;lr;sx=t>\r\n"
    "Max-Forwards: 70\r\nFrom: <sip:alice@example.net>;tag=a#\r\n"
    "To: <sip:bob@example.com>;tag=b#\r\nCall-ID: #@bench\r\nCSeq: 1 ACK\r\n"
    "Content-Length: 0\r\n\r\n";
constexpr std::string_view kBye =
    "BYE sip:bob@127.0.0.1:5071 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bKbye#;rport\r\n"
    "Route: <sip:127.0.0.1:5060;lr;sx=t>\r\n"
    "Max-Forwards: 70\r\nFrom: <sip:alice@example.net>;tag=a#\r\n"
    "To: <sip:bob@example.com>;tag=b#\r\nCall-ID: #@bench\r\nCSeq: 2 BYE\r\n"
    "Content-Length: 0\r\n\r\n";

// A backend response: our Via (copied from what we sent) over the rest.
size_t Respond(std::string_view request, std::string_view status, std::string_view to_tag,
               char* out) {
  size_t k = 0;
  auto put = [&](const char* p, size_t n) {
    std::memcpy(out + k, p, n);
    k += n;
  };
  put(status.data(), status.size());
  const char* pos = static_cast<const char*>(std::memchr(request.data(), '\n', request.size())) + 1;
  const char* const end = request.data() + request.size();
  // Header lines end in CRLF; the empty line ends the loop.
  while (pos < end && *pos != '\r') {
    const char* eol = static_cast<const char*>(std::memchr(pos, '\n', end - pos)) + 1;
    const std::string_view line(pos, static_cast<size_t>(eol - pos));
    switch (line[0]) {
      case 'V':
      case 'F':
      case 'C':
      case 'R':
        if (line.starts_with("Via:") || line.starts_with("From:") ||
            line.starts_with("Call-ID:") || line.starts_with("CSeq:") ||
            line.starts_with("Record-Route:")) {
          put(line.data(), line.size());
        }
        break;
      case 'T':
        if (line.starts_with("To:")) {
          put(line.data(), line.size() - 2);
          if (line.find("tag=") == std::string_view::npos) put(to_tag.data(), to_tag.size());
          put("\r\n", 2);
        }
        break;
    }
    pos = eol;
  }
  constexpr std::string_view kTail = "Contact: <sip:bob@127.0.0.1:5071>\r\nContent-Length: 0\r\n\r\n";
  put(kTail.data(), kTail.size());
  return k;
}

// Arg 1: ACK and BYE carry our stateful Record-Route (`;lr;sx=t`), so the
// BYE is a transaction too (what a record-routed dialog does since sx=t).
// Arg 0: a plain `;lr` Route, the BYE relayed statelessly (the call as it
// was measured before in-dialog requests became stateful).
void BM_StatefulCall(benchmark::State& state) {
  std::string ack_text(kAck), bye_text(kBye);
  if (state.range(0) == 0) {
    for (std::string* text : {&ack_text, &bye_text}) text->erase(text->find(";sx=t"), 5);
  }
  const Template invite_template(kInvite), ack_template(ack_text), bye_template(bye_text);
  absl::StatusOr<config::Config> config = config::LoadConfigString(kConfig);
  if (!config.ok()) {
    state.SkipWithError("config");
    return;
  }
  SinkSender sender;
  metrics::ShardCounters counters;
  base::Millis now = 0;
  base::TimerWheel wheel(now);
  ProxyEnvironment env;
  env.config = std::make_shared<config::Config>(*config);
  ListenIdentity listen;
  listen.host = "127.0.0.1";
  listen.port = 5060;
  listen.address = *transport::SocketAddress::Parse("127.0.0.1", 5060);
  env.listens.push_back(listen);
  env.sender = &sender;
  env.counters = &counters;
  env.timers = &wheel;
  std::unique_ptr<ProxyCore> core = std::move(*ProxyCore::Create(env));
  const transport::SocketAddress client = *transport::SocketAddress::Parse("127.0.0.1", 5090);
  const transport::SocketAddress backend = *transport::SocketAddress::Parse("127.0.0.1", 5071);
  std::vector<char> in(8192), response(8192);
  uint32_t call = 0;
  auto one_call = [&] {
    ++call;
    size_t n = invite_template.Fill(call, in.data());
    core->Handle({std::string_view(in.data(), n), client, 0});
    // to_backend() stays valid until the next request to the backend (the
    // ACK), so the responses are built from it in place.
    const std::string_view invite = sender.to_backend();
    n = Respond(invite, "SIP/2.0 100 Trying\r\n", "", response.data());
    core->Handle({std::string_view(response.data(), n), backend, 0});
    n = Respond(invite, "SIP/2.0 180 Ringing\r\n", ";tag=b", response.data());
    core->Handle({std::string_view(response.data(), n), backend, 0});
    n = Respond(invite, "SIP/2.0 200 OK\r\n", ";tag=b", response.data());
    core->Handle({std::string_view(response.data(), n), backend, 0});
    n = ack_template.Fill(call, in.data());
    core->Handle({std::string_view(in.data(), n), client, 0});
    n = bye_template.Fill(call, in.data());
    core->Handle({std::string_view(in.data(), n), client, 0});
    n = Respond(sender.to_backend(), "SIP/2.0 200 OK\r\n", "", response.data());
    core->Handle({std::string_view(response.data(), n), backend, 0});
    wheel.Advance(++now);
  };
  // Warm up past the longest timer so the slab and pools reach steady state.
  for (int i = 0; i < 40000; ++i) one_call();
  const uint64_t allocations_before = g_allocations.load();
  const uint64_t calls_before = call;
  for (auto _ : state) one_call();
  const uint64_t calls = call - calls_before;
  state.SetItemsProcessed(static_cast<int64_t>(calls));
  state.counters["allocs_per_call"] =
      static_cast<double>(g_allocations.load() - allocations_before) / static_cast<double>(calls);
  state.counters["calls_per_s"] =
      benchmark::Counter(static_cast<double>(calls), benchmark::Counter::kIsRate);
  if (counters.transactions_overflow.value() != 0) {
    // A full table answers 503: the call measured would not be the call.
    state.SkipWithError("transaction table overflowed");
  }
  state.counters["active_txn"] = static_cast<double>(counters.transactions_created.value() -
                                                     counters.transactions_freed.value());
}
BENCHMARK(BM_StatefulCall)->ArgName("stateful_bye")->Arg(1)->Arg(0);

}  // namespace
}  // namespace sipshard::proxy
