// Loop detection for requests we forward statelessly (RFC 3261 §16.3 step
// 4, §16.6 step 8, §16.11).
//
// A stateless proxy remembers nothing, so the branch of the Via it pushes
// carries what it needs to recognise the request when it comes back: the
// loop hash of txn::StatelessBranch. On receipt, a Via that we sent (its
// sent-by is one of our listen identities) and whose stateless branch
// carries the loop hash the request has now means the request already
// passed here with the same routing fields and would go the same way
// again: a loop (482). A different hash (a retargeted Request-URI, another
// top Route) is a spiral and goes on. The stateful path recognises its own
// transaction branches instead (StatefulProxy::IsLoop).
//
// The loop hash covers the fields that decide where we send a request and
// that the elements on its path may change: the Request-URI and the top
// Route value as received (no Route: none), plus its Call-ID, From tag and
// CSeq number. It leaves out what every hop changes (Via, Max-Forwards,
// Record-Route), and also the CSeq method, the To tag, Proxy-Require and
// Proxy-Authorization: a CANCEL and the ACK for a non-2xx must get their
// INVITE's branch (§16.11), yet their method differs, that ACK carries the
// response's To tag and a CANCEL carries no Proxy-Require (§9.1) and no
// credentials. Proxies never change those fields of a request they
// forward, so leaving them out loses no spiral; and a request with
// Proxy-Require is answered 420 before it is forwarded anyway.
//
// Limitation (the same as the stateful check): a request that comes back
// with the same Request-URI and Route but would take another route
// because of its source address (`source_cidrs`) or a header condition is
// taken for a loop; `server.loop_detection = false` turns the check off.
//
// Pure functions over a parsed Message; no state, no allocation.
#pragma once

#include <cstdint>
#include <vector>

#include "sipshard/sip/message.h"
#include "sipshard/sip/text.h"
#include "sipshard/sip/via.h"
#include "sipshard/txn/branch_id.h"

namespace sipshard::proxy {

struct ListenIdentity;

// Calls `visit(via)` for each Via element of `request` that carries our
// branch marker, in order, until one call returns true; returns whether
// one did. The walk both loop checks share (this one and
// StatefulProxy::IsLoop): a value without the marker costs one substring
// search and is never parsed.
template <typename Visit>
bool AnyViaOfOurs(const sip::Message& request, Visit&& visit) {
  for (size_t i = 0; i < request.header_count; ++i) {
    const sip::HeaderField& field = request.header_fields[i];
    if (field.id != sip::HeaderId::kVia ||
        field.value.find(txn::kBranchMarker) == std::string_view::npos) {
      continue;
    }
    sip::ListSplitter elements(field.value);
    std::string_view element;
    while (elements.Next(&element)) {
      if (element.find(txn::kBranchMarker) == std::string_view::npos) continue;
      sip::Via via;
      if (sip::ParseVia(element, &via) && visit(via)) return true;
    }
  }
  return false;
}

// The loop hash of `request` (see above).
uint64_t StatelessLoopHash(const sip::Message& request);

// True when a Via of `request` was sent by one of `listens` and carries a
// stateless branch of ours whose loop hash is StatelessLoopHash(request).
// Only Via values that contain txn::kBranchMarker are parsed, and the hash
// is computed only when one does, so a request that never passed here
// costs one substring search per Via field.
bool IsStatelessLoop(const sip::Message& request, const std::vector<ListenIdentity>& listens);

}  // namespace sipshard::proxy
