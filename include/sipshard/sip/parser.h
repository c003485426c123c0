// Parses and validates one SIP message (RFC 3261 §7, §18.3, §20, §25).
//
// One pass over the buffer: start line, header fields (names classified,
// values trimmed, folded lines kept in place), framing by Content-Length,
// then the eager typed fields and the checks every proxy needs. The cost is
// linear in the message size with a constant bound per header: no input can
// trigger a slow path. Stateless and thread-compatible.
#pragma once

#include <cstddef>
#include <string_view>

#include "sipshard/sip/message.h"
#include "sipshard/sip/parse_error.h"

namespace sipshard::sip {

struct ParseLimits {
  size_t max_message_size = 65535;
  size_t max_headers = 64;       // ≤ kMaxHeaderFields
  size_t max_header_line = 8192;  // one logical header line, folds included
};

// How the message arrived: a datagram's body is what follows the headers
// (cut to Content-Length); on a stream Content-Length is the framing.
enum class Framing : uint8_t { kDatagram, kStream };

// Parses `bytes` into `*msg`. On error the fields parsed so far stay filled
// in (so a 400 can still copy Via, From, To, Call-ID and CSeq); the first
// error found is returned. `bytes` must outlive `*msg`.
ParseError ParseMessage(std::string_view bytes, const ParseLimits& limits, Message* msg,
                        Framing framing = Framing::kDatagram);

// True when a request with this error can still be answered (it has a
// request line and is not an ACK, which never gets a response); the status
// code and reason come from Describe(error).
bool IsAnswerable(const Message& msg, ParseError error);

}  // namespace sipshard::sip
