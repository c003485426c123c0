#include "sipshard/load/sip_text.h"

#include <string>

#include "absl/strings/numbers.h"
#include "sipshard/sip/name_addr.h"
#include "sipshard/sip/uri.h"

namespace sipshard::load {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' ||
                        s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

void SplitHeaderList(std::string_view value, std::vector<std::string_view>* out) {
  bool in_quotes = false;
  bool in_angle = false;
  size_t start = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (in_quotes) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_quotes = false;
      }
      continue;
    }
    if (c == '"') {
      in_quotes = true;
    } else if (c == '<') {
      in_angle = true;
    } else if (c == '>') {
      in_angle = false;
    } else if (c == ',' && !in_angle) {
      std::string_view element = Trim(value.substr(start, i - start));
      if (!element.empty()) out->push_back(element);
      start = i + 1;
    }
  }
  std::string_view element = Trim(value.substr(start));
  if (!element.empty()) out->push_back(element);
}

std::optional<transport::SocketAddress> ResolveSipUri(std::string_view uri) {
  uri = Trim(uri);
  std::string_view bare = uri;
  sip::NameAddr name_addr;
  if (uri.find('<') != std::string_view::npos) {
    if (!sip::ParseNameAddr(uri, &name_addr)) return std::nullopt;
    bare = name_addr.uri;
  }
  std::optional<sip::Uri> parsed = sip::ParseUri(bare);
  if (!parsed || (parsed->scheme != sip::UriScheme::kSip && parsed->scheme != sip::UriScheme::kSips)) {
    return std::nullopt;
  }
  return transport::SocketAddress::Parse(parsed->HostAddress(), parsed->PortOrDefault());
}

std::optional<transport::SocketAddress> ParseHostPort(std::string_view text) {
  text = Trim(text);
  std::string_view host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  uint32_t port = 0;
  if (!absl::SimpleAtoi(absl::string_view(port_text.data(), port_text.size()), &port) ||
      port > 65535) {
    return std::nullopt;
  }
  return transport::SocketAddress::Parse(host, static_cast<uint16_t>(port));
}

std::string FormatHostPort(const transport::SocketAddress& address) {
  return address.ToString();
}

}  // namespace sipshard::load
