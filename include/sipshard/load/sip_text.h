// Small text helpers shared by the load generator's UAC and UAS engines:
// an appender into a fixed buffer, decimal/hex formatting, splitting of
// comma-separated header values (Record-Route) and resolving a SIP URI to
// a numeric socket address.
//
// Stateless helpers; a TextBuffer is owned by the engine that fills it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include "sipshard/transport/socket_address.h"

namespace sipshard::load {

// Appends into a fixed-size buffer; overflow is sticky and checked once.
template <size_t N>
class TextBuffer {
 public:
  void Clear() {
    size_ = 0;
    overflow_ = false;
  }
  TextBuffer& Add(std::string_view s) {
    if (s.size() > N - size_) {
      overflow_ = true;
      return *this;
    }
    std::memcpy(data_ + size_, s.data(), s.size());
    size_ += s.size();
    return *this;
  }
  TextBuffer& Add(uint64_t value) {
    char digits[24];
    size_t n = 0;
    do {
      digits[n++] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value != 0);
    if (n > N - size_) {
      overflow_ = true;
      return *this;
    }
    while (n > 0) data_[size_++] = digits[--n];
    return *this;
  }
  TextBuffer& AddHex(uint64_t value) {
    static constexpr char kHex[] = "0123456789abcdef";
    char digits[16];
    size_t n = 0;
    do {
      digits[n++] = kHex[value & 15];
      value >>= 4;
    } while (value != 0);
    if (n > N - size_) {
      overflow_ = true;
      return *this;
    }
    while (n > 0) data_[size_++] = digits[--n];
    return *this;
  }
  std::string_view view() const { return std::string_view(data_, size_); }
  size_t size() const { return size_; }
  bool overflow() const { return overflow_; }

 private:
  char data_[N];
  size_t size_ = 0;
  bool overflow_ = false;
};

// Splits a comma-separated header value into elements, ignoring commas
// inside quotes and angle brackets; elements are trimmed.
void SplitHeaderList(std::string_view value, std::vector<std::string_view>* out);

// Returns the address a request for `uri` (a SIP URI, possibly inside
// angle brackets with header parameters) should go to, when its host is
// numeric; maddr is ignored. nullopt for a name that needs DNS.
std::optional<transport::SocketAddress> ResolveSipUri(std::string_view uri);

// Parses "host:port" ("[v6]:port" for IPv6). nullopt on error.
std::optional<transport::SocketAddress> ParseHostPort(std::string_view text);

// Formats an address as it goes into a SIP URI or Via: "1.2.3.4:5060",
// "[::1]:5060".
std::string FormatHostPort(const transport::SocketAddress& address);

}  // namespace sipshard::load
