#include "sipshard/txn/branch_id.h"

#include <cstring>

namespace sipshard::txn {
namespace {

constexpr char kHex[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

char* WriteHex(uint64_t value, int digits, char* p) {
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) *p++ = kHex[(value >> shift) & 0xf];
  return p;
}

bool ReadHex(std::string_view text, uint64_t* value) {
  uint64_t v = 0;
  for (char c : text) {
    const int d = HexValue(c);
    if (d < 0) return false;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  *value = v;
  return true;
}

// Every branch of ours starts "z9hG4bK-sx<shard:4 hex>-<kind>".
constexpr size_t kPrefixLength = kBranchMarker.size() + 6;

char* WritePrefix(uint16_t shard, BranchKind kind, char* p) {
  std::memcpy(p, kBranchMarker.data(), kBranchMarker.size());
  p = WriteHex(shard, 4, p + kBranchMarker.size());
  *p++ = '-';
  *p++ = static_cast<char>(kind);
  return p;
}

// Returns the shard of a branch of `kind` whose payload has exactly
// `payload_length` characters, or nullopt.
std::optional<uint16_t> ParsePrefix(std::string_view branch, BranchKind kind,
                                    size_t payload_length) {
  if (branch.size() != kPrefixLength + payload_length) return std::nullopt;
  if (branch[kPrefixLength - 1] != static_cast<char>(kind)) return std::nullopt;
  return ShardFromBranch(branch);
}

}  // namespace

size_t FormatStatelessBranch(const StatelessBranch& id, char* out) {
  char* p = WritePrefix(id.shard, BranchKind::kStateless, out);
  p = WriteHex(id.transaction_hash, 16, p);
  p = WriteHex(id.loop_hash, 16, p);
  return static_cast<size_t>(p - out);
}

std::optional<StatelessBranch> ParseStatelessBranch(std::string_view branch) {
  const std::optional<uint16_t> shard = ParsePrefix(branch, BranchKind::kStateless, 32);
  if (!shard) return std::nullopt;
  StatelessBranch id;
  id.shard = *shard;
  if (!ReadHex(branch.substr(kPrefixLength, 16), &id.transaction_hash) ||
      !ReadHex(branch.substr(kPrefixLength + 16, 16), &id.loop_hash)) {
    return std::nullopt;
  }
  return id;
}

size_t FormatTransactionBranch(const TransactionBranch& id, char* out) {
  char* p = WritePrefix(id.shard, BranchKind::kTransaction, out);
  p = WriteHex(id.slot, 8, p);
  p = WriteHex(id.generation, 8, p);
  p = WriteHex(id.branch, 2, p);
  return static_cast<size_t>(p - out);
}

std::optional<TransactionBranch> ParseTransactionBranch(std::string_view branch) {
  const std::optional<uint16_t> shard = ParsePrefix(branch, BranchKind::kTransaction, 18);
  if (!shard) return std::nullopt;
  uint64_t slot = 0, generation = 0, index = 0;
  if (!ReadHex(branch.substr(kPrefixLength, 8), &slot) ||
      !ReadHex(branch.substr(kPrefixLength + 8, 8), &generation) ||
      !ReadHex(branch.substr(kPrefixLength + 16, 2), &index)) {
    return std::nullopt;
  }
  TransactionBranch id;
  id.shard = *shard;
  id.slot = static_cast<uint32_t>(slot);
  id.generation = static_cast<uint32_t>(generation);
  id.branch = static_cast<uint8_t>(index);
  return id;
}

size_t FormatProbeBranch(const ProbeBranch& id, char* out) {
  char* p = WritePrefix(id.shard, BranchKind::kProbe, out);
  p = WriteHex(id.set, 4, p);
  p = WriteHex(id.destination, 4, p);
  p = WriteHex(id.sequence, 8, p);
  return static_cast<size_t>(p - out);
}

std::optional<ProbeBranch> ParseProbeBranch(std::string_view branch) {
  const std::optional<uint16_t> shard = ParsePrefix(branch, BranchKind::kProbe, 16);
  if (!shard) return std::nullopt;
  uint64_t set = 0, destination = 0, sequence = 0;
  if (!ReadHex(branch.substr(kPrefixLength, 4), &set) ||
      !ReadHex(branch.substr(kPrefixLength + 4, 4), &destination) ||
      !ReadHex(branch.substr(kPrefixLength + 8, 8), &sequence)) {
    return std::nullopt;
  }
  ProbeBranch id;
  id.shard = *shard;
  id.set = static_cast<uint16_t>(set);
  id.destination = static_cast<uint16_t>(destination);
  id.sequence = static_cast<uint32_t>(sequence);
  return id;
}

std::optional<uint16_t> ShardFromBranch(std::string_view branch) {
  if (!IsOurBranch(branch) || branch.size() < kBranchMarker.size() + 5) return std::nullopt;
  uint16_t shard = 0;
  for (size_t i = 0; i < 4; ++i) {
    const int v = HexValue(branch[kBranchMarker.size() + i]);
    if (v < 0) return std::nullopt;
    shard = static_cast<uint16_t>((shard << 4) | v);
  }
  if (branch[kBranchMarker.size() + 4] != '-') return std::nullopt;
  return shard;
}

}  // namespace sipshard::txn
