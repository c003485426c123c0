#include "sipshard/transport/uring.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sipshard::transport {

absl::StatusOr<std::unique_ptr<Uring>> Uring::Create(
    const UringOptions& options) {
  if (options.sq_entries == 0) {
    return absl::InvalidArgumentError("io_uring sq_entries must be > 0");
  }
  io_uring_params params;
  std::memset(&params, 0, sizeof(params));
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
  params.cq_entries =
      options.cq_entries != 0 ? options.cq_entries : 4 * options.sq_entries;
  if (options.single_issuer) params.flags |= IORING_SETUP_SINGLE_ISSUER;
  if (options.defer_taskrun) params.flags |= IORING_SETUP_DEFER_TASKRUN;
  if (options.start_disabled) params.flags |= IORING_SETUP_R_DISABLED;

  std::unique_ptr<Uring> uring(new Uring());
  const int ret =
      io_uring_queue_init_params(options.sq_entries, &uring->ring_, &params);
  if (ret < 0) {
    return absl::ErrnoToStatus(
        -ret, absl::StrCat("io_uring_queue_init_params(sq=", options.sq_entries,
                           ", cq=", params.cq_entries, ")"));
  }
  uring->initialized_ = true;
  return uring;
}

Uring::~Uring() {
  if (initialized_) io_uring_queue_exit(&ring_);
}

absl::Status Uring::Enable() {
  // liburing 2.3 declares io_uring_enable_rings() but its symbol map does
  // not export it (fixed in 2.4), so issue the register call directly.
  // ring_fd is the real fd: we never register the ring fd itself.
  if (syscall(__NR_io_uring_register, ring_.ring_fd,
              IORING_REGISTER_ENABLE_RINGS, nullptr, 0) != 0) {
    return absl::ErrnoToStatus(errno, "IORING_REGISTER_ENABLE_RINGS");
  }
  return absl::OkStatus();
}

io_uring_sqe* Uring::GetSqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe != nullptr) return sqe;
  if (io_uring_submit(&ring_) < 0) return nullptr;
  return io_uring_get_sqe(&ring_);
}

int Uring::Submit() { return io_uring_submit(&ring_); }

int Uring::SubmitAndWait(int timeout_ms) {
  if (timeout_ms < 0) return io_uring_submit_and_wait(&ring_, 1);
  if (timeout_ms == 0) return io_uring_submit_and_get_events(&ring_);
  __kernel_timespec ts;
  ts.tv_sec = timeout_ms / 1000;
  ts.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1'000'000;
  io_uring_cqe* cqe = nullptr;
  return io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
}

bool Uring::PrepareMessageRing(int target_ring_fd, uint64_t user_data) {
  io_uring_sqe* sqe = GetSqe();
  if (sqe == nullptr) return false;
  io_uring_prep_msg_ring(sqe, target_ring_fd, 0, user_data, 0);
  io_uring_sqe_set_data64(sqe,
                          EncodeUserData(CompletionTag::kMessageRing, 0));
  sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
  return true;
}

namespace {

// Registers and unregisters a one-entry provided-buffer ring: the only way to
// learn whether IORING_REGISTER_PBUF_RING works, since it is not an opcode.
absl::Status CheckBufferRingRegistration(io_uring* ring) {
  const long page = sysconf(_SC_PAGESIZE);
  void* mem = mmap(nullptr, static_cast<size_t>(page), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return absl::ErrnoToStatus(errno, "mmap");
  io_uring_buf_reg reg;
  std::memset(&reg, 0, sizeof(reg));
  reg.ring_addr = reinterpret_cast<uintptr_t>(mem);
  reg.ring_entries = 1;
  reg.bgid = 0;
  const int ret = io_uring_register_buf_ring(ring, &reg, 0);
  if (ret == 0) io_uring_unregister_buf_ring(ring, 0);
  munmap(mem, static_cast<size_t>(page));
  if (ret < 0) {
    return absl::ErrnoToStatus(-ret, "io_uring_register_buf_ring");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckKernelSupport() {
  std::vector<std::string> missing;
  UringOptions options;
  options.sq_entries = 8;
  auto ring_or = Uring::Create(options);
  if (!ring_or.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "io_uring with SINGLE_ISSUER|DEFER_TASKRUN|CQSIZE is unavailable "
        "(kernel >= 6.1 needed, io_uring not disabled by sysctl/seccomp): ",
        ring_or.status().message()));
  }
  Uring& ring = **ring_or;
  if ((ring.raw()->features & IORING_FEAT_EXT_ARG) == 0) {
    missing.push_back("IORING_FEAT_EXT_ARG (timed waits)");
  }
  if ((ring.raw()->features & IORING_FEAT_NODROP) == 0) {
    missing.push_back("IORING_FEAT_NODROP");
  }
  io_uring_probe* probe = io_uring_get_probe_ring(ring.raw());
  if (probe == nullptr) {
    missing.push_back("io_uring probe (IORING_REGISTER_PROBE)");
  } else {
    struct {
      int opcode;
      const char* name;
    } constexpr kNeeded[] = {
        {IORING_OP_RECVMSG, "IORING_OP_RECVMSG"},
        {IORING_OP_SENDMSG, "IORING_OP_SENDMSG"},
        {IORING_OP_MSG_RING, "IORING_OP_MSG_RING"},
        {IORING_OP_POLL_ADD, "IORING_OP_POLL_ADD"},
        {IORING_OP_ASYNC_CANCEL, "IORING_OP_ASYNC_CANCEL"},
    };
    for (const auto& needed : kNeeded) {
      if (!io_uring_opcode_supported(probe, needed.opcode)) {
        missing.push_back(needed.name);
      }
    }
    io_uring_free_probe(probe);
  }
  if (absl::Status status = CheckBufferRingRegistration(ring.raw());
      !status.ok()) {
    missing.push_back(
        absl::StrCat("provided buffer rings (", status.message(), ")"));
  }
  if (!missing.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("kernel lacks io_uring features sipshard needs: ",
                     absl::StrJoin(missing, ", ")));
  }
  return absl::OkStatus();
}

}  // namespace sipshard::transport
