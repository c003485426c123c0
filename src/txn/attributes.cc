#include "sipshard/txn/attributes.h"

#include <charconv>
#include <cstring>

namespace sipshard::txn {

int Attributes::Find(std::string_view key) const {
  for (size_t i = 0; i < count_; ++i) {
    if (entries_[i].Key() == key) return static_cast<int>(i);
  }
  return -1;
}

bool Attributes::Set(std::string_view key, std::string_view value) {
  if (key.empty() || key.size() > kMaxKey || value.size() > kMaxValue) return false;
  int i = Find(key);
  if (i < 0) {
    if (count_ == kMaxEntries) return false;
    i = count_++;
    std::memcpy(entries_[static_cast<size_t>(i)].key.data(), key.data(), key.size());
    entries_[static_cast<size_t>(i)].key_size = static_cast<uint8_t>(key.size());
  }
  Entry& e = entries_[static_cast<size_t>(i)];
  if (!value.empty()) std::memcpy(e.value.data(), value.data(), value.size());
  e.value_size = static_cast<uint8_t>(value.size());
  return true;
}

bool Attributes::SetInt(std::string_view key, int64_t value) {
  char digits[24];
  const std::to_chars_result r = std::to_chars(digits, digits + sizeof digits, value);
  return Set(key, std::string_view(digits, static_cast<size_t>(r.ptr - digits)));
}

std::optional<std::string_view> Attributes::Get(std::string_view key) const {
  const int i = Find(key);
  if (i < 0) return std::nullopt;
  return entries_[static_cast<size_t>(i)].Value();
}

std::optional<int64_t> Attributes::GetInt(std::string_view key) const {
  std::optional<std::string_view> text = Get(key);
  if (!text) return std::nullopt;
  int64_t value = 0;
  const std::from_chars_result r = std::from_chars(text->data(), text->data() + text->size(), value);
  if (r.ec != std::errc() || r.ptr != text->data() + text->size()) return std::nullopt;
  return value;
}

bool Attributes::Remove(std::string_view key) {
  const int i = Find(key);
  if (i < 0) return false;
  entries_[static_cast<size_t>(i)] = entries_[count_ - 1u];
  --count_;
  return true;
}

}  // namespace sipshard::txn
