#include "sipshard/txn/transaction_key.h"

#include "sipshard/base/hash.h"
#include "sipshard/sip/text.h"

namespace sipshard::txn {
namespace {

uint64_t HashLower(std::string_view text, uint64_t seed) {
  // Host names compare case-insensitively. Most sent-by hosts are IP
  // addresses or lower case already: hash those in place.
  // Both ways hash the same (at most 256-byte) prefix, so that hosts
  // differing only in case always hash alike.
  constexpr size_t kMax = 256;
  const size_t n = text.size() < kMax ? text.size() : kMax;
  bool upper = false;
  for (size_t i = 0; i < n; ++i) upper |= (text[i] >= 'A' && text[i] <= 'Z');
  if (!upper) return base::StableHash(text.substr(0, n), seed);
  char lowered[kMax];
  for (size_t i = 0; i < n; ++i) {
    const char c = text[i];
    lowered[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return base::StableHash(std::string_view(lowered, n), seed);
}

// Moves `view` to the same offset in `to` if it lies inside `from`.
void Move(std::string_view* view, std::string_view from, std::string_view to) {
  const char* p = view->data();
  if (view->empty() || p < from.data() || p + view->size() > from.data() + from.size()) return;
  *view = std::string_view(to.data() + (p - from.data()), view->size());
}

}  // namespace

ServerKey MakeServerKey(const sip::Message& request, sip::Method as_method) {
  ServerKey key;
  key.method = as_method == sip::Method::kAck ? sip::Method::kInvite : as_method;
  if (key.method == sip::Method::kOther) key.method_text = request.method_text;
  const sip::Via& via = request.top_via;
  key.rfc3261 = via.has_magic_cookie();
  uint64_t h = static_cast<uint64_t>(key.method);
  if (key.rfc3261) {
    // §17.2.3: branch, sent-by and method.
    key.branch = via.branch;
    key.host = via.host;
    key.port = via.PortOrDefault();
    key.transport = via.transport;
    h = base::HashCombine(h, base::StableHash(key.branch));
    h = base::HashCombine(h, HashLower(key.host, key.port));
  } else {
    // §17.2.3, RFC 2543 rules: Request-URI, From tag, Call-ID, CSeq, top Via.
    key.request_uri = request.request_uri_text;
    key.from_tag = request.from.tag;
    key.call_id = request.call_id;
    key.top_via = via.raw;
    key.cseq = request.cseq.number;
    h = base::HashCombine(h, base::StableHash(key.call_id));
    h = base::HashCombine(h, base::StableHash(key.from_tag));
    h = base::HashCombine(h, key.cseq);
  }
  // The method text only tells extension methods apart (kOther).
  key.hash = key.method == sip::Method::kOther
                 ? base::HashCombine(h, base::StableHash(key.method_text))
                 : base::Mix64(h);
  return key;
}

bool SameTransaction(const ServerKey& a, const ServerKey& b) {
  if (a.hash != b.hash || a.rfc3261 != b.rfc3261 || a.method != b.method ||
      a.method_text != b.method_text) {
    return false;
  }
  if (a.rfc3261) {
    return a.branch == b.branch && a.port == b.port && sip::EqualsIgnoreCase(a.host, b.host) &&
           sip::EqualsIgnoreCase(a.transport, b.transport);
  }
  return a.cseq == b.cseq && a.call_id == b.call_id && a.from_tag == b.from_tag &&
         a.request_uri == b.request_uri && a.top_via == b.top_via;
}

ServerKey RebaseKey(const ServerKey& key, std::string_view from, std::string_view to) {
  ServerKey out = key;
  for (std::string_view* view : {&out.method_text, &out.branch, &out.host, &out.transport,
                                 &out.request_uri, &out.from_tag, &out.call_id, &out.top_via}) {
    Move(view, from, to);
  }
  return out;
}

}  // namespace sipshard::txn
