#include "sipshard/proxy/loop_detection.h"

#include <optional>
#include <string_view>

#include "sipshard/base/hash.h"
#include "sipshard/proxy/proxy_core.h"
#include "sipshard/sip/text.h"
#include "sipshard/sip/via.h"
#include "sipshard/txn/branch_id.h"

namespace sipshard::proxy {
namespace {

using sip::HeaderId;

// Distinct seeds keep "no Route" apart from an empty one, and one field's
// bytes from sliding into the next.
constexpr uint64_t kLoopSeed = 0x6c6f6f7068617368ULL;   // "loophash"
constexpr uint64_t kRouteSeed = 0x746f70726f757465ULL;  // "toproute"

std::string_view TopRoute(const sip::Message& request) {
  const sip::HeaderField* field = request.Find(HeaderId::kRoute);
  if (field == nullptr) return {};
  sip::ListSplitter elements(field->value);
  std::string_view first;
  return elements.Next(&first) ? first : std::string_view();
}

std::string_view StripBrackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

// §16.3 step 4: "a sent-by value that equals a value placed into previous
// requests by the proxy": our Via is written with a listen identity's
// host and port.
bool SentByUs(const sip::Via& via, const std::vector<ListenIdentity>& listens) {
  const uint16_t port = via.PortOrDefault();
  for (const ListenIdentity& listen : listens) {
    if (listen.port == port &&
        sip::EqualsIgnoreCase(via.HostAddress(), StripBrackets(listen.host))) {
      return true;
    }
  }
  return false;
}

}  // namespace

uint64_t StatelessLoopHash(const sip::Message& request) {
  uint64_t h = base::StableHash(request.request_uri_text, kLoopSeed);
  const sip::HeaderField* route = request.Find(HeaderId::kRoute);
  h = base::HashCombine(h, route == nullptr ? 0 : base::StableHash(TopRoute(request), kRouteSeed));
  h = base::HashCombine(h, base::StableHash(request.call_id));
  h = base::HashCombine(h, base::StableHash(request.from.tag));
  return base::HashCombine(h, request.cseq.number);
}

bool IsStatelessLoop(const sip::Message& request, const std::vector<ListenIdentity>& listens) {
  std::optional<uint64_t> loop_hash;  // computed on the first Via of ours
  return AnyViaOfOurs(request, [&](const sip::Via& via) {
    const std::optional<txn::StatelessBranch> branch = txn::ParseStatelessBranch(via.branch);
    if (!branch || !SentByUs(via, listens)) return false;
    if (!loop_hash) loop_hash = StatelessLoopHash(request);
    return branch->loop_hash == *loop_hash;
  });
}

}  // namespace sipshard::proxy
