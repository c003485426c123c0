#include "sipshard/config/route_rules.h"

#include <algorithm>
#include <cstring>
#include <regex>

namespace sipshard::config {
namespace {

// RFC 3261 §25.1 token characters.
bool IsTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("-.!%*_+`'~").find(c) != std::string_view::npos;
}

bool IsControl(char c) {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

struct VariableName {
  std::string_view name;
  TemplateVar var;
};
constexpr VariableName kVariables[] = {
    {"request.callid", TemplateVar::kRequestCallId},
    {"request.ruri", TemplateVar::kRequestRuri},
    {"request.method", TemplateVar::kRequestMethod},
    {"request.from_user", TemplateVar::kRequestFromUser},
    {"route.name", TemplateVar::kRouteName},
    {"dst.uri", TemplateVar::kDstUri},
};

std::string CompileValue(std::string_view value, std::vector<TemplatePiece>& out) {
  out.clear();
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) out.push_back({TemplateVar::kLiteral, std::move(literal)});
    literal.clear();
  };
  size_t i = 0;
  while (i < value.size()) {
    if (value[i] != '$' || i + 1 >= value.size() || value[i + 1] != '{') {
      literal.push_back(value[i++]);
      continue;
    }
    const size_t close = value.find('}', i + 2);
    if (close == std::string_view::npos) return "unterminated \"${\" (expected \"}\")";
    const std::string_view name = value.substr(i + 2, close - i - 2);
    flush();
    bool known = false;
    for (const VariableName& v : kVariables) {
      if (v.name == name) {
        out.push_back({v.var, {}});
        known = true;
      }
    }
    if (!known && name.substr(0, 5) == "attr.") {
      const std::string_view attr = name.substr(5);
      if (attr.empty() || !std::all_of(attr.begin(), attr.end(), IsTokenChar)) {
        return "attribute name in \"${attr.NAME}\" must be letters, digits, \"_\", \".\" or \"-\"";
      }
      out.push_back({TemplateVar::kAttr, std::string(attr)});
      known = true;
    }
    if (!known) {
      std::string message = "unknown variable \"${";
      message.append(name);
      message.append("}\" (known: ");
      for (const VariableName& v : kVariables) {
        message.append("${");
        message.append(v.name);
        message.append("}, ");
      }
      message.append("${attr.NAME})");
      return message;
    }
    i = close + 1;
  }
  flush();
  return {};
}

}  // namespace

struct RouteRegex::Compiled {
  std::regex regex;
};

std::string RouteRegex::Compile(std::string_view pattern) {
  try {
    auto compiled = std::make_shared<Compiled>();
    compiled->regex = std::regex(pattern.begin(), pattern.end(),
                                 std::regex::ECMAScript | std::regex::optimize);
    compiled_ = std::move(compiled);
    pattern_ = std::string(pattern);
  } catch (const std::regex_error& e) {
    return std::string("invalid regular expression: ") + e.what();
  }
  return {};
}

bool RouteRegex::Search(std::string_view text) const {
  if (compiled_ == nullptr) return true;
  return std::regex_search(text.begin(), text.end(), compiled_->regex);
}

std::string CompileHeaderRef(std::string_view name, HeaderRef& out) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), IsTokenChar)) {
    return "a header name must be a token (letters, digits and -.!%*_+`'~)";
  }
  out.name = std::string(name);
  out.id = sip::LookupHeaderId(name);
  return {};
}

std::string CheckHeaderEditable(const HeaderRef& header) {
  using sip::HeaderId;
  switch (header.id) {
    case HeaderId::kVia:
    case HeaderId::kFrom:
    case HeaderId::kTo:
    case HeaderId::kCallId:
    case HeaderId::kCSeq:
    case HeaderId::kMaxForwards:
    case HeaderId::kRoute:
    case HeaderId::kRecordRoute:
    case HeaderId::kContentLength:
      return std::string(sip::HeaderName(header.id)) +
             " is managed by sipshard (routing and transaction matching) and cannot be "
             "added or removed by a rule";
    default:
      return {};
  }
}

std::string CompileHeaderTemplate(std::string_view text, HeaderTemplate& out) {
  if (std::any_of(text.begin(), text.end(), IsControl)) {
    return "must not contain control characters (one header per string)";
  }
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) return "expected \"Name: value\"";
  if (std::string error = CompileHeaderRef(Trim(text.substr(0, colon)), out.header);
      !error.empty()) {
    return error;
  }
  if (std::string error = CheckHeaderEditable(out.header); !error.empty()) return error;
  if (std::string error = CompileValue(Trim(text.substr(colon + 1)), out.value); !error.empty()) {
    return error;
  }
  out.text = std::string(text);
  return {};
}

size_t ExpandTemplate(std::span<const TemplatePiece> pieces, const TemplateValues& values,
                      std::span<char> out) {
  size_t n = 0;
  for (const TemplatePiece& piece : pieces) {
    std::string_view v;
    switch (piece.var) {
      case TemplateVar::kLiteral: v = piece.text; break;
      case TemplateVar::kRequestCallId: v = values.request_callid; break;
      case TemplateVar::kRequestRuri: v = values.request_ruri; break;
      case TemplateVar::kRequestMethod: v = values.request_method; break;
      case TemplateVar::kRequestFromUser: v = values.request_from_user; break;
      case TemplateVar::kRouteName: v = values.route_name; break;
      case TemplateVar::kDstUri: v = values.dst_uri; break;
      case TemplateVar::kAttr:
        if (values.attr != nullptr) v = values.attr(values.attr_context, piece.text);
        break;
    }
    if (v.size() > out.size() - n) return std::string_view::npos;
    if (!v.empty()) std::memcpy(out.data() + n, v.data(), v.size());
    n += v.size();
  }
  return n;
}

}  // namespace sipshard::config
