#include "sipshard/sip/internal/write_util.h"

#include "sipshard/sip/text.h"

namespace sipshard::sip::internal {

size_t FormatDecimal(uint64_t value, char* buf) {
  char reversed[kMaxDecimalDigits];
  size_t n = 0;
  do {
    reversed[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  for (size_t i = 0; i < n; ++i) buf[i] = reversed[n - 1 - i];
  return n;
}

int PlanViaSourceParams(const Via& via, const char* base, std::string_view source_ip,
                        std::string_view port_digits, Splice out[2]) {
  auto offset_of = [base](const char* p) { return static_cast<uint32_t>(p - base); };
  std::string_view rport_name, rport_value, received_name, received_value;
  ParamIterator it(via.params);
  std::string_view name, value;
  while (it.Next(&name, &value)) {
    if (rport_name.empty() && EqualsIgnoreCase(name, "rport")) {
      rport_name = name;
      rport_value = value;
    } else if (received_name.empty() && EqualsIgnoreCase(name, "received")) {
      received_name = name;
      received_value = value;
    }
  }

  int n = 0;
  Splice rport;
  bool have_rport = false;
  if (!port_digits.empty() && !rport_name.empty()) {
    if (rport_value.data() == nullptr) {
      // Bare `rport` (no '='): the value goes right after the name.
      rport = {offset_of(rport_name.data() + rport_name.size()), 0, "=", port_digits};
      have_rport = true;
    } else if (rport_value != port_digits) {
      // `rport=` (empty) or a stale value: replace what is there.
      rport = {offset_of(rport_value.data()), static_cast<uint32_t>(rport_value.size()), "",
               port_digits};
      have_rport = true;
    }
  }
  Splice received;
  bool have_received = false;
  const bool need_received =
      !source_ip.empty() && (!rport_name.empty() || via.HostAddress() != source_ip);
  if (need_received) {
    if (received_name.empty()) {
      // Appended after the last parameter, before any trailing comment.
      // Without parameters ParseVia leaves `params` as an empty view just
      // before the comment; the parameter then goes right after sent-by.
      if (via.params.data() != nullptr && via.raw.data() != nullptr) {
        const char* at = via.params.data() + via.params.size();
        if (via.params.empty()) {
          at = via.raw.data() +
               TrimTrailingLws(
                   std::string_view(via.raw.data(),
                                    static_cast<size_t>(via.params.data() - via.raw.data())))
                   .size();
        }
        received = {offset_of(at), 0, ";received=", source_ip};
        have_received = true;
      }
    } else if (received_value.data() == nullptr) {
      received = {offset_of(received_name.data() + received_name.size()), 0, "=", source_ip};
      have_received = true;
    } else if (received_value != source_ip) {
      received = {offset_of(received_value.data()), static_cast<uint32_t>(received_value.size()),
                  "", source_ip};
      have_received = true;
    }
  }
  if (have_rport && have_received && received.offset < rport.offset) {
    out[n++] = received;
    out[n++] = rport;
  } else {
    if (have_rport) out[n++] = rport;
    if (have_received) out[n++] = received;
  }
  return n;
}

}  // namespace sipshard::sip::internal
