// SIP request methods (RFC 3261 §7.1 and the extension RFCs).
//
// The proxy core switches on the method for transaction matching (ACK maps
// to INVITE, CANCEL keeps its own key) and for state machine choice, so the
// method is classified once at parse time. Unknown methods stay kOther and
// keep their text; a proxy must forward methods it does not know (§16.6).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace sipshard::sip {

enum class Method : uint8_t {
  kOther,
  kInvite,
  kAck,
  kBye,
  kCancel,
  kOptions,
  kRegister,
  kPrack,
  kSubscribe,
  kNotify,
  kPublish,
  kInfo,
  kRefer,
  kMessage,
  kUpdate,
};

// Classifies a method token; method names are case-sensitive (§7.1).
Method ParseMethod(std::string_view token);

// Returns the canonical token, or "" for kOther.
std::string_view MethodName(Method method);

namespace internal {
constexpr std::array<bool, 256> MakeTokenTable() {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
  for (char c : std::string_view("-.!%*_+`'~")) table[static_cast<unsigned char>(c)] = true;
  return table;
}
inline constexpr std::array<bool, 256> kTokenTable = MakeTokenTable();
}  // namespace internal

// Returns true for the characters RFC 3261 §25.1 allows in a `token`.
inline bool IsTokenChar(char c) { return internal::kTokenTable[static_cast<unsigned char>(c)]; }

}  // namespace sipshard::sip
