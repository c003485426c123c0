// Route header helpers for §16.4 route processing, shared by the stateless
// and the stateful paths: where the Route set starts and ends, the
// strict-router rewrite (the last Route value becomes the Request-URI),
// and the Record-Route parameter that marks a dialog as created through a
// stateful route.
//
// Pure functions over a parsed Message; no state.
#pragma once

#include <cstddef>
#include <string_view>

#include "sipshard/sip/message.h"
#include "sipshard/sip/message_writer.h"

namespace sipshard::proxy {

// Our Record-Route URI carries `sx=t` when the route that record-routed
// the dialog is stateful: in-dialog requests that come back through it
// are then relayed statefully too (t_relay), without any dialog state.
inline constexpr std::string_view kStatefulDialogParam = "sx";
inline constexpr std::string_view kStatefulDialogValue = "t";

// The Route elements of a request, in order: the first two and the last.
struct RouteSet {
  std::string_view first;
  std::string_view second;
  std::string_view last;
  size_t count = 0;
};
RouteSet FindRoutes(const sip::Message& msg);

// Returns the URI (without angle brackets) of the last Route element, or
// "" when there is none or it does not parse.
std::string_view LastRouteUri(const sip::Message& msg);

// §16.4 strict-router compatibility: replaces the Request-URI with the
// last Route value and removes that value. Returns false when the request
// has no usable last Route (the writer is then left unchanged).
bool ApplyStrictRoute(const sip::Message& msg, sip::MessageWriter& writer);

}  // namespace sipshard::proxy
