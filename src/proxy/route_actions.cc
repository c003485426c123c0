#include "sipshard/proxy/route_actions.h"

#include <cstring>

#include "sipshard/sip/text.h"

namespace sipshard::proxy {
namespace {

std::string_view RouteAttr(const void* context, std::string_view name) {
  return static_cast<const config::RouteConfig*>(context)->Attr(name);
}

bool NameIs(const sip::HeaderField& field, const config::HeaderRef& header) {
  if (header.id != sip::HeaderId::kOther) return field.id == header.id;
  return field.id == sip::HeaderId::kOther && sip::EqualsIgnoreCase(field.name, header.name);
}

}  // namespace

bool HeaderScratch::Expand(const config::HeaderTemplate& header,
                           const config::TemplateValues& values, bool with_name,
                           std::string_view* out) {
  size_t at = used_;
  if (with_name) {
    const std::string_view name = header.header.name;
    if (name.size() + 2 > kCapacity - at) return false;
    std::memcpy(buffer_.data() + at, name.data(), name.size());
    at += name.size();
    buffer_[at++] = ':';
    buffer_[at++] = ' ';
  }
  const size_t n = config::ExpandTemplate(
      header.value, values, std::span<char>(buffer_.data() + at, kCapacity - at));
  if (n == std::string_view::npos) return false;
  *out = std::string_view(buffer_.data() + used_, at + n - used_);
  used_ = at + n;
  return true;
}

std::string_view UriUser(std::string_view uri) {
  const size_t colon = uri.find(':');
  if (colon == std::string_view::npos) return {};
  std::string_view rest = uri.substr(colon + 1);
  const size_t at = rest.find('@');
  if (at == std::string_view::npos) {
    // tel:+4930123;phone-context=... carries its number as the "user".
    if (uri.substr(0, colon) != "tel") return {};
    return rest.substr(0, rest.find(';'));
  }
  rest = rest.substr(0, at);
  return rest.substr(0, rest.find(':'));  // no password
}

std::string_view RequestUriOfBytes(std::string_view bytes) {
  const size_t first = bytes.find(' ');
  if (first == std::string_view::npos) return {};
  const size_t second = bytes.find(' ', first + 1);
  if (second == std::string_view::npos) return {};
  return bytes.substr(first + 1, second - first - 1);
}

config::TemplateValues RequestValues(const sip::Message& request,
                                     const config::RouteConfig& route,
                                     std::string_view dst_uri) {
  config::TemplateValues values;
  values.request_callid = request.call_id;
  values.request_ruri = request.request_uri_text;
  values.request_method = request.method_text;
  values.request_from_user = UriUser(request.from.uri);
  values.route_name = route.name;
  values.dst_uri = dst_uri;
  values.attr = &RouteAttr;
  values.attr_context = &route;
  return values;
}

int RemoveHeaders(sip::MessageWriter& writer, const sip::Message& msg,
                  std::span<const config::HeaderRef> remove) {
  int failed = 0;
  for (const config::HeaderRef& header : remove) {
    for (size_t i = 0; i < msg.header_count; ++i) {
      if (!NameIs(msg.header_fields[i], header)) continue;
      if (writer.RemoveHeaderField(i) != sip::WriteError::kNone) ++failed;
    }
  }
  return failed;
}

int AddHeaders(sip::MessageWriter& writer, std::span<const config::HeaderTemplate> add,
               const config::TemplateValues& values, HeaderScratch& scratch) {
  int skipped = 0;
  for (const config::HeaderTemplate& header : add) {
    std::string_view value;
    if (!scratch.Expand(header, values, /*with_name=*/false, &value)) {
      ++skipped;
      continue;
    }
    if (writer.AddHeader(header.header.name, value) != sip::WriteError::kNone) ++skipped;
  }
  return skipped;
}

size_t ExpandHeaderLines(std::span<const config::HeaderTemplate> headers,
                         const config::TemplateValues& values, HeaderScratch& scratch,
                         std::span<std::string_view> lines) {
  size_t n = 0;
  for (const config::HeaderTemplate& header : headers) {
    if (n == lines.size()) break;
    if (scratch.Expand(header, values, /*with_name=*/true, &lines[n])) ++n;
  }
  return n;
}

}  // namespace sipshard::proxy
