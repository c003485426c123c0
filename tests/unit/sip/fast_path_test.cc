// The parser's fast paths (header lines found 64 bytes at a time, known
// "Name:" prefixes looked up by the colon, "Name: value" cut without
// trimming, the one-pass Via, name-addr, sip: URI and CSeq parsers, block
// scans of Call-ID and quoted strings, IPv4 hosts, ";tag=" in From/To,
// "SIP/2.0", Clear() skipping the key fields) must give exactly what the
// general code gives. Differential test: every message of a corpus, and
// every single-byte mutation of it, is parsed with the fast paths on and
// off, into a fresh and into a reused Message, and every field (views
// compared by position, not just content) must agree. The element parsers
// the proxy calls directly (ParseVia, ParseNameAddr, ParseUri, ParseCSeq)
// get the same treatment on their own, with and without bytes after the
// element that the block scans may read.
#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sipshard/sip/cseq.h"
#include "sipshard/sip/internal/scan.h"
#include "sipshard/sip/name_addr.h"
#include "sipshard/sip/parser.h"
#include "sipshard/sip/text.h"
#include "sipshard/sip/uri.h"
#include "sipshard/sip/via.h"
#include "tests/testing/sip_messages.h"

namespace sipshard::sip {
namespace {

using ::sipshard::testing::Crlf;

// Same view: same bytes of the same buffer (or both empty).
::testing::AssertionResult SameView(std::string_view a, std::string_view b) {
  if (a.size() == b.size() && (a.empty() || a.data() == b.data())) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "\"" << a << "\" vs \"" << b << "\"";
}

void ExpectSameUri(const Uri& a, const Uri& b) {
  EXPECT_EQ(a.scheme, b.scheme);
  EXPECT_TRUE(SameView(a.scheme_text, b.scheme_text));
  EXPECT_TRUE(SameView(a.user, b.user));
  EXPECT_TRUE(SameView(a.password, b.password));
  EXPECT_TRUE(SameView(a.host, b.host));
  EXPECT_EQ(a.host_is_ipv6, b.host_is_ipv6);
  EXPECT_EQ(a.has_port, b.has_port);
  EXPECT_EQ(a.port, b.port);
  EXPECT_TRUE(SameView(a.params, b.params));
  EXPECT_TRUE(SameView(a.headers, b.headers));
  EXPECT_TRUE(SameView(a.raw, b.raw));
}

void ExpectSameNameAddr(const NameAddr& a, const NameAddr& b) {
  EXPECT_TRUE(SameView(a.display_name, b.display_name));
  EXPECT_TRUE(SameView(a.uri, b.uri));
  EXPECT_EQ(a.has_angle_brackets, b.has_angle_brackets);
  EXPECT_TRUE(SameView(a.params, b.params));
  EXPECT_TRUE(SameView(a.tag, b.tag));
  EXPECT_EQ(a.is_wildcard, b.is_wildcard);
  EXPECT_TRUE(SameView(a.raw, b.raw));
}

void ExpectSameVia(const Via& a, const Via& b) {
  EXPECT_TRUE(SameView(a.protocol_name, b.protocol_name));
  EXPECT_TRUE(SameView(a.protocol_version, b.protocol_version));
  EXPECT_TRUE(SameView(a.transport, b.transport));
  EXPECT_TRUE(SameView(a.host, b.host));
  EXPECT_EQ(a.host_is_ipv6, b.host_is_ipv6);
  EXPECT_EQ(a.has_port, b.has_port);
  EXPECT_EQ(a.port, b.port);
  EXPECT_TRUE(SameView(a.params, b.params));
  EXPECT_TRUE(SameView(a.branch, b.branch));
  EXPECT_TRUE(SameView(a.received, b.received));
  EXPECT_TRUE(SameView(a.maddr, b.maddr));
  EXPECT_EQ(a.has_rport, b.has_rport);
  EXPECT_EQ(a.rport, b.rport);
  EXPECT_EQ(a.ttl, b.ttl);
  EXPECT_TRUE(SameView(a.raw, b.raw));
}

void ExpectSameMessage(const Message& a, const Message& b) {
  EXPECT_TRUE(SameView(a.data, b.data));
  EXPECT_EQ(a.is_request, b.is_request);
  EXPECT_TRUE(SameView(a.start_line, b.start_line));
  EXPECT_EQ(a.method, b.method);
  EXPECT_TRUE(SameView(a.method_text, b.method_text));
  EXPECT_TRUE(SameView(a.request_uri_text, b.request_uri_text));
  ExpectSameUri(a.request_uri, b.request_uri);
  EXPECT_EQ(a.status_code, b.status_code);
  EXPECT_TRUE(SameView(a.reason_phrase, b.reason_phrase));
  ASSERT_EQ(a.header_count, b.header_count);
  for (size_t i = 0; i < a.header_count; ++i) {
    EXPECT_EQ(a.header_fields[i].id, b.header_fields[i].id) << i;
    EXPECT_TRUE(SameView(a.header_fields[i].name, b.header_fields[i].name)) << i;
    EXPECT_TRUE(SameView(a.header_fields[i].value, b.header_fields[i].value)) << i;
    EXPECT_TRUE(SameView(a.header_fields[i].line, b.header_fields[i].line)) << i;
  }
  EXPECT_EQ(a.first_index, b.first_index);
  EXPECT_EQ(a.counts, b.counts);
  EXPECT_EQ(a.headers_end, b.headers_end);
  EXPECT_TRUE(SameView(a.body, b.body));
  ExpectSameVia(a.top_via, b.top_via);
  EXPECT_EQ(a.top_via_field, b.top_via_field);
  EXPECT_TRUE(SameView(a.call_id, b.call_id));
  EXPECT_EQ(a.cseq.number, b.cseq.number);
  EXPECT_EQ(a.cseq.method, b.cseq.method);
  EXPECT_TRUE(SameView(a.cseq.method_text, b.cseq.method_text));
  ExpectSameNameAddr(a.from, b.from);
  ExpectSameNameAddr(a.to, b.to);
  EXPECT_EQ(a.max_forwards, b.max_forwards);
  EXPECT_EQ(a.content_length, b.content_length);
}

class FastPathTest : public ::testing::Test {
 protected:
  ~FastPathTest() override { internal::force_general_paths = false; }

  // Parses `bytes` four ways and expects the same error and fields:
  // general path into a cleared Message (the reference), fast path into a
  // cleared Message, and both into a Message that just held `dirty_`.
  void CheckEquivalent(const std::string& bytes) {
    SCOPED_TRACE(bytes);
    internal::force_general_paths = true;
    reference_->Clear();
    const ParseError want = ParseMessage(bytes, limits_, reference_.get());
    for (const bool general : {false, true}) {
      for (const bool reused : {false, true}) {
        internal::force_general_paths = general;
        if (reused) {
          ParseMessage(dirty_, limits_, msg_.get());
        } else {
          msg_->Clear();
        }
        const ParseError got = ParseMessage(bytes, limits_, msg_.get());
        EXPECT_EQ(got, want) << "general=" << general << " reused=" << reused;
        ExpectSameMessage(*msg_, *reference_);
        if (::testing::Test::HasFailure()) return;
      }
    }
    internal::force_general_paths = false;
  }

  const ParseLimits limits_{};
  const std::string dirty_ = testing::TypicalInvite();
  std::unique_ptr<Message> reference_ = std::make_unique<Message>();
  std::unique_ptr<Message> msg_ = std::make_unique<Message>();
};

std::vector<std::string> Corpus() {
  return {
      testing::TypicalInvite(),
      testing::Typical200Ok(),
      // Compact and odd-case names, space before the colon, unknown names.
      Crlf("INVITE sip:bob@example.com SIP/2.0\n"
           "v: SIP/2.0/TCP client.example.com:5060;branch=z9hG4bK74b\n"
           "VIA : SIP/2.0/UDP [2001:db8::9:1]:5070;received=192.0.2.1;rport=5070;ttl=3\n"
           "f: Bob <sip:bob@example.com>;TAG=abc;x=\"q;r\"\n"
           "t: sip:bob@example.com;tag=123\n"
           "i: a84b4c76e66710@pc33.example.com\n"
           "CSEQ: 1 INVITE\n"
           "max-forwards: 70\n"
           "X-Custom: hello\n"
           "Content-Length : 0\n"
           "\n"),
      // Via with LWS inside sent-protocol and a comment; quoted tag.
      Crlf("OPTIONS sips:[2001:db8::10]:5061;transport=tls SIP/2.0\n"
           "Via: SIP / 2.0 / TLS host.example.com ; branch = z9hG4bK1 (comment)\n"
           "Via: sip/2.0/UDP 10.0.0.1,SIP/2.0/UDP 10.0.0.2\n"
           "From: \"A \\\"q\\\" B\" <sip:a@x.org>;tag=\"quoted\"\n"
           "To: <tel:+1-555-0100>;tag= spaced\n"
           "Call-ID: x\n"
           "CSeq: 0009 OPTIONS\n"
           "Content-Length: 0\n"
           "\n"),
      // Folded lines and IPv4-like hosts that are not IPv4.
      Crlf("REGISTER sip:256.1.1.1 SIP/2.0\n"
           "Via: SIP/2.0/UDP 1.2.3.4.5:5060\n"
           " ;branch=z9hG4bKfold\n"
           "From: <sip:u@1.2.3>;tag=t;tag=u\n"
           "To: sip:u@01.002.3.4\n"
           "Call-ID: fold\n"
           "CSeq: 2 REGISTER\n"
           "Contact: *\n"
           "Expires: 0\n"
           "\n"),
      Crlf("SIP/2.0 180 Ringing\n"
           "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx;received=1.2.3.4\n"
           "From: sip:a@example.com;tag=1\n"
           "To: \"B\"<sip:b@example.com>;tag=\n"
           "Call-ID: r\n"
           "CSeq: 3 INVITE\n"
           "\n"),
  };
}

// Messages aimed at the edges of the line scan: lines longer than the
// 64-byte window, a name whose ':' is past the first 32 bytes, the longest
// known names, the end of the buffer less than 64 bytes after a line start
// (no empty line, no final CRLF), long Via parameter lists, URIs with a
// password, port, sips: and upper-case schemes.
std::vector<std::string> EdgeCorpus() {
  return {
      Crlf("OPTIONS SIPS:alice:secret@Example.COM:5061;transport=tls;lr;maddr=10.0.0.1 SIP/2.0\n"
           "Via: SIP/2.0/TLS proxy-1.example.com:5061"
           ";branch=z9hG4bKabcdefghijklmnopqrstuvwxyz0123456789;received=10.1.2.3;rport=5061"
           ";ttl=16;maddr=239.1.1.1\n"
           "Proxy-Authorization: Digest username=\"alice\", realm=\"example.com\", "
           "nonce=\"abc\", uri=\"sip:example.com\", response=\"0123456789abcdef\"\n"
           "Request-Disposition: proxy, recurse, parallel\n"
           "X-A-Very-Long-Header-Name-Of-Forty-Bytes: value:with:colons\n"
           "From: <sip:alice@example.com;transport=udp>;tag=8a8sdg87s;epid=0123456789\n"
           "To: \"Bob \\\"the builder\\\"\" <sips:bob@biloxi.example.com>\n"
           "Call-ID: 8a8sdg87s-0123456789abcdef-0123456789abcdef@10.0.0.1\n"
           "CSeq: 4711 OPTIONS\n"
           "Max-Forwards: 0\n"
           "Contact: <sip:alice@10.0.0.1:5060>;expires=3600"
           ";+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"\n"
           "Content-Length: 0\n"
           "\n"),
      // No empty line, no final line break: the last lines are closer to the
      // end of the buffer than one window.
      "SIP/2.0 100 Trying\r\n"
      "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1;rport=5060\r\n"
      "From: <sip:a@b>;tag=1\r\n"
      "To: <sip:c@d>\r\n"
      "Call-ID: x@y\r\n"
      "CSeq: 1 INVITE",
      Crlf("BYE sip:bob@192.0.2.4:5070;lr SIP/2.0\n"
           "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKnashds7;received=192.0.2.1;rport\n"
           "Route: <sip:10.0.0.1;lr>,<sip:10.0.0.2;lr>\n"
           "From: sip:alice@atlanta.example.com;tag=a73kszlfl\n"
           "To: Bob <sip:bob@biloxi.example.com>;tag=1410948204\n"
           "Call-ID: a84b4c76e66710\n"
           "CSeq: 231 BYE\n"
           "Content-Length: 0\n"
           "\n"),
  };
}

TEST_F(FastPathTest, CorpusParsesTheSameBothWays) {
  for (const std::string& message : Corpus()) CheckEquivalent(message);
}

// Every single-byte substitution, deletion and insertion in the start line
// and headers of each corpus message: reaches the edges of each fast path
// (a name one letter off, a missing colon, a quote inside a tag, a fourth
// IPv4 digit, ...) without hand-writing them.
TEST_F(FastPathTest, EdgeCorpusParsesTheSameBothWays) {
  for (const std::string& message : EdgeCorpus()) CheckEquivalent(message);
}

constexpr char kMutationBytesArray[] = " \t\r\n:;=,\"<>\\(@?%.-0A9za[]\x7f\x80";
constexpr std::string_view kMutationBytes(kMutationBytesArray, sizeof(kMutationBytesArray) - 1);

TEST_F(FastPathTest, MutationsParseTheSameBothWays) {
  const std::string_view kBytes = kMutationBytes;
  std::vector<std::string> corpus = Corpus();
  for (std::string& m : EdgeCorpus()) corpus.push_back(std::move(m));
  for (const std::string& message : corpus) {
    const size_t end = std::min(message.size(), message.find("\r\n\r\n") + 4);
    for (size_t i = 0; i < end; ++i) {
      for (char c : kBytes) {
        std::string m = message;
        m[i] = c;
        CheckEquivalent(m);
        CheckEquivalent(message.substr(0, i) + c + message.substr(i));
      }
      CheckEquivalent(message.substr(0, i) + message.substr(i + 1));
      if (HasFailure()) return;
    }
  }
}

// ---- the element parsers on their own ----------------------------------

// Runs `parse(element, readable)` (readable: the bytes that may be read
// from element.data(), at least element.size()) with the general code and
// with the fast paths, the element alone and followed by more bytes (with
// an address sanitizer, a block read past what is allowed is caught), and
// expects the same result and fields: on failure too where the parser
// keeps what a failed parse left (Via, From, To).
template <typename T, typename Parse, typename Same>
void CheckElement(std::string_view element, Parse parse, Same same, bool same_on_failure) {
  SCOPED_TRACE(std::string(element));
  // Each copy in its own allocation of exactly its size.
  const std::vector<char> alone(element.begin(), element.end());
  const std::string_view text(alone.data(), alone.size());
  std::string padded(element);
  padded.append("\r\nSubject: more of the message after the element\r\n\r\n");
  const std::string_view inner(padded.data(), element.size());

  for (const std::string_view in : {text, inner}) {
    const size_t readable = in.data() == padded.data() ? padded.size() : in.size();
    internal::force_general_paths = true;
    T want{};
    const bool want_ok = parse(in, in.size(), &want);
    internal::force_general_paths = false;
    for (const size_t limit : {in.size(), readable}) {
      T got{};
      const bool got_ok = parse(in, limit, &got);
      EXPECT_EQ(got_ok, want_ok) << "readable=" << limit;
      if (got_ok == want_ok && (want_ok || same_on_failure)) same(got, want);
    }
  }
}

std::vector<std::string> Mutations(const std::vector<std::string>& corpus) {
  std::vector<std::string> out;
  for (const std::string& element : corpus) {
    out.push_back(element);
    for (size_t i = 0; i <= element.size(); ++i) {
      for (char c : kMutationBytes) {
        if (i < element.size()) {
          std::string m = element;
          m[i] = c;
          out.push_back(std::move(m));
        }
        out.push_back(element.substr(0, i) + c + element.substr(i));
      }
      if (i < element.size()) out.push_back(element.substr(0, i) + element.substr(i + 1));
    }
  }
  return out;
}

TEST(FastPathElementTest, ViaParsesTheSameBothWays) {
  const std::vector<std::string> corpus = {
      "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport",
      "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKbye7a1;rport=5060;received=192.0.2.10",
      "SIP/2.0/TCP client.example.com;branch=z9hG4bK1;ttl=3;maddr=224.0.0.1;x=y=z",
      "SIP/2.0/UDP h",
      "SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKa;RPORT;Received",
  };
  for (const std::string& element : Mutations(corpus)) {
    CheckElement<Via>(
        element,
        [](std::string_view in, size_t readable, Via* out) {
          // ParseViaFastPath (the parser's entry) only speaks for the
          // values it takes; ParseVia always decides.
          Via fast;
          if (internal::ParseViaFastPath(in, readable, &fast)) {
            Via general;
            const bool saved = internal::force_general_paths;
            internal::force_general_paths = true;
            EXPECT_TRUE(ParseVia(in, &general));
            internal::force_general_paths = saved;
            ExpectSameVia(fast, general);
          }
          return ParseVia(in, out);
        },
        ExpectSameVia, true);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(FastPathElementTest, NameAddrParsesTheSameBothWays) {
  const std::vector<std::string> corpus = {
      "\"Alice Caller\" <sip:+15557654321@carrier.example.net>;tag=1928301774",
      "<sip:bob@example.com>",
      "<sip:alice@example.net>;tag=a00000001;x=\"q;r\"",
      "\"A \\\"q\\\" B\" \t<sip:a@x.org> ;tag=\"quoted\"",
      "Bob <sip:bob@example.com>;tag=b",
      "sip:bob@example.com;tag=123",
  };
  for (const std::string& element : Mutations(corpus)) {
    CheckElement<NameAddr>(
        element,
        [](std::string_view in, size_t readable, NameAddr* out) {
          return readable == in.size() ? ParseNameAddr(in, out)
                                       : internal::ParseNameAddrIn(in, readable, out);
        },
        ExpectSameNameAddr, true);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(FastPathElementTest, UriParsesTheSameBothWays) {
  const std::vector<std::string> corpus = {
      "sip:+15551234567@pbx.example.com;user=phone",
      "SIPS:alice:secret@Example.COM:5061;transport=tls;lr",
      "sip:127.0.0.1:5060;lr;sx=t",
      "sip:bob@192.0.2.4",
      "sips:a@b.c;x=\"q\";y",
  };
  for (const std::string& element : Mutations(corpus)) {
    CheckElement<Uri>(
        element,
        [](std::string_view in, size_t readable, Uri* out) {
          return internal::ParseUriIn(in, readable, out);
        },
        ExpectSameUri, false);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(FastPathElementTest, CSeqParsesTheSameBothWays) {
  for (const std::string& element : Mutations({"314159 INVITE", "1 ACK", "2147483647 X-Y"})) {
    CheckElement<CSeq>(
        element, [](std::string_view in, size_t, CSeq* out) { return ParseCSeq(in, out); },
        [](const CSeq& a, const CSeq& b) {
          EXPECT_EQ(a.number, b.number);
          EXPECT_EQ(a.method, b.method);
          EXPECT_TRUE(SameView(a.method_text, b.method_text));
        },
        true);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(FastPathElementTest, QuotedStringsSkipTheSameBothWays) {
  const std::vector<std::string> corpus = {"\"Alice Caller\" <x>", "\"a\\\"b\\\\\" c",
                                           "\"0123456789abcdef0123456789\\\"x\"y"};
  for (const std::string& element : Mutations(corpus)) {
    internal::force_general_paths = true;
    const size_t want = SkipQuotedString(element, 0);
    internal::force_general_paths = false;
    EXPECT_EQ(SkipQuotedString(element, 0), want) << element;
  }
}

// ---- the block scans against byte loops -----------------------------------

TEST(ScanTest, FindAndClassifyMatchByteLoops) {
  // Every length up to 80, every position of a special byte, with and
  // without bytes readable past the end.
  const std::string specials = std::string(";=\":\n") + '\0' + "\x7f\x80 \t";
  for (size_t n = 0; n <= 80; ++n) {
    for (size_t at = 0; at <= n; ++at) {
      for (const char special : specials) {
        std::string buffer(n + 32, 'a');
        if (at < n) buffer[at] = special;
        buffer[n] = ';';  // past the view: must never be found
        for (const size_t readable : {n, n + 1, n + 15, n + 16, n + 32}) {
          // The view alone in an allocation of `readable` bytes.
          const std::vector<char> copy(buffer.begin(),
                                       buffer.begin() + static_cast<std::ptrdiff_t>(readable));
          const char* p = copy.data();
          size_t want = n;
          for (size_t i = 0; i < n; ++i) {
            if (static_cast<unsigned char>(p[i]) <= 0x20 || p[i] == ';' || p[i] == '\x7f') {
              want = i;
              break;
            }
          }
          ASSERT_EQ((internal::FindCtlOr<';', '\x7f'>(p, n, readable)), want)
              << "n=" << n << " at=" << at << " readable=" << readable;
          size_t want_any = n;
          for (size_t i = 0; i < n; ++i) {
            if (p[i] == '"' || p[i] == ':') {
              want_any = i;
              break;
            }
          }
          ASSERT_EQ((internal::FindAny<'"', ':'>(p, n, readable)), want_any);
          if (n <= internal::kMaxParamMasks) {
            const internal::ParamMasks m = internal::ClassifyParams<'"'>(p, n, readable);
            uint64_t semi = 0, equal = 0, other = 0;
            for (size_t i = 0; i < n; ++i) {
              if (p[i] == ';') semi |= uint64_t{1} << i;
              if (p[i] == '=') equal |= uint64_t{1} << i;
              if (static_cast<unsigned char>(p[i]) <= 0x20 || p[i] == '"') {
                other |= uint64_t{1} << i;
              }
            }
            ASSERT_EQ(m.semi, semi);
            ASSERT_EQ(m.equal, equal);
            ASSERT_EQ(m.other, other);
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace sipshard::sip
