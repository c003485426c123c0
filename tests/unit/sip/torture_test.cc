// RFC 4475 "SIP Torture Test Messages", one test per message category.
//
// The messages are our own, each written to exercise the same trick as the
// RFC's message of the same name (short, so the assertion shows what is
// being tested). sipshard is a proxy: "valid" means the parser accepts the
// message (ParseError::kNone) and the proxy fields come out right, including
// for what a proxy must forward without understanding (unknown methods,
// schemes, headers). "Invalid" asserts the exact ParseError and, for a
// request, the answer it gets (status code and reason) or that it is
// dropped.
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "sipshard/sip/call_id_scan.h"
#include "sipshard/sip/parser.h"
#include "sipshard/sip/text.h"
#include "tests/testing/sip_messages.h"

namespace sipshard::sip {
namespace {

using ::sipshard::testing::Crlf;

class TortureTest : public ::testing::Test {
 protected:
  ParseError Parse(const std::string& bytes) {
    bytes_ = bytes;
    const ParseError e = ParseMessage(bytes_, limits_, msg_.get());
    if (e == ParseError::kNone) {
      // Shard choice must agree with the full parser on every valid message.
      EXPECT_EQ(FindCallId(bytes_), msg_->call_id);
    }
    return e;
  }
  // Asserts that the message is answered with `code` and `reason`.
  void ExpectAnswer(ParseError e, int code, std::string_view reason) {
    EXPECT_TRUE(IsAnswerable(*msg_, e));
    EXPECT_EQ(Describe(e).status_code, code);
    EXPECT_EQ(Describe(e).reason, reason);
  }
  std::string Header(HeaderId id) const {
    const HeaderField* f = msg_->Find(id);
    return f == nullptr ? "<absent>" : std::string(f->value);
  }

  ParseLimits limits_;
  std::string bytes_;
  std::unique_ptr<Message> msg_ = std::make_unique<Message>();
};

// --- 3.1.1 Valid messages ---------------------------------------------------

// wsinv: white space everywhere it may appear, line folding, mixed-case and
// compact header names, leading zeros, empty and unknown headers.
TEST_F(TortureTest, WsinvShortTortuousInvite) {
  const std::string m = Crlf(
      "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\n"
      "TO :\n"
      " sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\n"
      "from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\n"
      "  ;\n"
      "  tag = 98asjd8\n"
      "MaX-fOrWaRdS: 0068\n"
      "Call-ID: wsinv.ndaksdj@192.0.2.1\n"
      "Content-Length   : 0\n"
      "cseq: 0009\n"
      "  INVITE\n"
      "Via  : SIP  /   2.0\n"
      " /UDP\n"
      "    192.0.2.2;branch=390skdjuw\n"
      "s :\n"
      "NewFangledHeader:   newfangled value\n"
      " continued newfangled value\n"
      "UnknownHeaderWithUnusualValue: ;;,,;;,;\n"
      "Route:\n"
      " <sip:services.example.com;lr;unknownwith=value;unknown-no-value>\n"
      "v:  SIP  / 2.0  / TCP     spindle.example.com   ;\n"
      "  branch  =   z9hG4bK9ikj8  ,\n"
      " SIP  /    2.0   / UDP  192.168.255.111   ; branch=\n"
      " z9hG4bK30239\n"
      "m:\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\n"
      "      newvalue ;\n"
      "  secondparam ; q = 0.33\n"
      "\n");
  ASSERT_EQ(Parse(m), ParseError::kNone);
  EXPECT_EQ(msg_->method, Method::kInvite);
  EXPECT_EQ(msg_->request_uri.user, "vivekg");
  EXPECT_TRUE(msg_->request_uri.HasParam("unknownparam"));
  EXPECT_EQ(msg_->to.uri, "sip:vivekg@chair-dnrc.example.com");
  EXPECT_FALSE(msg_->to.has_angle_brackets);
  EXPECT_EQ(msg_->to.tag, "1918181833n");
  EXPECT_EQ(msg_->from.display_name, "\"J Rosenberg \\\\\\\"\"");
  EXPECT_EQ(msg_->from.uri, "sip:jdrosen@example.com");
  EXPECT_EQ(msg_->from.tag, "98asjd8");
  EXPECT_EQ(msg_->max_forwards, 68);
  EXPECT_EQ(msg_->call_id, "wsinv.ndaksdj@192.0.2.1");
  EXPECT_EQ(msg_->content_length, 0);
  EXPECT_EQ(msg_->cseq.number, 9u);
  EXPECT_EQ(msg_->cseq.method, Method::kInvite);
  EXPECT_EQ(msg_->top_via.protocol_name, "SIP");
  EXPECT_EQ(msg_->top_via.protocol_version, "2.0");
  EXPECT_EQ(msg_->top_via.transport, "UDP");
  EXPECT_EQ(msg_->top_via.host, "192.0.2.2");
  EXPECT_EQ(msg_->top_via.branch, "390skdjuw");
  EXPECT_FALSE(msg_->top_via.has_magic_cookie());
  EXPECT_EQ(msg_->Count(HeaderId::kVia), 2);
  EXPECT_EQ(msg_->Count(HeaderId::kSubject), 1);
  EXPECT_EQ(Header(HeaderId::kSubject), "");
  EXPECT_EQ(msg_->Count(HeaderId::kContact), 1);
  EXPECT_EQ(msg_->Count(HeaderId::kOther), 2);
  // The second Via header (compact form) holds two folded elements.
  const HeaderField& v = msg_->header_fields[msg_->header_count - 2];
  EXPECT_EQ(v.id, HeaderId::kVia);
  EXPECT_EQ(v.name, "v");
  ListSplitter split(v.value);
  std::string_view element;
  Via via;
  ASSERT_TRUE(split.Next(&element));
  ASSERT_TRUE(ParseVia(element, &via));
  EXPECT_EQ(via.transport, "TCP");
  EXPECT_EQ(via.host, "spindle.example.com");
  EXPECT_EQ(via.branch, "z9hG4bK9ikj8");
  ASSERT_TRUE(split.Next(&element));
  ASSERT_TRUE(ParseVia(element, &via));
  EXPECT_EQ(via.host, "192.168.255.111");
  EXPECT_EQ(via.branch, "z9hG4bK30239");
  EXPECT_FALSE(split.Next(&element));
  NameAddr contact;
  ASSERT_TRUE(ParseNameAddr(msg_->Find(HeaderId::kContact)->value, &contact));
  EXPECT_EQ(contact.display_name, "\"Quoted string \\\"\\\"\"");
  std::string_view q;
  ASSERT_TRUE(FindParam(contact.params, "q", &q));
  EXPECT_EQ(q, "0.33");
  ASSERT_TRUE(FindParam(contact.params, "secondparam", &q));
  EXPECT_EQ(q, "");
}

// intmeth: every token character in the method, the widest userinfo and
// password, quoted-pairs of control characters in a display name, UTF-8.
TEST_F(TortureTest, IntmethWideRangeOfValidCharacters) {
  const std::string method = "!interesting-Method0123456789_*+`.%indeed'~";
  std::string m = Crlf(
      method + " sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too."
               "(doesn't-it)@example.com SIP/2.0\n"
      "Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\n"
      "To: \"BEL:\\\a NUL:\\@ DEL:\\\x7f\" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@"
      "example.com>\n"
      "From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%="
      "\"\xd1\x80\xd0\xb0\xd0\xb1\xd0\xbe\xd1\x82\xd0\xb0\";tag=_token~1'+`*%!-.\n"
      "Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{\n"
      "CSeq: 139122385 " + method + "\n"
      "Max-Forwards: 255\n"
      "extensionHeader-!.%*+_`'~:\xef\xbb\xbf\xe5\xa4\xa7\xe5\x81\x9c\xe9\x9b\xbb\n"
      "Content-Length: 0\n"
      "\n");
  m[m.find("NUL:\\@") + 5] = '\0';  // a real NUL as the quoted-pair
  ASSERT_EQ(Parse(m), ParseError::kNone);
  EXPECT_EQ(msg_->method, Method::kOther);
  EXPECT_EQ(msg_->method_text, method);
  EXPECT_EQ(msg_->cseq.method_text, method);
  EXPECT_EQ(msg_->request_uri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
  EXPECT_EQ(msg_->request_uri.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
  EXPECT_EQ(msg_->request_uri.host, "example.com");
  EXPECT_EQ(msg_->top_via.branch, "z9hG4bK-.!%66*_+`'~");
  EXPECT_EQ(msg_->to.uri, "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com");
  EXPECT_EQ(msg_->from.display_name, "token1~` token2'+_ token3*%!.-");
  EXPECT_EQ(msg_->from.tag, "_token~1'+`*%!-.");
  EXPECT_EQ(msg_->call_id, "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
  EXPECT_EQ(msg_->cseq.number, 139122385u);
  EXPECT_EQ(msg_->max_forwards, 255);
  EXPECT_EQ(msg_->header_fields[6].name, "extensionHeader-!.%*+_`'~");
}

// esc01: escaped characters in the Request-URI user, in URI parameters and
// in name-addr URIs, which a proxy forwards as written.
TEST_F(TortureTest, Esc01EscapedCharactersInUris) {
  const std::string m = Crlf(
      "INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0\n"
      "To: sip:%75se%72@example.com\n"
      "From: <sip:I%20have%20spaces@example.net>;tag=938\n"
      "Max-Forwards: 87\n"
      "i: esc01.239409asdfakjkn23onasd0-3234\n"
      "CSeq: 234234 INVITE\n"
      "Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw\n"
      "C: application/sdp\n"
      "Contact:\n"
      "  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>\n"
      "l: 0\n"
      "\n");
  ASSERT_EQ(Parse(m), ParseError::kNone);
  EXPECT_EQ(msg_->request_uri.user, "sips%3Auser%40example.com");
  EXPECT_EQ(msg_->request_uri.host, "example.net");
  EXPECT_EQ(msg_->to.uri, "sip:%75se%72@example.com");
  EXPECT_EQ(msg_->from.uri, "sip:I%20have%20spaces@example.net");
  EXPECT_EQ(msg_->call_id, "esc01.239409asdfakjkn23onasd0-3234");
  EXPECT_EQ(Header(HeaderId::kContentType), "application/sdp");
  EXPECT_EQ(msg_->content_length, 0);
  NameAddr contact;
  ASSERT_TRUE(ParseNameAddr(msg_->Find(HeaderId::kContact)->value, &contact));
  const std::optional<Uri> uri = ParseUri(contact.uri);
  ASSERT_TRUE(uri.has_value());
  EXPECT_EQ(uri->user, "cal%6Cer");
  EXPECT_TRUE(uri->HasParam("%6C%72"));
  EXPECT_EQ(uri->Param("n%61me"), "v%61lue%25%34%31");
}

// escnull: an escaped NUL (%00) in the user part is legal.
TEST_F(TortureTest, EscnullEscapedNulInUser) {
  const std::string m = Crlf(
      "REGISTER sip:example.com SIP/2.0\n"
      "To: sip:null-%00-null@example.com\n"
      "From: sip:null-%00-null@example.com;tag=839923423\n"
      "Max-Forwards: 70\n"
      "Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd\n"
      "CSeq: 14398234 REGISTER\n"
      "Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw\n"
      "Contact: <sip:%00@host5.example.com>\n"
      "Contact: <sip:%00%00@host5.example.com>\n"
      "L:0\n"
      "\n");
  ASSERT_EQ(Parse(m), ParseError::kNone);
  EXPECT_EQ(msg_->to.uri, "sip:null-%00-null@example.com");
  EXPECT_EQ(msg_->from.tag, "839923423");
  EXPECT_EQ(msg_->Count(HeaderId::kContact), 2);
  const std::optional<Uri> uri = ParseUri(msg_->to.uri);
  ASSERT_TRUE(uri.has_value());
  EXPECT_EQ(uri->user, "null-%00-null");
}

// esc02: '%' that is not an escape, in a method token and a quoted string.
// "RE%47IST%45R" is an unknown method, not REGISTER.
TEST_F(TortureTest, Esc02PercentThatIsNotAnEscape) {
  const std::string m = Crlf(
      "RE%47IST%45R sip:registrar.example.com SIP/2.0\n"
      "To: \"%Z%45\" <sip:resource@example.com>\n"
      "From: \"%Z%45\" <sip:resource@example.com>;tag=f232jadfj23\n"
      "Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf\n"
      "Via: SIP/2.0/TCP host.example.com;rport;branch=z9hG4bK209asdjf\n"
      "CSeq: 29344 RE%47IST%45R\n"
      "Max-Forwards: 70\n"
      "Content-Length: 0\n"
      "\n");
  ASSERT_EQ(Parse(m), ParseError::kNone);
  EXPECT_EQ(msg_->method, Method::kOther);
  EXPECT_EQ(msg_->method_text, "RE%47IST%45R");
  EXPECT_EQ(msg_->cseq.method, Method::kOther);
  EXPECT_EQ(msg_->to.display_name, "\"%Z%45\"");
  EXPECT_TRUE(msg_->top_via.has_rport);
  EXPECT_EQ(msg_->top_via.rport, -1);
}

// lwsdisp: no white space between a token display name and '<'.
TEST_F(TortureTest, LwsdispNoSpaceBeforeLaquot) {
  const std::string m = Crlf(
      "OPTIONS sip:user@example.com SIP/2.0\n"
      "To: sip:user@example.com\n"
      "From: caller<sip:caller@example.com>;tag=323\n"
      "Max-Forwards: 70\n"
      "Call-ID: lwsdisp.1234abcd@funky.example.com\n"
      "CSeq: 60 OPTIONS\n"
      "Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw\n"
      "l: 0\n"
      "\n");
  ASSERT_EQ(Parse(m), ParseError::kNone);
  EXPECT_EQ(msg_->from.display_name, "caller");
  EXPECT_EQ(msg_->from.uri, "sip:caller@example.com");
  EXPECT_EQ(msg_->from.tag, "323");
}

// longreq: long values everywhere and many Via header fields.
TEST_F(TortureTest, LongreqLongValues) {
  const std::string long_token(600, 'k');
  std::string m = "INVITE sip:user@example.com SIP/2.0\n"
                  "To: \"I have a user name of " + std::string(300, 'x') +
                  "\" <sip:user@example.com>\n"
                  "From: sip:caller@example.net;tag=" + long_token + "\n"
                  "Call-ID: longreq." + long_token + "\n"
                  "CSeq: 3882340 INVITE\n"
                  "Max-Forwards: 70\n"
                  "Unknown-" + long_token + "-Name: unknown-" + long_token + "-value\n"
                  "Via: SIP/2.0/TCP sip33.example.com;branch=z9hG4bK" + long_token + "\n";
  for (int i = 32; i > 0; --i) {
    m += (i % 2 ? "v: SIP/2.0/TCP sip" : "Via: SIP/2.0/UDP sip") + std::to_string(i) +
         ".example.com;branch=z9hG4bKb" + std::to_string(i) + "\n";
  }
  m += "Route: <sip:" + long_token + "@example.net;lr>\n"
       "Content-Length: 0\n\n";
  ASSERT_EQ(Parse(Crlf(m)), ParseError::kNone);
  EXPECT_EQ(msg_->Count(HeaderId::kVia), 33);
  EXPECT_EQ(msg_->top_via.host, "sip33.example.com");
  EXPECT_EQ(msg_->top_via.branch.size(), 7u + long_token.size());
  EXPECT_EQ(msg_->from.tag, long_token);
  EXPECT_EQ(msg_->call_id, "longreq." + long_token);
  EXPECT_EQ(msg_->to.display_name.size(), 2u + 22u + 300u);
}

// dblreq: two requests in one datagram. Content-Length frames the first;
// the second is not a body and is ignored.
TEST_F(TortureTest, DblreqTwoRequestsInOneDatagram) {
  const std::string first = Crlf(
      "REGISTER sip:example.com SIP/2.0\n"
      "To: sip:j.user@example.com\n"
      "From: sip:j.user@example.com;tag=43251j3j324\n"
      "Max-Forwards: 8\n"
      "I: dblreq.0ha0isndaksdj99sdfafnl3lk233412\n"
      "Contact: sip:j.user@host.example.com\n"
      "CSeq: 8 REGISTER\n"
      "Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492\n"
      "Content-Length: 0\n"
      "\n");
  const std::string second = Crlf(
      "INVITE sip:joe@example.com SIP/2.0\n"
      "t: sip:joe@example.com\n"
      "From: sip:caller@example.net;tag=141334\n"
      "Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15\n"
      "CSeq: 8 INVITE\n"
      "Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234\n"
      "l: 0\n"
      "\n");
  ASSERT_EQ(Parse(first + second), ParseError::kNone);
  EXPECT_EQ(msg_->method, Method::kRegister);
  EXPECT_EQ(msg_->data.size(), first.size());
  EXPECT_TRUE(msg_->body.empty());
  EXPECT_EQ(msg_->call_id, "dblreq.0ha0isndaksdj99sdfafnl3lk233412");
}

// semiuri: a ';' in the user part; the first '@' ends the userinfo.
TEST_F(TortureTest, SemiuriSemicolonSeparatedUser) {
  const std::string m = Crlf(
      "OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0\n"
      "To: sip:j_user@example.com\n"
      "From: sip:caller@example.org;tag=33242\n"
      "Max-Forwards: 3\n"
      "Call-ID: semiuri.0ha0isndaksdj\n"
      "CSeq: 8 OPTIONS\n"
      "Accept: application/sdp, application/pkcs7-mime,\n"
      "        multipart/mixed, multipart/signed,\n"
      "        message/sip, message/sipfrag\n"
      "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw\n"
      "l: 0\n"
      "\n");
  ASSERT_EQ(Parse(m), ParseError::kNone);
  EXPECT_EQ(msg_->request_uri.user, "user;par=u%40example.net");
  EXPECT_EQ(msg_->request_uri.host, "example.com");
  EXPECT_TRUE(msg_->request_uri.params.empty());
}

// transports: Via transports sipshard does not know are still forwarded.
TEST_F(TortureTest, TransportsUnknownViaTransports) {
  const std::string m = Crlf(
      "OPTIONS sip:user@example.com SIP/2.0\n"
      "To: sip:user@example.com\n"
      "From: <sip:caller@example.com>;tag=323\n"
      "Max-Forwards: 70\n"
      "Call-ID:  transports.kijh4akdnaqjkwendsasfdj\n"
      "Accept: application/sdp\n"
      "CSeq: 60 OPTIONS\n"
      "Via: SIP/2.0/UNKNOWN t1.example.com;branch=z9hG4bKkdjuw\n"
      "Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf\n"
      "Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj\n"
      "Via: SIP/2.0/UDP t4.example.com;branch=z9hG4bKasd0f3en\n"
      "Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee\n"
      "l: 0\n"
      "\n");
  ASSERT_EQ(Parse(m), ParseError::kNone);
  EXPECT_EQ(msg_->top_via.transport, "UNKNOWN");
  EXPECT_EQ(msg_->top_via.PortOrDefault(), 5060);
  EXPECT_EQ(msg_->Count(HeaderId::kVia), 5);
  EXPECT_EQ(msg_->call_id, "transports.kijh4akdnaqjkwendsasfdj");
}

// mpart01: a multipart body with binary content; Content-Length frames it
// exactly, even across embedded CRLFs and NUL bytes.
TEST_F(TortureTest, Mpart01MultipartBinaryBody) {
  std::string body = Crlf(
      "--boundary42\n"
      "Content-Type: text/plain\n"
      "\n"
      "hello\n"
      "--boundary42\n"
      "Content-Type: application/octet-stream\n"
      "\n");
  body += std::string("\x00\x01\r\n\r\n\xff\xfe", 8);
  body += Crlf("\n--boundary42--\n");
  const std::string m = Crlf(
      "MESSAGE sip:kumiko@example.org SIP/2.0\n"
      "Via: SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bKmp17a\n"
      "Max-Forwards: 70\n"
      "To: <sip:kumiko@example.org>\n"
      "From: <sip:eduardo@example.org>;tag=01234567\n"
      "Call-ID: mpart01.b3h8hhvv\n"
      "CSeq: 1 MESSAGE\n"
      "Content-Type: multipart/mixed;boundary=boundary42\n"
      "Content-Length: " + std::to_string(body.size()) + "\n"
      "\n") + body;
  ASSERT_EQ(Parse(m), ParseError::kNone);
  EXPECT_EQ(msg_->body, body);
  EXPECT_EQ(msg_->data.size(), m.size());
  EXPECT_EQ(Header(HeaderId::kContentType), "multipart/mixed;boundary=boundary42");
}

// unreason: a reason phrase with UTF-8 and unusual characters.
TEST_F(TortureTest, UnreasonUnusualReasonPhrase) {
  const std::string reason = "= 2**3 * 5**2 \xd0\xbd\xd0\xbe \xd1\x81\xd1\x82\xd0\xbe - ok";
  const std::string m = Crlf(
      "SIP/2.0 200 " + reason + "\n"
      "Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923\n"
      "Call-ID: unreason.1234ksdfak3j2erwedfsASdf\n"
      "CSeq: 35 INVITE\n"
      "From: sip:user@example.com;tag=11141343\n"
      "To: sip:user@example.edu;tag=2229\n"
      "Content-Length: 0\n"
      "\n");
  ASSERT_EQ(Parse(m), ParseError::kNone);
  EXPECT_FALSE(msg_->is_request);
  EXPECT_EQ(msg_->status_code, 200);
  EXPECT_EQ(msg_->reason_phrase, reason);
  EXPECT_EQ(msg_->cseq.method, Method::kInvite);
}

// noreason: an empty reason phrase (the SP before it is still there).
TEST_F(TortureTest, NoreasonEmptyReasonPhrase) {
  const std::string m = Crlf(
      "SIP/2.0 100 \n"
      "Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe\n"
      "Call-ID: noreason.asndj203insdf99223ndf\n"
      "CSeq: 35 INVITE\n"
      "From: <sip:user@example.com>;tag=39ansfi3\n"
      "To: <sip:user@example.edu>;tag=902jndnke3\n"
      "Content-Length: 0\n"
      "\n");
  ASSERT_EQ(Parse(m), ParseError::kNone);
  EXPECT_EQ(msg_->status_code, 100);
  EXPECT_EQ(msg_->reason_phrase, "");
}

// --- 3.1.2 Invalid messages -------------------------------------------------

std::string Request(std::string_view start_line, std::string_view headers) {
  return Crlf(std::string(start_line) + "\n" + std::string(headers) + "\n");
}
constexpr std::string_view kGoodHeaders =
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKtt1\n"
    "To: <sip:user@example.com>\n"
    "From: <sip:caller@example.net>;tag=1\n"
    "Call-ID: torture.1@example.net\n"
    "Max-Forwards: 70\n"
    "CSeq: 1 OPTIONS\n"
    "Content-Length: 0\n";

TEST_F(TortureTest, WellFormedBaselineParses) {
  ASSERT_EQ(Parse(Request("OPTIONS sip:user@example.com SIP/2.0", kGoodHeaders)),
            ParseError::kNone);
}

// badinv01: empty header field separators in Via.
TEST_F(TortureTest, Badinv01ExtraneousSeparators) {
  const std::string m = Crlf(
      "INVITE sip:user@example.com SIP/2.0\n"
      "To: sip:j.user@example.com\n"
      "From: sip:caller@example.net;tag=134161461246\n"
      "Max-Forwards: 7\n"
      "Call-ID: badinv01.0ha0isndaksdjasdf3234nas\n"
      "CSeq: 8 INVITE\n"
      "Via: SIP/2.0/UDP 192.0.2.15;;,;,,\n"
      "Contact: \"Joe\" <sip:joe@example.org>;;;;\n"
      "Content-Length: 0\n"
      "\n");
  const ParseError e = Parse(m);
  EXPECT_EQ(e, ParseError::kBadVia);
  ExpectAnswer(e, 400, "Bad Via");
  EXPECT_EQ(msg_->call_id, "badinv01.0ha0isndaksdjasdf3234nas");  // kept for the 400
}

// clerr: Content-Length larger than the datagram.
TEST_F(TortureTest, ClerrContentLengthLargerThanMessage) {
  const std::string m = Crlf(
      "INVITE sip:user@example.com SIP/2.0\n"
      "Max-Forwards: 80\n"
      "To: sip:j.user@example.com\n"
      "From: sip:caller@example.net;tag=93942939o2\n"
      "Contact: <sip:caller@hungry.example.net>\n"
      "Call-ID: clerr.0ha0isndaksdjweiafasdk3\n"
      "CSeq: 8 INVITE\n"
      "Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523\n"
      "Content-Type: application/sdp\n"
      "Content-Length: 9999\n"
      "\n"
      "v=0\n");
  const ParseError e = Parse(m);
  EXPECT_EQ(e, ParseError::kBodyTruncated);
  ExpectAnswer(e, 400, "Content-Length Exceeds Message");
  EXPECT_EQ(msg_->content_length, 9999);
}

// ncl: a negative Content-Length.
TEST_F(TortureTest, NclNegativeContentLength) {
  std::string headers(kGoodHeaders);
  headers.replace(headers.find("Content-Length: 0"), 17, "Content-Length: -999");
  const ParseError e = Parse(Request("OPTIONS sip:user@example.com SIP/2.0", headers));
  EXPECT_EQ(e, ParseError::kBadContentLength);
  ExpectAnswer(e, 400, "Bad Content-Length");
  EXPECT_EQ(msg_->content_length, -1);
}

// scalar02: CSeq beyond 2^32, Max-Forwards beyond 255, huge Expires.
TEST_F(TortureTest, Scalar02OverlargeRequestScalars) {
  const std::string m = Crlf(
      "REGISTER sip:example.com SIP/2.0\n"
      "Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3\n"
      "To: <sip:user@example.com>\n"
      "From: <sip:user@example.com>;tag=239232jh3\n"
      "CSeq: 36893488147419103232 REGISTER\n"
      "Call-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32\n"
      "Max-Forwards: 300\n"
      "Expires: 1" + std::string(26, '0') + "\n"
      "Contact: <sip:user@host129.example.com>;expires=280297596632815\n"
      "Content-Length: 0\n"
      "\n");
  const ParseError e = Parse(m);
  EXPECT_EQ(e, ParseError::kBadCSeq);
  ExpectAnswer(e, 400, "Bad CSeq");
}

TEST_F(TortureTest, MaxForwardsAbove255IsBad) {
  std::string headers(kGoodHeaders);
  headers.replace(headers.find("Max-Forwards: 70"), 16, "Max-Forwards: 256");
  const ParseError e = Parse(Request("OPTIONS sip:user@example.com SIP/2.0", headers));
  EXPECT_EQ(e, ParseError::kBadMaxForwards);
  ExpectAnswer(e, 400, "Bad Max-Forwards");
}

TEST_F(TortureTest, CSeqNumberMustBeBelow2To31) {
  std::string headers(kGoodHeaders);
  headers.replace(headers.find("CSeq: 1 OPTIONS"), 15, "CSeq: 2147483648 OPTIONS");
  EXPECT_EQ(Parse(Request("OPTIONS sip:user@example.com SIP/2.0", headers)), ParseError::kBadCSeq);
  headers.replace(headers.find("CSeq: 2147483648"), 16, "CSeq: 2147483647");
  ASSERT_EQ(Parse(Request("OPTIONS sip:user@example.com SIP/2.0", headers)), ParseError::kNone);
  EXPECT_EQ(msg_->cseq.number, 2147483647u);
}

// scalarlg: a response with overlarge scalars is dropped, never answered.
TEST_F(TortureTest, ScalarlgOverlargeResponseScalarsAreDropped) {
  const std::string m = Crlf(
      "SIP/2.0 503 Service Unavailable\n"
      "Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bKzzxdiwo34sw;received=192.0.2.129\n"
      "To: <sip:user@example.com>\n"
      "From: <sip:other@example.net>;tag=2easdjfejw\n"
      "CSeq: 9292394834772304023312 OPTIONS\n"
      "Call-ID: scalarlg.noase0of0234hn2qofoaf0232aewf2394r\n"
      "Retry-After: 949302838503028349304023988\n"
      "Warning: 1812 overture \"In Progress\"\n"
      "Content-Length: 0\n"
      "\n");
  const ParseError e = Parse(m);
  EXPECT_EQ(e, ParseError::kBadCSeq);
  EXPECT_FALSE(IsAnswerable(*msg_, e));
}

// quotbal: an unterminated quoted string in a display name.
TEST_F(TortureTest, QuotbalUnterminatedQuotedString) {
  std::string headers(kGoodHeaders);
  headers.replace(0, headers.find("From:"),
                  "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKtt1\n"
                  "To: \"Mr. J. User <sip:j.user@example.com>\n");
  const ParseError e = Parse(Request("OPTIONS sip:user@example.com SIP/2.0", headers));
  EXPECT_EQ(e, ParseError::kBadTo);
  ExpectAnswer(e, 400, "Bad To");
}

// ltgtruri: the Request-URI in angle brackets.
TEST_F(TortureTest, LtgtruriAngleBracketsAroundRequestUri) {
  const ParseError e = Parse(Request("OPTIONS <sip:user@example.com> SIP/2.0", kGoodHeaders));
  EXPECT_EQ(e, ParseError::kBadRequestUri);
  ExpectAnswer(e, 400, "Bad Request-URI");
}

// lwsruri: white space inside the Request-URI.
TEST_F(TortureTest, LwsruriEmbeddedWhiteSpace) {
  const ParseError e = Parse(Request("OPTIONS sip:user@example.com; lr SIP/2.0", kGoodHeaders));
  EXPECT_EQ(e, ParseError::kBadRequestUri);
  ExpectAnswer(e, 400, "Bad Request-URI");
}

// lwsstart: several SP between the Request-Line elements.
TEST_F(TortureTest, LwsstartMultipleSpaces) {
  const ParseError e = Parse(Request("OPTIONS  sip:user@example.com  SIP/2.0", kGoodHeaders));
  EXPECT_EQ(e, ParseError::kBadRequestUri);
  ExpectAnswer(e, 400, "Bad Request-URI");
}

// trws: SP after the SIP-Version; readable, so answered rather than dropped.
TEST_F(TortureTest, TrwsTrailingSpaceAfterVersion) {
  const ParseError e = Parse(Request("OPTIONS sip:user@example.com SIP/2.0  ", kGoodHeaders));
  EXPECT_EQ(e, ParseError::kBadRequestLine);
  ExpectAnswer(e, 400, "Malformed Request-Line");
  EXPECT_EQ(msg_->request_uri.host, "example.com");
  EXPECT_EQ(msg_->call_id, "torture.1@example.net");
}

// escruri: escaped headers in the Request-URI (not allowed there, §19.1.1).
TEST_F(TortureTest, EscruriHeadersInRequestUri) {
  const ParseError e =
      Parse(Request("OPTIONS sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0", kGoodHeaders));
  EXPECT_EQ(e, ParseError::kBadRequestUri);
  ExpectAnswer(e, 400, "Bad Request-URI");
}

// baddate: a bad Date is not the proxy's business; it is forwarded as is.
TEST_F(TortureTest, BaddateIsForwarded) {
  const std::string headers = std::string(kGoodHeaders) + "Date: Fri, 01 Jan 2010 16:00:00 EST\n";
  ASSERT_EQ(Parse(Request("OPTIONS sip:user@example.com SIP/2.0", headers)), ParseError::kNone);
}

// regbadct: an addr-spec with '?' (or ',') must be enclosed in <> (§20.10).
TEST_F(TortureTest, RegbadctUnbracketedUriWithHeaders) {
  std::string headers(kGoodHeaders);
  headers.replace(headers.find("To: <sip:user@example.com>"), 26,
                  "To: sip:user@example.com?Route=%3Csip:sip.example.com%3E");
  const ParseError e = Parse(Request("OPTIONS sip:user@example.com SIP/2.0", headers));
  EXPECT_EQ(e, ParseError::kBadTo);
  ExpectAnswer(e, 400, "Bad To");
  NameAddr contact;
  EXPECT_FALSE(ParseNameAddr("sip:user@example.com?Route=%3Csip:sip.example.com%3E", &contact));
  EXPECT_TRUE(ParseNameAddr("<sip:user@example.com?Route=%3Csip:sip.example.com%3E>", &contact));
}

// badaspec: white space inside the angle brackets.
TEST_F(TortureTest, BadaspecSpacesInsideAngleBrackets) {
  std::string headers(kGoodHeaders);
  headers.replace(headers.find("To: <sip:user@example.com>"), 26,
                  "To: \"Watson, Thomas\" < sip:t.watson@example.org >");
  const ParseError e = Parse(Request("OPTIONS sip:user@example.com SIP/2.0", headers));
  EXPECT_EQ(e, ParseError::kBadTo);
  ExpectAnswer(e, 400, "Bad To");
}

// baddn: a ',' in an unquoted display name.
TEST_F(TortureTest, BaddnNonTokenDisplayName) {
  std::string headers(kGoodHeaders);
  headers.replace(headers.find("From: <sip:caller@example.net>"), 30,
                  "From: Bell, Alexander <sip:a.g.bell@example.com>");
  const ParseError e = Parse(Request("OPTIONS sip:user@example.com SIP/2.0", headers));
  EXPECT_EQ(e, ParseError::kBadFrom);
  ExpectAnswer(e, 400, "Bad From");
}

// badvers: an unknown SIP version gets 505, a response with one is dropped.
TEST_F(TortureTest, BadversUnknownProtocolVersion) {
  const ParseError e = Parse(Request("OPTIONS sip:t.watson@example.org SIP/7.0", kGoodHeaders));
  EXPECT_EQ(e, ParseError::kUnsupportedVersion);
  ExpectAnswer(e, 505, "Version Not Supported");
  EXPECT_EQ(msg_->call_id, "torture.1@example.net");  // the 505 can be built

  const ParseError r = Parse(Request("SIP/7.0 200 OK", kGoodHeaders));
  EXPECT_EQ(r, ParseError::kUnsupportedVersion);
  EXPECT_FALSE(IsAnswerable(*msg_, r));
}

// mismatch01: CSeq method differs from the Request-Line method.
TEST_F(TortureTest, Mismatch01CSeqMethod) {
  std::string headers(kGoodHeaders);
  headers.replace(headers.find("CSeq: 1 OPTIONS"), 15, "CSeq: 8 INVITE");
  const ParseError e = Parse(Request("OPTIONS sip:user@example.com SIP/2.0", headers));
  EXPECT_EQ(e, ParseError::kCSeqMethodMismatch);
  ExpectAnswer(e, 400, "CSeq Method Mismatch");
}

// mismatch02: an unknown method whose CSeq names another method.
TEST_F(TortureTest, Mismatch02UnknownMethod) {
  std::string headers(kGoodHeaders);
  headers.replace(headers.find("CSeq: 1 OPTIONS"), 15, "CSeq: 8 INVITE");
  const ParseError e = Parse(Request("NEWMETHOD sip:user@example.com SIP/2.0", headers));
  EXPECT_EQ(e, ParseError::kCSeqMethodMismatch);
  ExpectAnswer(e, 400, "CSeq Method Mismatch");
  EXPECT_EQ(msg_->method_text, "NEWMETHOD");
}

// bigcode: a status code of more than three digits.
TEST_F(TortureTest, BigcodeOverlargeResponseCode) {
  const ParseError e = Parse(Request("SIP/2.0 4294967301 better not break the receiver",
                                     kGoodHeaders));
  EXPECT_EQ(e, ParseError::kBadStartLine);
  EXPECT_FALSE(IsAnswerable(*msg_, e));
}

// --- 3.2 / 3.3 / 3.4: transaction and application layer ---------------------

// zeromf: Max-Forwards: 0 parses; what to do with it is the proxy's call.
TEST_F(TortureTest, ZeromfMaxForwardsZero) {
  std::string headers(kGoodHeaders);
  headers.replace(headers.find("Max-Forwards: 70"), 16, "Max-Forwards: 0");
  ASSERT_EQ(Parse(Request("OPTIONS sip:user@example.com SIP/2.0", headers)), ParseError::kNone);
  EXPECT_EQ(msg_->max_forwards, 0);
}

// insuf: mandatory header fields missing.
TEST_F(TortureTest, InsufMissingRequiredHeaders) {
  const std::string m = Crlf(
      "INVITE sip:user@example.com SIP/2.0\n"
      "CSeq: 193942 INVITE\n"
      "Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf\n"
      "Content-Type: application/sdp\n"
      "l: 0\n"
      "\n");
  const ParseError e = Parse(m);
  EXPECT_EQ(e, ParseError::kMissingFrom);
  ExpectAnswer(e, 400, "Missing From Header");
}

// unkscm: an unknown Request-URI scheme is forwarded untouched.
TEST_F(TortureTest, UnkscmUnknownRequestUriScheme) {
  std::string headers(kGoodHeaders);
  ASSERT_EQ(Parse(Request("OPTIONS nobodyknowsthisscheme:totallyopaquecontent SIP/2.0", headers)),
            ParseError::kNone);
  EXPECT_EQ(msg_->request_uri.scheme, UriScheme::kOther);
  EXPECT_EQ(msg_->request_uri.scheme_text, "nobodyknowsthisscheme");
  EXPECT_EQ(msg_->request_uri.raw, "nobodyknowsthisscheme:totallyopaquecontent");
}

// novelsc / unksm2: unknown schemes in To, From and Contact.
TEST_F(TortureTest, NovelscUnknownSchemesInHeaders) {
  const std::string m = Crlf(
      "REGISTER sip:example.com SIP/2.0\n"
      "To: isbn:2983792873\n"
      "From: <http://www.example.com>;tag=3234233\n"
      "Call-ID: unksm2.daksdj@hyphenated-host.example.com\n"
      "CSeq: 234902 REGISTER\n"
      "Max-Forwards: 70\n"
      "Via: SIP/2.0/UDP 192.0.2.21:5060;branch=z9hG4bKkdjuw\n"
      "Contact: <name:John_Smith>\n"
      "l: 0\n"
      "\n");
  ASSERT_EQ(Parse(m), ParseError::kNone);
  EXPECT_EQ(msg_->to.uri, "isbn:2983792873");
  EXPECT_EQ(msg_->from.uri, "http://www.example.com");
  EXPECT_EQ(msg_->from.tag, "3234233");
  EXPECT_EQ(msg_->top_via.port, 5060);
}

// bext01: unknown option tags in Require and Proxy-Require parse; rejecting
// them (420) is the proxy's job, not the parser's.
TEST_F(TortureTest, Bext01UnknownOptionTags) {
  const std::string headers = std::string(kGoodHeaders) +
                              "Require: nothingSupported\n"
                              "Proxy-Require: noProxiesSupportThis, norDoAnyProxiesSupportThis\n"
                              "k: 100rel, timer\n";
  ASSERT_EQ(Parse(Request("OPTIONS sip:user@example.com SIP/2.0", headers)), ParseError::kNone);
  EXPECT_EQ(Header(HeaderId::kRequire), "nothingSupported");
  EXPECT_EQ(Header(HeaderId::kSupported), "100rel, timer");
  ListSplitter tags(msg_->Find(HeaderId::kProxyRequire)->value);
  std::string_view tag;
  ASSERT_TRUE(tags.Next(&tag));
  EXPECT_EQ(tag, "noProxiesSupportThis");
  ASSERT_TRUE(tags.Next(&tag));
  EXPECT_EQ(tag, "norDoAnyProxiesSupportThis");
  EXPECT_FALSE(tags.Next(&tag));
}

// multi01: single-valued header fields appearing more than once.
TEST_F(TortureTest, Multi01DuplicateSingleValuedHeaders) {
  const std::string m = Crlf(
      "INVITE sip:user@company.com SIP/2.0\n"
      "Contact: <sip:caller@host25.example.net>\n"
      "Via: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKkdjuw\n"
      "Max-Forwards: 70\n"
      "CSeq: 5 INVITE\n"
      "Call-ID: multi01.98asdh@192.0.2.1\n"
      "CSeq: 59 INVITE\n"
      "Call-ID: multi01.98asdh@192.0.2.2\n"
      "From: sip:caller@example.com;tag=3413415\n"
      "To: sip:user@example.com\n"
      "To: sip:other@example.net\n"
      "From: sip:caller@example.net;tag=2923420123\n"
      "l: 0\n"
      "\n");
  const ParseError e = Parse(m);
  EXPECT_EQ(e, ParseError::kDuplicateHeader);
  ExpectAnswer(e, 400, "Duplicate Header");
  EXPECT_EQ(msg_->call_id, "multi01.98asdh@192.0.2.1");  // the first one
}

// mcl01: several Content-Length values.
TEST_F(TortureTest, Mcl01MultipleContentLengths) {
  const std::string headers = std::string(kGoodHeaders) + "l: 5\n";
  const ParseError e = Parse(Request("OPTIONS sip:user@example.com SIP/2.0", headers) + "12345");
  EXPECT_EQ(e, ParseError::kBadContentLength);
  ExpectAnswer(e, 400, "Bad Content-Length");
}

// bcast: a response whose Via says 255.255.255.255 still parses; acting on
// it is the transport's concern.
TEST_F(TortureTest, BcastBroadcastViaInResponse) {
  const std::string m = Crlf(
      "SIP/2.0 200 OK\n"
      "Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923\n"
      "Via: SIP/2.0/UDP 255.255.255.255;branch=z9hG4bK1saber23\n"
      "Call-ID: bcast.0384840201234ksdfak3j2erwedfsASdf\n"
      "CSeq: 35 INVITE\n"
      "From: sip:user@example.com;tag=11141343\n"
      "To: sip:user@example.edu;tag=2229\n"
      "Content-Length: 0\n"
      "\n");
  ASSERT_EQ(Parse(m), ParseError::kNone);
  EXPECT_EQ(msg_->top_via.host, "192.0.2.198");
  EXPECT_EQ(msg_->Count(HeaderId::kVia), 2);
}

// regescrt: an escaped header in a bracketed Contact URI is fine.
TEST_F(TortureTest, RegescrtEscapedHeaderInContact) {
  const std::string headers = std::string(kGoodHeaders) +
                              "Contact: <sip:user@host?Route=%3Csip:sip.example.com%3E>\n";
  ASSERT_EQ(Parse(Request("OPTIONS sip:user@example.com SIP/2.0", headers)), ParseError::kNone);
  NameAddr contact;
  ASSERT_TRUE(ParseNameAddr(msg_->Find(HeaderId::kContact)->value, &contact));
  const std::optional<Uri> uri = ParseUri(contact.uri);
  ASSERT_TRUE(uri.has_value());
  EXPECT_EQ(uri->headers, "Route=%3Csip:sip.example.com%3E");
}

// inv2543: RFC 2543 syntax: no branch, no tags, no Max-Forwards, and a bare
// addr-spec whose ";user=phone" is a header parameter (§20.10).
TEST_F(TortureTest, Inv2543BackwardCompatibility) {
  const std::string m = Crlf(
      "INVITE sip:UserB@example.com SIP/2.0\n"
      "Via: SIP/2.0/UDP iftgw.example.com\n"
      "From: <sip:+13035551111@ift.client.example.net;user=phone>\n"
      "Record-Route: <sip:UserB@example.com;maddr=ss1.example.com>\n"
      "To: sip:+16505552222@ss1.example.net;user=phone\n"
      "Call-ID: inv2543.1717@ift.client.example.com\n"
      "CSeq: 56 INVITE\n"
      "Content-Type: application/sdp\n"
      "\n"
      "v=0\n");
  ASSERT_EQ(Parse(m), ParseError::kNone);
  EXPECT_EQ(msg_->top_via.branch, "");
  EXPECT_FALSE(msg_->top_via.has_magic_cookie());
  EXPECT_EQ(msg_->max_forwards, -1);
  EXPECT_EQ(msg_->from.tag, "");
  EXPECT_EQ(msg_->to.uri, "sip:+16505552222@ss1.example.net");
  EXPECT_EQ(msg_->to.params, ";user=phone");
  EXPECT_EQ(msg_->content_length, -1);
  EXPECT_EQ(msg_->body, "v=0\r\n");  // no Content-Length: the rest of the datagram
}

// An ACK is never answered, whatever is wrong with it (§17.1.1.3).
TEST_F(TortureTest, MalformedAckIsNeverAnswered) {
  std::string headers(kGoodHeaders);
  headers.replace(headers.find("CSeq: 1 OPTIONS"), 15, "CSeq: x ACK");
  const ParseError e = Parse(Request("ACK sip:user@example.com SIP/2.0", headers));
  EXPECT_EQ(e, ParseError::kBadCSeq);
  EXPECT_EQ(Describe(e).status_code, 400);
  EXPECT_FALSE(IsAnswerable(*msg_, e));
}

}  // namespace
}  // namespace sipshard::sip
