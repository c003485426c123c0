// Builds the messages sipshard originates itself: responses to requests
// (100 Trying, 4xx/5xx on validation or routing failure, 408/487/500 from
// the proxy core), CANCEL and non-2xx ACK towards a downstream branch, and
// OPTIONS health probes.
//
// Each builder writes one complete message into a caller-provided buffer
// (a send-pool slot) and returns its length; nothing is allocated and no
// state is kept. Header lines are copied from the source messages as
// written (compact names, folding and all) wherever the RFC says "copy";
// only the lines sipshard composes itself use canonical names.
//
// Which message a builder starts from matters (DESIGN-NOTES §5, pitfalls
// 1-3): CANCEL and the non-2xx ACK are built from the OUTGOING INVITE (the
// bytes we sent to that branch, re-parsed), never from the INVITE we
// received, so they carry our Via branch, the Request-URI and Route set we
// used; the ACK takes the To (with its tag) from the response.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "sipshard/sip/message.h"
#include "sipshard/sip/message_writer.h"

namespace sipshard::sip {

// Returns the standard reason phrase of a status code (RFC 3261 §21 and
// later RFCs), or "" for a code without one.
std::string_view DefaultReasonPhrase(int code);

struct ResponseOptions {
  // To tag added when the request's To has none and the code is above 100
  // (§8.2.6.2). The caller chooses it, so retransmitted answers to one
  // request carry the same tag. Empty: never add one.
  std::string_view to_tag;
  // Source of the request, filled into the top Via as `received` and
  // `rport` (§18.2.1, RFC 3581 §4), so that the response can be routed
  // back by Via alone. Empty / 0: leave the Via as it was written.
  std::string_view source_ip;
  uint16_t source_port = 0;
  // Extra header lines without CRLF, written before Content-Length in this
  // order, e.g. "Retry-After: 30", "Warning: 399 sipshard \"...\"",
  // "Server: sipshard". The caller keeps the array alive for the call.
  std::span<const std::string_view> extra_headers;
};

// Builds a response to `request` (§8.2.6): all Via lines in order (the top
// one with received/rport filled in per `options`), From, To (tagged, see
// ResponseOptions::to_tag), Call-ID, CSeq, Timestamp for a 100 (§8.2.6.1),
// the extra headers and `Content-Length: 0`. Works on a request that
// failed validation: whatever of those headers exists is copied, so the
// 400 path can use it. An empty `reason` takes DefaultReasonPhrase(code).
// Fails with kInvalidArgument for a code outside 100-699 and with
// kBufferTooSmall when `out` is too short.
WriteResult BuildResponse(const Message& request, int code, std::string_view reason,
                          const ResponseOptions& options, std::span<char> out);

// Builds the CANCEL for a pending INVITE branch (§9.1): the INVITE's
// Request-URI, its top Via element only (ours, same branch), its Route
// lines, From, To, Call-ID, `CSeq: <n> CANCEL`, `Max-Forwards: 70`,
// `Content-Length: 0`. Needs Via, From, To, Call-ID and CSeq
// (kMissingHeader otherwise).
WriteResult BuildCancel(const Message& outgoing_invite, std::span<char> out);

// Builds the ACK for a non-2xx final response to our INVITE (§17.1.1.3):
// like the CANCEL, but To comes from `response` (with the tag the UAS
// chose) and the CSeq method is ACK.
WriteResult BuildNon2xxAck(const Message& outgoing_invite, const Message& response,
                           std::span<char> out);

// An OPTIONS health probe towards one destination.
struct OptionsProbe {
  std::string_view request_uri;  // e.g. "sip:10.0.0.5:5060"
  std::string_view via_value;    // ours, with a fresh branch (see ViaValue)
  std::string_view from_uri;     // e.g. "sip:sipshard@10.0.0.1"
  std::string_view from_tag;
  std::string_view to_uri;   // empty: the Request-URI
  std::string_view call_id;  // chosen so that it hashes to the probing shard
  uint32_t cseq = 1;
  std::span<const std::string_view> extra_headers;  // lines without CRLF
};

// Builds `OPTIONS` with Via, Max-Forwards 70, From with tag, To, Call-ID,
// CSeq, the extra headers and Content-Length 0 (§11.1).
WriteResult BuildOptions(const OptionsProbe& probe, std::span<char> out);

}  // namespace sipshard::sip
