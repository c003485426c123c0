// Server transaction keys (RFC 3261 §17.2.3).
//
// RFC 3261 requests (top-Via branch with the magic cookie) are keyed by
// (branch, sent-by host:port, transport, method) where ACK maps to INVITE
// and CANCEL keeps its own method. Pre-3261 requests (no cookie) are keyed
// by Request-URI, From tag, Call-ID, CSeq number, top Via and method
// (§17.2.3's legacy rule; the ACK's To tag check is left to the caller).
// The two kinds live in separate indexes of the TransactionTable; legacy
// keys are only ever built for cookie-less requests.
//
// Views point into the message they were built from. Pure functions.
#pragma once

#include <cstdint>
#include <string_view>

#include "sipshard/sip/message.h"
#include "sipshard/sip/method.h"

namespace sipshard::txn {

struct ServerKey {
  bool rfc3261 = true;
  sip::Method method = sip::Method::kOther;  // ACK already mapped to INVITE
  std::string_view method_text;              // for kOther
  // RFC 3261 key.
  std::string_view branch;
  std::string_view host;
  uint16_t port = 0;
  std::string_view transport;
  // Legacy key.
  std::string_view request_uri;
  std::string_view from_tag;
  std::string_view call_id;
  std::string_view top_via;
  uint32_t cseq = 0;

  uint64_t hash = 0;
};

// Builds the key of `request` as a request of method `as_method` (pass the
// request's own method, or kInvite to find the INVITE a CANCEL or ACK
// refers to).
ServerKey MakeServerKey(const sip::Message& request, sip::Method as_method);

// Returns true if both keys name the same server transaction: branch
// byte-exact, host case-insensitive, default ports applied (§17.2.3).
bool SameTransaction(const ServerKey& a, const ServerKey& b);

// Returns `key` with every view moved from `from` to the same offset in
// `to` (the stored copy of the request). Views outside `from` are kept.
ServerKey RebaseKey(const ServerKey& key, std::string_view from, std::string_view to);

}  // namespace sipshard::txn
