#include "sipshard/txn/transaction_key.h"

#include "sipshard/base/hash.h"
#include "sipshard/sip/text.h"

namespace sipshard::txn {
namespace {

uint64_t HashLower(std::string_view text, uint64_t seed) {
  // Host names compare case-insensitively: hash a lowered copy, bounded.
  char lowered[256];
  const size_t n = text.size() < sizeof lowered ? text.size() : sizeof lowered;
  for (size_t i = 0; i < n; ++i) {
    const char c = text[i];
    lowered[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return base::StableHash(std::string_view(lowered, n), seed);
}

std::string_view Move(std::string_view view, std::string_view from, std::string_view to) {
  if (view.empty() || view.data() < from.data() ||
      view.data() + view.size() > from.data() + from.size()) {
    return view;
  }
  return to.substr(static_cast<size_t>(view.data() - from.data()), view.size());
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
  out.method_text = Move(key.method_text, from, to);
  out.branch = Move(key.branch, from, to);
  out.host = Move(key.host, from, to);
  out.transport = Move(key.transport, from, to);
  out.request_uri = Move(key.request_uri, from, to);
  out.from_tag = Move(key.from_tag, from, to);
  out.call_id = Move(key.call_id, from, to);
  out.top_via = Move(key.top_via, from, to);
  return out;
}

}  // namespace sipshard::txn
