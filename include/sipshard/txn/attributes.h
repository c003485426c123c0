// Per-transaction attributes: Kamailio's AVPs.
//
// A small fixed bag of key/value strings that the request hook fills while
// the request is processed and the reply and failure hooks read later
// (e.g. "which carrier", "attempt budget"). Fixed storage inside the
// transaction: no heap allocation, ever. Keys up to kMaxKey bytes, values up
// to kMaxValue bytes, at most kMaxEntries entries; a Set that does not fit
// returns false. Shard-local, owned by its Transaction.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace sipshard::txn {

class Attributes {
 public:
  static constexpr size_t kMaxEntries = 8;
  static constexpr size_t kMaxKey = 23;
  static constexpr size_t kMaxValue = 63;

  // Sets (or replaces) `key`. False when the key or value is too long or
  // the bag is full.
  bool Set(std::string_view key, std::string_view value);
  bool SetInt(std::string_view key, int64_t value);
  // Returns the value of `key`, or nullopt.
  std::optional<std::string_view> Get(std::string_view key) const;
  // Returns the value parsed as a decimal integer, or nullopt.
  std::optional<int64_t> GetInt(std::string_view key) const;
  bool Remove(std::string_view key);
  void Clear() { count_ = 0; }
  size_t size() const { return count_; }

 private:
  struct Entry {
    std::array<char, kMaxKey> key;
    std::array<char, kMaxValue> value;
    uint8_t key_size;
    uint8_t value_size;
    std::string_view Key() const { return std::string_view(key.data(), key_size); }
    std::string_view Value() const { return std::string_view(value.data(), value_size); }
  };
  int Find(std::string_view key) const;

  std::array<Entry, kMaxEntries> entries_;
  uint8_t count_ = 0;
};

}  // namespace sipshard::txn
