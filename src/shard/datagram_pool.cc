#include "sipshard/shard/datagram_pool.h"

#include <new>

namespace sipshard::shard {
namespace {

size_t Stride(uint32_t payload) {
  const size_t raw = sizeof(Datagram) + payload;
  return (raw + alignof(Datagram) - 1) / alignof(Datagram) * alignof(Datagram);
}

}  // namespace

DatagramPool::DatagramPool(uint16_t pool_index, const DatagramPoolOptions& options)
    : pool_index_(pool_index),
      options_(options),
      small_stride_(Stride(options.small_payload)),
      large_stride_(Stride(options.large_payload)),
      small_memory_(new std::byte[small_stride_ * options.small_slots]),
      large_memory_(new std::byte[large_stride_ * options.large_slots]),
      // Room for every slot from every releasing thread: a Release never
      // needs to allocate in steady state.
      returns_(options.small_slots + options.large_slots, options.max_returning_threads, 0) {
  free_small_.reserve(options.small_slots);
  free_large_.reserve(options.large_slots);
  const uint32_t total = options.small_slots + options.large_slots;
  for (uint32_t i = total; i-- > 0;) {
    Datagram* d = new (SlotAt(i)) Datagram();
    d->pool_index = pool_index;
    d->slot_index = i;
    d->capacity = i < options.small_slots ? options.small_payload : options.large_payload;
    (i < options.small_slots ? free_small_ : free_large_).push_back(i);
  }
}

Datagram* DatagramPool::SlotAt(uint32_t index) {
  if (index < options_.small_slots) {
    return reinterpret_cast<Datagram*>(small_memory_.get() + small_stride_ * index);
  }
  return reinterpret_cast<Datagram*>(large_memory_.get() +
                                     large_stride_ * (index - options_.small_slots));
}

void DatagramPool::PutBack(uint32_t slot_index) {
  (slot_index < options_.small_slots ? free_small_ : free_large_).push_back(slot_index);
}

void DatagramPool::DrainReturns() {
  uint32_t batch[256];
  size_t n;
  while ((n = returns_.try_dequeue_bulk(batch, 256)) > 0) {
    for (size_t i = 0; i < n; ++i) PutBack(batch[i]);
  }
}

Datagram* DatagramPool::Acquire(size_t length) {
  const bool small = length <= options_.small_payload;
  if (!small && length > options_.large_payload) {
    ++exhausted_;
    return nullptr;
  }
  std::vector<uint32_t>& free_list = small ? free_small_ : free_large_;
  if (free_list.empty()) DrainReturns();
  if (free_list.empty()) {
    ++exhausted_;
    return nullptr;
  }
  const uint32_t index = free_list.back();
  free_list.pop_back();
  return SlotAt(index);
}

void DatagramPool::ReleaseLocal(Datagram* datagram) { PutBack(datagram->slot_index); }

void DatagramPool::Release(ReturnToken& token, Datagram* datagram) {
  if (returns_.try_enqueue(token, datagram->slot_index)) return;
  return_allocations_.fetch_add(1, std::memory_order_relaxed);
  returns_.enqueue(token, datagram->slot_index);
}

}  // namespace sipshard::shard
