#include "sipshard/sip/internal/write_util.h"

#include <array>
#include <cstring>

#include "sipshard/sip/internal/scan.h"
#include "sipshard/sip/text.h"

namespace sipshard::sip::internal {

namespace {

constexpr std::array<uint64_t, kMaxDecimalDigits> MakePowersOf10() {
  std::array<uint64_t, kMaxDecimalDigits> t{};
  uint64_t p = 1;
  for (size_t i = 0; i < t.size(); ++i, p *= 10) t[i] = p;
  return t;
}
constexpr std::array<uint64_t, kMaxDecimalDigits> kPowersOf10 = MakePowersOf10();

// "00" "01" ... "99": two digits per division.
constexpr std::array<char, 200> MakeDigitPairs() {
  std::array<char, 200> t{};
  for (int i = 0; i < 100; ++i) {
    t[2 * i] = static_cast<char>('0' + i / 10);
    t[2 * i + 1] = static_cast<char>('0' + i % 10);
  }
  return t;
}
constexpr std::array<char, 200> kDigitPairs = MakeDigitPairs();

}  // namespace

size_t FormatDecimal(uint64_t value, char* buf) {
  // The length first, then the digits from the end, two at a time: it runs
  // for ports, Max-Forwards and Content-Length of every forwarded message.
  size_t n = 1;
  while (n < kMaxDecimalDigits && value >= kPowersOf10[n]) ++n;
  char* p = buf + n;
  while (value >= 100) {
    p -= 2;
    std::memcpy(p, &kDigitPairs[2 * (value % 100)], 2);
    value /= 100;
  }
  if (value >= 10) {
    std::memcpy(p - 2, &kDigitPairs[2 * value], 2);
  } else {
    p[-1] = static_cast<char>('0' + value);
  }
  return n;
}

namespace {

// The first `rport` and `received` parameters: name as written, and value
// (with a null data() when the parameter has no '=').
struct SourceParams {
  std::string_view rport_name, rport_value, received_name, received_value;
};

void Note(std::string_view name, std::string_view value, SourceParams* found) {
  if (found->rport_name.empty() && EqualsLowerLetters(name, "rport")) {
    found->rport_name = name;
    found->rport_value = value;
  } else if (found->received_name.empty() && EqualsLowerLetters(name, "received")) {
    found->received_name = name;
    found->received_value = value;
  }
}

// What ParamIterator finds for parameters in the usual spelling (no white
// space or quotes; at most 64 bytes): the parser has just read them, so
// one block classification of ';' and '=' stands in for the iteration.
// Returns false, finding nothing, for anything else. `readable` >=
// params.size() bytes may be read from params.data().
bool FindSourceParamsFast(std::string_view params, size_t readable, SourceParams* found) {
  const size_t n = params.size();
  if (n == 0 || n > kMaxParamMasks || params.front() != ';') return false;
  const ParamMasks m = ClassifyParams<'"'>(params.data(), n, readable);
  if (m.other != 0) return false;
  const char* const p = params.data();
  uint64_t semis = m.semi;
  while (semis != 0) {
    const size_t name = static_cast<size_t>(__builtin_ctzll(semis)) + 1;
    semis &= semis - 1;
    const size_t end = semis != 0 ? static_cast<size_t>(__builtin_ctzll(semis)) : n;
    const uint64_t equals = m.equal & BitRange(name, end);
    const size_t name_end = equals != 0 ? static_cast<size_t>(__builtin_ctzll(equals)) : end;
    // An empty name is skipped by ParamIterator (which then reports the
    // list as bad, something the writer does not look at).
    if (name_end == name) continue;
    std::string_view value;
    if (equals != 0) value = std::string_view(p + name_end + 1, end - name_end - 1);
    Note(std::string_view(p + name, name_end - name), value, found);
  }
  return true;
}

}  // namespace

int PlanViaSourceParams(const Via& via, std::string_view data, std::string_view source_ip,
                        std::string_view port_digits, Splice out[2]) {
  const char* const base = data.data();
  auto offset_of = [base](const char* p) { return static_cast<uint32_t>(p - base); };
  SourceParams found;
  const size_t readable = via.params.data() == nullptr
                              ? 0
                              : static_cast<size_t>(base + data.size() - via.params.data());
  if (force_general_paths || !FindSourceParamsFast(via.params, readable, &found)) {
    found = SourceParams();
    ParamIterator it(via.params);
    std::string_view name, value;
    while (it.Next(&name, &value)) {
      if (found.rport_name.empty() && EqualsIgnoreCase(name, "rport")) {
        found.rport_name = name;
        found.rport_value = value;
      } else if (found.received_name.empty() && EqualsIgnoreCase(name, "received")) {
        found.received_name = name;
        found.received_value = value;
      }
    }
  }
  const std::string_view rport_name = found.rport_name;
  const std::string_view rport_value = found.rport_value;
  const std::string_view received_name = found.received_name;
  const std::string_view received_value = found.received_value;

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
