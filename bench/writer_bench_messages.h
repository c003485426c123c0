// Messages for the writer and builder benchmarks, as string literals.
//
// The benchmark binary links only sipshard_core, not tests/testing, so the
// canonical messages of tests/testing/sip_messages.h are repeated here with
// explicit CRLFs. (bench/bench_messages.h serves the parser benchmarks; the
// two are kept apart so that neither owner edits the other's file.)
#pragma once

#include <string_view>

namespace sipshard::bench::writer {

// The ~900-byte INVITE of TypicalInvite(): 2 Vias, Record-Route, SDP body.
inline constexpr std::string_view kInvite =
    "INVITE sip:+15551234567@pbx.example.com;user=phone SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n"
    "Via: SIP/2.0/UDP 198.51.100.7:5060;received=198.51.100.7;branch=z9hG4bKnashds8\r\n"
    "Max-Forwards: 69\r\n"
    "Record-Route: <sip:198.51.100.7;lr>\r\n"
    "From: \"Alice Caller\" <sip:+15557654321@carrier.example.net>;tag=1928301774\r\n"
    "To: <sip:+15551234567@pbx.example.com;user=phone>\r\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:+15557654321@192.0.2.10:5060;transport=udp>\r\n"
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, PRACK, UPDATE\r\n"
    "Supported: 100rel, timer\r\n"
    "User-Agent: CarrierSBC/4.2\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 240\r\n"
    "\r\n"
    "v=0\r\n"
    "o=alice 2890844526 2890844526 IN IP4 192.0.2.101\r\n"
    "s=-\r\n"
    "c=IN IP4 192.0.2.101\r\n"
    "t=0 0\r\n"
    "m=audio 49172 RTP/AVP 0 8 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-16\r\n"
    "a=ptime:20\r\n"
    "a=sendrecv\r\n";

// An OPTIONS that fails validation (no From): the 400 path.
inline constexpr std::string_view kRequestMissingFrom =
    "OPTIONS sip:pbx.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKop7731;rport\r\n"
    "Max-Forwards: 70\r\n"
    "To: <sip:pbx.example.com>\r\n"
    "Call-ID: 7731ab2@192.0.2.10\r\n"
    "CSeq: 1 OPTIONS\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

}  // namespace sipshard::bench::writer
