// Internal helpers shared by the message writer and the message builder.
//
// Not part of the public sip API: both writers need the same bounded output
// buffer, decimal formatting and the RFC 3261 §18.2.1 / RFC 3581 plan for
// `received`/`rport` on a top Via, so they live here once. Everything is
// stateless or caller-owned; nothing allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "sipshard/sip/via.h"

namespace sipshard::sip::internal {

// Room for any uint64_t in decimal.
inline constexpr size_t kMaxDecimalDigits = 20;

// Writes `value` in decimal to `buf` (at least kMaxDecimalDigits bytes) and
// returns the number of characters written. No terminating NUL.
size_t FormatDecimal(uint64_t value, char* buf);

// Appends into a caller-provided span and never writes past its end. The
// first append that does not fit marks the buffer as overflowed; every
// later append is ignored, so callers check once at the end.
class OutBuffer {
 public:
  explicit OutBuffer(std::span<char> out)
      : begin_(out.data()), next_(out.data()), end_(out.data() + out.size()) {}

  void Append(std::string_view s) {
    if (s.empty()) return;
    if (s.size() > static_cast<size_t>(end_ - next_)) {
      overflow_ = true;
      end_ = next_;  // nothing later fits either: no half-written tail
      return;
    }
    std::memcpy(next_, s.data(), s.size());
    next_ += s.size();
  }
  void AppendDecimal(uint64_t value) {
    char digits[kMaxDecimalDigits];
    Append(std::string_view(digits, FormatDecimal(value, digits)));
  }
  // Appends a header line taken from a message, adding the CRLF that the
  // last line of a message without an empty line may lack.
  void AppendLine(std::string_view line) {
    Append(line);
    if (line.empty() || line.back() != '\n') Append("\r\n");
  }

  bool overflow() const { return overflow_; }
  size_t size() const { return static_cast<size_t>(next_ - begin_); }

 private:
  char* begin_;
  char* next_;
  char* end_;
  bool overflow_ = false;
};

// One change inside a header line: replace `remove` bytes at `offset` (an
// offset into the message data) by `prefix` followed by `text`.
struct Splice {
  uint32_t offset = 0;
  uint32_t remove = 0;
  std::string_view prefix;
  std::string_view text;
};

// Plans the parameters a server adds to the top Via of a request it
// receives (RFC 3261 §18.2.1, RFC 3581 §4):
// - `received=<source_ip>` when the sent-by host differs from the source
//   address, or when the client asked for rport (then always); an existing
//   received value is replaced;
// - `rport=<port_digits>` only when the client sent `rport`: a bare `rport`
//   gets its value, a different value is replaced.
// `via` must hold views into the message `data` (its bytes may be read, to
// scan the parameters in blocks). Empty `source_ip` / `port_digits` skip
// that parameter. Writes at most two splices to `out`, in increasing
// offset order, and returns how many.
int PlanViaSourceParams(const Via& via, std::string_view data, std::string_view source_ip,
                        std::string_view port_digits, Splice out[2]);

}  // namespace sipshard::sip::internal
