#include "sipshard/txn/buffer_pool.h"

#include <cstring>

namespace sipshard::txn {
namespace {

// Buffers per heap block, per class: small classes come in batches.
constexpr std::array<uint32_t, BufferPool::kClassSizes.size()> kPerBlock = {64, 32, 16, 4, 1};

}  // namespace

std::span<char> BufferPool::Reserve(PooledBuffer* buffer, size_t capacity) {
  if (buffer->data != nullptr && buffer->capacity >= capacity) {
    buffer->size = 0;
    return std::span<char>(buffer->data, buffer->capacity);
  }
  Release(buffer);
  size_t c = 0;
  while (c < kClassSizes.size() && kClassSizes[c] < capacity) ++c;
  if (c == kClassSizes.size()) return {};
  if (free_[c].empty()) {
    const size_t n = kPerBlock[c];
    blocks_.push_back(std::make_unique_for_overwrite<char[]>(n * kClassSizes[c]));
    char* base = blocks_.back().get();
    for (size_t i = 0; i < n; ++i) free_[c].push_back(base + i * kClassSizes[c]);
  }
  buffer->data = free_[c].back();
  free_[c].pop_back();
  buffer->capacity = kClassSizes[c];
  buffer->size = 0;
  buffer->size_class = static_cast<uint8_t>(c);
  return std::span<char>(buffer->data, buffer->capacity);
}

bool BufferPool::Assign(PooledBuffer* buffer, std::string_view bytes) {
  std::span<char> out = Reserve(buffer, bytes.size());
  if (out.size() < bytes.size()) return false;
  if (!bytes.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
  buffer->size = static_cast<uint32_t>(bytes.size());
  return true;
}

void BufferPool::Release(PooledBuffer* buffer) {
  if (buffer->data != nullptr) free_[buffer->size_class].push_back(buffer->data);
  *buffer = PooledBuffer{};
}

}  // namespace sipshard::txn
