// The shard-local transaction table: a slab of Transaction cells, the
// RFC 3261 §17.2.3 server index, a separate pre-3261 index, O(1) response
// matching through the Via branch, and the short memory of CANCELs that
// overtook their INVITE.
//
// A Transaction is one server transaction plus up to kMaxBranches client
// transactions (branches), the per-transaction attributes and the buffers
// they keep. Cells live in chunks of 256 that are allocated while the
// table warms up and then recycled through a free list, so steady-state
// traffic allocates nothing. Branches come from a second pool of the same
// kind and are linked to the cell while it is in use: most transactions
// have one branch, and keeping all sixteen inline made a cell 5.4 KB
// (354 MB for a full 65536-entry table). Every reuse bumps the cell's generation, and
// a response whose branch names an old generation matches nothing
// (DESIGN-NOTES §5 pitfall 15). A cell is freed only when its server and
// every branch are Terminated, which always happens on a timer (H, I, J,
// L, D, K, M), never inside the handling of a message: code that holds a
// Transaction* while handling a message may keep using it.
//
// The table is the transaction layer's half of the contract with the TU
// (the stateful proxy): the TU calls into the state machines for messages,
// and hears about timer-driven events through TransactionUser.
//
// Shard-local: no locks, no atomics; one table per shard.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "sipshard/base/timer_wheel.h"
#include "sipshard/metrics/shard_counters.h"
#include "sipshard/sip/message.h"
#include "sipshard/sip/parser.h"
#include "sipshard/txn/attributes.h"
#include "sipshard/txn/branch_id.h"
#include "sipshard/txn/buffer_pool.h"
#include "sipshard/txn/client_transaction.h"
#include "sipshard/txn/sender.h"
#include "sipshard/txn/server_transaction.h"
#include "sipshard/txn/transaction_index.h"
#include "sipshard/txn/timer_values.h"

namespace sipshard::txn {

class Transaction {
 public:
  static constexpr size_t kMaxBranches = 16;

  Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  uint32_t slot() const { return slot_; }
  uint32_t generation() const { return generation_; }
  ServerTransaction& server() { return server_; }
  const ServerTransaction& server() const { return server_; }
  ClientTransaction& branch(size_t i) { return *branches_[i]; }
  const ClientTransaction& branch(size_t i) const { return *branches_[i]; }
  size_t branch_count() const { return branch_count_; }
  Attributes& attributes() { return attributes_; }
  // Returns the index of a fresh (Idle) branch, or -1 when all are used.
  int AddBranch();
  // True when every started branch has a final outcome.
  bool AllBranchesEnded() const;

 private:
  friend class TransactionTable;
  friend class ServerTransaction;
  friend class ClientTransaction;

  void OnLifetimeTimer();
  // Ends every machine still in its Completed/Accepted wait, then frees
  // the cell if nothing else is running.
  void OnWaitTimer();

  TransactionTable* table_ = nullptr;
  uint32_t slot_ = 0;
  uint32_t generation_ = 0;
  bool in_use_ = false;
  bool in_legacy_index_ = false;
  uint8_t branch_count_ = 0;
  ServerTransaction server_;
  // branches_[0, branch_count_) are taken from the table's branch pool.
  std::array<ClientTransaction*, kMaxBranches> branches_{};
  Attributes attributes_;
  base::TimerNode lifetime_timer_;
  // One timer for the waits (D, I, J, K, L, M) of all its machines: it
  // fires at the latest of them and ends every machine still waiting.
  // Absorbing retransmissions longer than a machine's own wait is always
  // allowed, and a call is then visited once when its transaction ends,
  // not once per machine (each visit is a cache miss on a cell untouched
  // for 32 s).
  base::TimerNode wait_timer_;
};

// The TU side: events the transaction layer raises on its own (timers).
// Called on the shard thread from inside TimerWheel::Advance.
class TransactionUser {
 public:
  virtual ~TransactionUser() = default;
  // A branch ended without a final response: no response in time (408),
  // Timer C (408, a CANCEL was sent), or a CANCELed branch that never
  // answered. The branch is Completed with its LocalOutcome set.
  virtual void OnBranchTimeout(Transaction& txn, size_t branch) = 0;
  // The transaction reached its lifetime cap without a final response.
  virtual void OnLifetimeExpired(Transaction& txn) = 0;
  // The transaction is about to be freed (every machine Terminated).
  virtual void OnTerminated(Transaction& txn) = 0;
};

struct TableOptions {
  uint16_t shard = 0;
  size_t capacity = 65536;  // transactions per shard
  TimerValues timers;
  sip::ParseLimits limits;
};

struct ResponseMatch {
  Transaction* txn = nullptr;
  size_t branch = 0;
  bool cancel = false;  // the response answers our CANCEL
};

class TransactionTable {
 public:
  TransactionTable(const TableOptions& options, Sender* sender, base::TimerWheel* wheel,
                   TransactionUser* user, metrics::ShardCounters* counters);
  ~TransactionTable();
  TransactionTable(const TransactionTable&) = delete;
  TransactionTable& operator=(const TransactionTable&) = delete;

  // Finds the server transaction of `request` (§17.2.3): ACK maps to the
  // INVITE, any other method to its own. nullptr when there is none.
  // `key`, when given, receives the key that was looked up, so that a miss
  // followed by Create() hashes the request once.
  Transaction* FindServer(const sip::Message& request, ServerKey* key = nullptr);
  // Finds the INVITE server transaction a CANCEL refers to (§9.2).
  Transaction* FindInviteForCancel(const sip::Message& cancel);

  // Creates the server transaction for a new request received from
  // `reply_path`, or returns nullptr when the table is full. INVITE starts
  // in Proceeding (the caller sends 100 Trying), others in Trying. ACK and
  // CANCEL never get one.
  // `key`: the request's key from FindServer(), or null to compute it.
  Transaction* Create(const sip::Message& request, const OutboundPath& reply_path,
                      const ServerKey* key = nullptr);

  // Matches a response to a branch (§17.1.3): our transaction branch,
  // current generation, a started branch, and the CSeq method equal to the
  // branch's (or CANCEL, for the answer to our CANCEL).
  std::optional<ResponseMatch> MatchResponse(const sip::Message& response);

  // Returns the live transaction a branch id of this shard names (current
  // generation, a started branch), or nullptr (§16.3 step 4 loop check).
  Transaction* FindLive(const TransactionBranch& id);

  // Formats the Via branch of branch `index` of `txn`.
  size_t FormatBranch(const Transaction& txn, size_t index, char* out) const;

  // Remembers a CANCEL that matched nothing (pitfall 4) for 64*T1, so
  // that its INVITE, if it arrives late, is answered 487.
  void RememberCancel(const sip::Message& cancel);
  // Returns true (once) if `invite` was canceled before it arrived.
  bool TakeEarlyCancel(const sip::Message& invite);

  size_t active() const { return active_; }
  size_t capacity() const { return options_.capacity; }
  bool full() const { return active_ >= options_.capacity; }
  const TimerValues& timers() const { return options_.timers; }
  const TableOptions& options() const { return options_; }
  BufferPool& buffers() { return buffers_; }
  Sender& sender() { return *sender_; }
  base::TimerWheel& wheel() { return *wheel_; }
  TransactionUser& user() { return *user_; }
  metrics::ShardCounters& counters() { return *counters_; }
  // Arms `txn`'s wait timer for a machine entering a wait of `wait` ms,
  // unless it already fires as late (TimerValues::WaitSlack applies).
  void ArmWait(Transaction& txn, base::Millis wait);
  // Parses `bytes` (a stored message) into the table's scratch message.
  const sip::Message* ParseStored(std::string_view bytes);
  // Heap blocks allocated so far (slab chunks + buffers).
  size_t heap_allocations() const {
    return chunks_.size() + branch_chunks_.size() + buffers_.heap_allocations();
  }

 private:
  friend class ServerTransaction;
  friend class ClientTransaction;
  friend class Transaction;

  static constexpr size_t kChunk = 256;
  static constexpr size_t kCancelMemory = 64;

  Transaction& Cell(uint32_t slot) { return chunks_[slot / kChunk][slot % kChunk]; }
  // Takes an Idle branch from the pool (growing it by a chunk when empty)
  // and binds it to `txn` as branch `index`.
  ClientTransaction* AcquireBranch(Transaction& txn, uint8_t index);
  // Resets a Terminated branch and returns it to the pool.
  void ReleaseBranch(ClientTransaction* branch);
  Transaction* Find(const ServerKey& key, bool legacy);
  void Link(Transaction& txn);
  void Unlink(Transaction& txn);
  // The wait timer of `txn` fired: ends the machines still waiting.
  void EndWaits(Transaction& txn);
  // Frees `txn` once every machine is Terminated.
  void MaybeFree(Transaction& txn);

  TableOptions options_;
  Sender* sender_;
  base::TimerWheel* wheel_;
  TransactionUser* user_;
  metrics::ShardCounters* counters_;
  metrics::ShardCounters own_counters_;
  BufferPool buffers_;
  std::vector<std::unique_ptr<Transaction[]>> chunks_;
  std::vector<uint32_t> free_;
  std::vector<std::unique_ptr<ClientTransaction[]>> branch_chunks_;
  std::vector<ClientTransaction*> free_branches_;
  // Key hash -> slot, apart from the cells (transaction_index.h).
  TransactionIndex index_;         // RFC 3261 keys
  TransactionIndex legacy_index_;  // pre-3261 keys
  size_t active_ = 0;
  struct EarlyCancel {
    uint64_t hash = 0;
    base::Millis expires = 0;
  };
  std::array<EarlyCancel, kCancelMemory> early_cancels_{};
  size_t early_cancel_next_ = 0;
  // The latest expiry of any remembered CANCEL: past it, TakeEarlyCancel
  // answers without hashing the INVITE or scanning the entries.
  base::Millis early_cancel_horizon_ = 0;
  sip::Message scratch_;
};

}  // namespace sipshard::txn
