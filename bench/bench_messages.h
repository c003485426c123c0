// Canonical messages for benchmarks, built from string literals.
//
// They mirror tests/testing/sip_messages.h (TypicalInvite, Typical200Ok) for
// benchmarks that do not link sipshard_test_messages. parser_benchmark.cc
// uses the canonical builders directly.
#pragma once

#include <string>
#include <string_view>

namespace sipshard::bench {

// Replaces every "\n" by "\r\n".
inline std::string Crlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 16);
  for (char c : text) {
    if (c == '\n') out.push_back('\r');
    out.push_back(c);
  }
  return out;
}

// A ~900-byte INVITE from a carrier trunk: 2 Vias, Record-Route, SDP body.
inline std::string BenchInvite() {
  const std::string sdp = Crlf(
      "v=0\n"
      "o=alice 2890844526 2890844526 IN IP4 192.0.2.101\n"
      "s=-\n"
      "c=IN IP4 192.0.2.101\n"
      "t=0 0\n"
      "m=audio 49172 RTP/AVP 0 8 101\n"
      "a=rtpmap:0 PCMU/8000\n"
      "a=rtpmap:8 PCMA/8000\n"
      "a=rtpmap:101 telephone-event/8000\n"
      "a=fmtp:101 0-16\n"
      "a=ptime:20\n"
      "a=sendrecv\n");
  const std::string head = Crlf(
      "INVITE sip:+15551234567@pbx.example.com;user=phone SIP/2.0\n"
      "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\n"
      "Via: SIP/2.0/UDP 198.51.100.7:5060;received=198.51.100.7;branch=z9hG4bKnashds8\n"
      "Max-Forwards: 69\n"
      "Record-Route: <sip:198.51.100.7;lr>\n"
      "From: \"Alice Caller\" <sip:+15557654321@carrier.example.net>;tag=1928301774\n"
      "To: <sip:+15551234567@pbx.example.com;user=phone>\n"
      "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\n"
      "CSeq: 314159 INVITE\n"
      "Contact: <sip:+15557654321@192.0.2.10:5060;transport=udp>\n"
      "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, PRACK, UPDATE\n"
      "Supported: 100rel, timer\n"
      "User-Agent: CarrierSBC/4.2\n"
      "Content-Type: application/sdp\n"
      "Content-Length: " +
      std::to_string(sdp.size()) +
      "\n"
      "\n");
  return head + sdp;
}

// A ~350-byte 200 OK to a BYE.
inline std::string Bench200Ok() {
  return Crlf(
      "SIP/2.0 200 OK\n"
      "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKbye7a1;rport=5060;received=192.0.2.10\n"
      "From: <sip:+15557654321@carrier.example.net>;tag=1928301774\n"
      "To: <sip:+15551234567@pbx.example.com>;tag=a6c85cf\n"
      "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\n"
      "CSeq: 314160 BYE\n"
      "Server: PBX/1.0\n"
      "Content-Length: 0\n"
      "\n");
}

}  // namespace sipshard::bench
