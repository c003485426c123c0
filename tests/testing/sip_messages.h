// Canonical SIP messages shared by unit tests, integration tests and
// benchmarks, so that every layer is exercised with the same realistic
// traffic (a ~900-byte INVITE with SDP, a ~350-byte 200 OK, ...).
#pragma once

#include <string>
#include <string_view>

namespace sipshard::testing {

// A typical INVITE from a carrier trunk: 2 Vias, Record-Route, SDP body.
std::string TypicalInvite(std::string_view call_id = "a84b4c76e66710@pc33.atlanta.example.com",
                          std::string_view branch = "z9hG4bK776asdhds");

// A typical 200 OK to an OPTIONS/BYE, about 350 bytes.
std::string Typical200Ok(std::string_view call_id = "a84b4c76e66710@pc33.atlanta.example.com");

// Replaces every "\n" by "\r\n": test messages are written with plain
// newlines for readability.
std::string Crlf(std::string_view text);

}  // namespace sipshard::testing
