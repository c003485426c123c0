// The hash index from a server-transaction key to its slot in the
// TransactionTable: open addressing with linear probing over 8-byte
// entries, at most half full.
//
// Why not chains: at 1000 calls/s a shard holds ~64 k transactions for the
// 32 s RFC wait, and the index is touched at random (a lookup per request,
// an insert per transaction, an erase per free) between long stretches of
// other work, so every probe is a cache miss. A chained index cost two
// misses per lookup (bucket, then link); here a lookup reads one entry,
// usually one cache line, and compares a 32-bit hash tag before the caller
// looks at a cell. Erasing shifts later entries of the run back (no
// tombstones), so probe runs stay short however long the shard runs.
//
// The caller gives the 64-bit key hash; its upper 32 bits are both the tag
// and the home position. Owned by one TransactionTable; shard-local.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sipshard::txn {

class TransactionIndex {
 public:
  // Room for `capacity` entries at a load of at most 1/2.
  explicit TransactionIndex(size_t capacity);

  // Calls `matches(slot)` for every entry whose tag equals the hash's, in
  // probe order, and returns the first slot it accepts, or -1.
  template <typename Matches>
  int64_t Find(uint64_t hash, Matches&& matches) const {
    const uint32_t tag = Tag(hash);
    for (size_t i = tag & mask_;; i = (i + 1) & mask_) {
      const Entry& entry = entries_[i];
      if (entry.slot == kEmpty) return -1;
      if (entry.tag == tag && matches(entry.slot)) return entry.slot;
    }
  }

  // Starts loading the entry `hash` probes first: freeing a transaction
  // runs from a timer long after the entry was last touched.
  void Prefetch(uint64_t hash) const { __builtin_prefetch(&entries_[Tag(hash) & mask_], 1); }

  // Adds `slot` under `hash`. The table never holds more than `capacity`.
  void Insert(uint64_t hash, uint32_t slot);
  // Removes the entry of `slot` filed under `hash`; no-op if absent.
  void Erase(uint64_t hash, uint32_t slot);

  size_t size() const { return size_; }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  struct Entry {
    uint32_t tag = 0;
    uint32_t slot = kEmpty;
  };
  static uint32_t Tag(uint64_t hash) { return static_cast<uint32_t>(hash >> 32); }

  std::vector<Entry> entries_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace sipshard::txn
