#include "sipshard/transport/buffer_ring.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace sipshard::transport {

namespace {

size_t RoundUpToPage(size_t bytes) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return (bytes + page - 1) / page * page;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ProvidedBufferRing>> ProvidedBufferRing::Create(
    Uring& ring, uint16_t group_id, uint32_t entries, uint32_t buffer_size) {
  if (entries == 0 || entries > kMaxEntries || (entries & (entries - 1)) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "buffer ring entries must be a power of two in [1, ", kMaxEntries,
        "], got ", entries));
  }
  if (buffer_size == 0) {
    return absl::InvalidArgumentError("buffer ring buffer_size must be > 0");
  }
  std::unique_ptr<ProvidedBufferRing> br(new ProvidedBufferRing());
  br->ring_ = &ring;
  br->entries_ = entries;
  br->buffer_size_ = buffer_size;
  br->mask_ = io_uring_buf_ring_mask(entries);
  br->group_id_ = group_id;

  br->ring_bytes_ = RoundUpToPage(entries * sizeof(io_uring_buf));
  void* ring_memory = mmap(nullptr, br->ring_bytes_, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (ring_memory == MAP_FAILED) {
    return absl::ErrnoToStatus(errno, "mmap(buffer ring)");
  }
  br->ring_entries_ = static_cast<io_uring_buf_ring*>(ring_memory);
  io_uring_buf_ring_init(br->ring_entries_);

  br->buffer_bytes_ = RoundUpToPage(static_cast<size_t>(entries) * buffer_size);
  void* buffer_memory = mmap(nullptr, br->buffer_bytes_,
                             PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (buffer_memory == MAP_FAILED) {
    return absl::ErrnoToStatus(errno, "mmap(receive buffers)");
  }
  br->buffers_ = static_cast<char*>(buffer_memory);

  io_uring_buf_reg reg;
  std::memset(&reg, 0, sizeof(reg));
  reg.ring_addr = reinterpret_cast<uintptr_t>(ring_memory);
  reg.ring_entries = entries;
  reg.bgid = group_id;
  const int ret = io_uring_register_buf_ring(ring.raw(), &reg, 0);
  if (ret < 0) {
    return absl::ErrnoToStatus(
        -ret, absl::StrCat("io_uring_register_buf_ring(group ", group_id,
                           ", entries ", entries, ")"));
  }
  br->registered_ = true;

  for (uint32_t bid = 0; bid < entries; ++bid) {
    br->Recycle(static_cast<uint16_t>(bid));
  }
  br->Publish();
  return br;
}

ProvidedBufferRing::~ProvidedBufferRing() {
  // Unregister first: after this the kernel selects no more buffers, and
  // with DEFER_TASKRUN nothing copies into them unless the owner enters.
  if (registered_) io_uring_unregister_buf_ring(ring_->raw(), group_id_);
  if (buffers_ != nullptr) munmap(buffers_, buffer_bytes_);
  if (ring_entries_ != nullptr) munmap(ring_entries_, ring_bytes_);
}

}  // namespace sipshard::transport
