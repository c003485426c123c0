// libFuzzer target: the URI, Via, name-addr and CSeq sub-parsers, fed one
// header value each (the first byte picks the parser). Every accepted view
// must lie inside the input, and accepted values must round-trip through
// their own accessors without tripping a sanitizer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sipshard/sip/cseq.h"
#include "sipshard/sip/name_addr.h"
#include "sipshard/sip/text.h"
#include "sipshard/sip/uri.h"
#include "sipshard/sip/via.h"

namespace {

std::string_view g_input;

void CheckInside(std::string_view v) {
  if (v.empty()) return;
  if (v.data() < g_input.data() || v.data() + v.size() > g_input.data() + g_input.size()) {
    __builtin_printf("view outside the input\n");
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t selector = data[0];
  g_input = std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1);
  using namespace sipshard::sip;  // NOLINT: a fuzz target touching every parser

  switch (selector % 4) {
    case 0: {
      const std::optional<Uri> uri = ParseUri(g_input);
      if (uri) {
        for (std::string_view v : {uri->scheme_text, uri->user, uri->password, uri->host,
                                   uri->params, uri->headers, uri->raw, uri->HostAddress(),
                                   uri->Param("transport"), uri->Param("maddr")}) {
          CheckInside(v);
        }
        (void)uri->PortOrDefault();
        (void)uri->loose_route();
        if (uri->scheme == UriScheme::kSip || uri->scheme == UriScheme::kSips) {
          if (!IsValidHost(uri->host)) std::abort();
        }
      }
      break;
    }
    case 1: {
      Via via;
      if (ParseVia(g_input, &via)) {
        for (std::string_view v : {via.protocol_name, via.protocol_version, via.transport, via.host,
                                   via.params, via.branch, via.received, via.maddr, via.raw,
                                   via.HostAddress()}) {
          CheckInside(v);
        }
        if (!IsValidHost(via.host)) std::abort();
        (void)via.PortOrDefault();
        (void)via.has_magic_cookie();
      }
      break;
    }
    case 2: {
      ListSplitter split(g_input);
      std::string_view element;
      int n = 0;
      while (split.Next(&element) && ++n < 64) {
        CheckInside(element);
        NameAddr na;
        if (ParseNameAddr(element, &na)) {
          for (std::string_view v : {na.display_name, na.uri, na.params, na.tag, na.raw}) {
            CheckInside(v);
          }
          if (!na.is_wildcard) (void)ParseUri(na.uri);
        }
      }
      break;
    }
    default: {
      CSeq cseq;
      if (ParseCSeq(g_input, &cseq)) {
        CheckInside(cseq.method_text);
        if (cseq.number > 0x7fffffffu) std::abort();
      }
      ParamIterator it(g_input);
      std::string_view name, value;
      while (it.Next(&name, &value)) {
        CheckInside(name);
        CheckInside(value);
      }
      break;
    }
  }
  return 0;
}
