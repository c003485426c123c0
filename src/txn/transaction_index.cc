#include "sipshard/txn/transaction_index.h"

#include <bit>
#include <cassert>

namespace sipshard::txn {

TransactionIndex::TransactionIndex(size_t capacity) {
  const size_t size = std::bit_ceil(capacity < 4 ? size_t{8} : 2 * capacity);
  entries_.assign(size, Entry{});
  mask_ = size - 1;
}

void TransactionIndex::Insert(uint64_t hash, uint32_t slot) {
  assert(slot != kEmpty && size_ < entries_.size() / 2 + 1);
  const uint32_t tag = Tag(hash);
  size_t i = tag & mask_;
  while (entries_[i].slot != kEmpty) i = (i + 1) & mask_;
  entries_[i] = Entry{tag, slot};
  ++size_;
}

void TransactionIndex::Erase(uint64_t hash, uint32_t slot) {
  const uint32_t tag = Tag(hash);
  size_t hole = tag & mask_;
  for (;; hole = (hole + 1) & mask_) {
    if (entries_[hole].slot == kEmpty) return;
    if (entries_[hole].slot == slot) break;
  }
  --size_;
  // Backward shift: move each later entry of the run whose home is not
  // cyclically inside (hole, next] into the hole, so no lookup ever meets
  // an empty entry before reaching its key.
  for (size_t next = (hole + 1) & mask_; entries_[next].slot != kEmpty;
       next = (next + 1) & mask_) {
    const size_t home = entries_[next].tag & mask_;
    const bool stays = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next);
    if (stays) continue;
    entries_[hole] = entries_[next];
    hole = next;
  }
  entries_[hole] = Entry{};
}

}  // namespace sipshard::txn
