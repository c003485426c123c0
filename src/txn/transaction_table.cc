#include "sipshard/txn/transaction_table.h"

#include <algorithm>
#include <bit>

#include "sipshard/base/hash.h"
#include "sipshard/txn/branch_id.h"

namespace sipshard::txn {
namespace {

uint64_t EarlyCancelHash(const ServerKey& key) { return base::HashCombine(key.hash, 0x487); }

}  // namespace

Transaction::Transaction()
    : lifetime_timer_(&base::TimerNode::CallMember<Transaction, &Transaction::OnLifetimeTimer>,
                      this),
      wait_timer_(&base::TimerNode::CallMember<Transaction, &Transaction::OnWaitTimer>, this) {}

void Transaction::OnWaitTimer() { table_->EndWaits(*this); }

int Transaction::AddBranch() {
  if (branch_count_ == kMaxBranches) return -1;
  branches_[branch_count_] = table_->AcquireBranch(*this, branch_count_);
  return branch_count_++;
}

bool Transaction::AllBranchesEnded() const {
  for (size_t i = 0; i < branch_count_; ++i) {
    if (!branches_[i]->ended()) return false;
  }
  return true;
}

void Transaction::OnLifetimeTimer() {
  if (!server_.final_sent()) {
    table_->counters().lifetime_expired.Add();
    table_->user().OnLifetimeExpired(*this);
  }
}

TransactionTable::TransactionTable(const TableOptions& options, Sender* sender,
                                   base::TimerWheel* wheel, TransactionUser* user,
                                   metrics::ShardCounters* counters)
    : options_(options),
      sender_(sender),
      wheel_(wheel),
      user_(user),
      counters_(counters != nullptr ? counters : &own_counters_),
      index_(options_.capacity == 0 ? 1 : options_.capacity),
      legacy_index_(options_.capacity == 0 ? 1 : options_.capacity) {
  if (options_.capacity == 0) options_.capacity = 1;
  free_.reserve(options_.capacity);
}

TransactionTable::~TransactionTable() {
  // Disarm every timer before the cells go, whatever the destruction order.
  for (auto& chunk : chunks_) {
    for (size_t i = 0; i < kChunk; ++i) {
      Transaction& txn = chunk[i];
      txn.lifetime_timer_.Cancel();
      txn.wait_timer_.Cancel();
      txn.server_.Terminate();
    }
  }
  for (auto& chunk : branch_chunks_) {
    for (size_t i = 0; i < kChunk; ++i) chunk[i].Terminate();
  }
}

ClientTransaction* TransactionTable::AcquireBranch(Transaction& txn, uint8_t index) {
  if (free_branches_.empty()) {
    branch_chunks_.push_back(std::make_unique<ClientTransaction[]>(kChunk));
    for (size_t i = kChunk; i-- > 0;) {
      ClientTransaction& branch = branch_chunks_.back()[i];
      branch.table_ = this;
      free_branches_.push_back(&branch);
    }
  }
  ClientTransaction* branch = free_branches_.back();
  free_branches_.pop_back();
  branch->cell_ = &txn;
  branch->index_ = index;
  return branch;
}

void TransactionTable::ReleaseBranch(ClientTransaction* branch) {
  buffers_.Release(&branch->request_);
  buffers_.Release(&branch->ack_);
  buffers_.Release(&branch->cancel_);
  branch->state_ = ClientState::kIdle;
  branch->local_outcome_ = LocalOutcome::kNone;
  branch->provisional_received_ = false;
  branch->cancel_requested_ = false;
  branch->cancel_sent_ = false;
  branch->cancel_answered_ = false;
  branch->final_status_ = 0;
  branch->last_provisional_ = 0;
  branch->cell_ = nullptr;
  free_branches_.push_back(branch);
}

void TransactionTable::EndWaits(Transaction& txn) {
  if (txn.server_.waiting_) txn.server_.Terminate();
  for (size_t i = 0; i < txn.branch_count_; ++i) {
    if (txn.branches_[i]->waiting_) txn.branches_[i]->Terminate();
  }
  MaybeFree(txn);
}

void TransactionTable::ArmWait(Transaction& txn, base::Millis wait) {
  if (txn.wait_timer_.armed() && txn.wait_timer_.deadline() >= wheel_->now() + wait) return;
  wheel_->ArmWithSlack(txn.wait_timer_, wait, TimerValues::WaitSlack(wait));
}

const sip::Message* TransactionTable::ParseStored(std::string_view bytes) {
  if (sip::ParseMessage(bytes, options_.limits, &scratch_) != sip::ParseError::kNone) {
    return nullptr;
  }
  return &scratch_;
}

Transaction* TransactionTable::Find(const ServerKey& key, bool legacy) {
  const TransactionIndex& index = legacy ? legacy_index_ : index_;
  const int64_t slot = index.Find(
      key.hash, [&](uint32_t candidate) { return SameTransaction(Cell(candidate).server_.key_, key); });
  return slot < 0 ? nullptr : &Cell(static_cast<uint32_t>(slot));
}

Transaction* TransactionTable::FindServer(const sip::Message& request, ServerKey* computed) {
  if (request.method == sip::Method::kCancel) {
    const ServerKey key = MakeServerKey(request, sip::Method::kCancel);
    return Find(key, !key.rfc3261);
  }
  const ServerKey key = MakeServerKey(request, request.method);
  if (computed != nullptr) *computed = key;
  Transaction* txn = Find(key, !key.rfc3261);
  if (txn != nullptr && !key.rfc3261 && request.method == sip::Method::kAck) {
    // §17.2.3 (RFC 2543): the ACK's To tag must be the tag of our response.
    const sip::Message* response = ParseStored(txn->server_.last_response());
    if (response == nullptr || response->to.tag != request.to.tag) return nullptr;
  }
  return txn;
}

Transaction* TransactionTable::FindInviteForCancel(const sip::Message& cancel) {
  // §9.2: the CANCEL matches the INVITE by the same rules, method aside.
  const ServerKey key = MakeServerKey(cancel, sip::Method::kInvite);
  return Find(key, !key.rfc3261);
}

void TransactionTable::Link(Transaction& txn) {
  (txn.in_legacy_index_ ? legacy_index_ : index_).Insert(txn.server_.key_.hash, txn.slot_);
}

void TransactionTable::Unlink(Transaction& txn) {
  (txn.in_legacy_index_ ? legacy_index_ : index_).Erase(txn.server_.key_.hash, txn.slot_);
}

Transaction* TransactionTable::Create(const sip::Message& request, const OutboundPath& reply_path,
                                      const ServerKey* key) {
  if (request.method == sip::Method::kAck || request.method == sip::Method::kCancel) return nullptr;
  if (active_ >= options_.capacity) {
    counters_->transactions_overflow.Add();
    return nullptr;
  }
  if (free_.empty()) {
    const uint32_t base = static_cast<uint32_t>(chunks_.size() * kChunk);
    chunks_.push_back(std::make_unique<Transaction[]>(kChunk));
    for (size_t i = kChunk; i-- > 0;) {
      Transaction& txn = chunks_.back()[i];
      txn.table_ = this;
      txn.slot_ = base + static_cast<uint32_t>(i);
      txn.server_.cell_ = &txn;
      txn.server_.table_ = this;
      free_.push_back(txn.slot_);
    }
  }
  Transaction& txn = Cell(free_.back());
  ServerTransaction& server = txn.server_;
  if (!buffers_.Assign(&server.request_, request.data)) return nullptr;
  free_.pop_back();
  ++active_;
  txn.in_use_ = true;
  txn.branch_count_ = 0;
  txn.attributes_.Clear();
  server.method_ = request.method;
  server.final_status_ = 0;
  server.reply_path_ = reply_path;
  server.key_ = RebaseKey(key != nullptr ? *key : MakeServerKey(request, request.method),
                          request.data, server.request_.view());
  txn.in_legacy_index_ = !server.key_.rfc3261;
  Link(txn);
  server.state_ =
      request.method == sip::Method::kInvite ? ServerState::kProceeding : ServerState::kTrying;
  wheel_->Arm(txn.lifetime_timer_, request.method == sip::Method::kInvite
                                       ? options_.timers.max_inv_lifetime
                                       : options_.timers.max_noninv_lifetime);
  counters_->transactions_created.Add();
  return &txn;
}

std::optional<ResponseMatch> TransactionTable::MatchResponse(const sip::Message& response) {
  std::optional<TransactionBranch> id = ParseTransactionBranch(response.top_via.branch);
  if (!id || id->shard != options_.shard) return std::nullopt;
  const uint32_t allocated = static_cast<uint32_t>(chunks_.size() * kChunk);
  if (id->slot >= allocated) return std::nullopt;
  Transaction& txn = Cell(id->slot);
  // Pitfall 15: a stale generation names a previous use of the slot.
  if (!txn.in_use_ || txn.generation_ != id->generation || id->branch >= txn.branch_count_) {
    return std::nullopt;
  }
  ClientTransaction& branch = *txn.branches_[id->branch];
  if (branch.state_ == ClientState::kIdle || branch.state_ == ClientState::kTerminated) {
    return std::nullopt;
  }
  // §17.1.3: the CSeq method must be the transaction's; CANCEL shares the
  // INVITE's branch and is told apart by it.
  ResponseMatch match{&txn, id->branch, false};
  if (response.cseq.method == sip::Method::kCancel && branch.method_ == sip::Method::kInvite) {
    match.cancel = true;
    return match;
  }
  if (response.cseq.method != branch.method_) return std::nullopt;
  return match;
}

Transaction* TransactionTable::FindLive(const TransactionBranch& id) {
  if (id.shard != options_.shard || id.slot >= chunks_.size() * kChunk) return nullptr;
  Transaction& txn = Cell(id.slot);
  if (!txn.in_use_ || txn.generation_ != id.generation || id.branch >= txn.branch_count_) {
    return nullptr;
  }
  return &txn;
}

size_t TransactionTable::FormatBranch(const Transaction& txn, size_t index, char* out) const {
  TransactionBranch id;
  id.shard = options_.shard;
  id.slot = txn.slot_;
  id.generation = txn.generation_;
  id.branch = static_cast<uint8_t>(index);
  return FormatTransactionBranch(id, out);
}

void TransactionTable::RememberCancel(const sip::Message& cancel) {
  EarlyCancel& entry = early_cancels_[early_cancel_next_++ % kCancelMemory];
  entry.hash = EarlyCancelHash(MakeServerKey(cancel, sip::Method::kInvite));
  entry.expires = wheel_->now() + options_.timers.TimerF();
  early_cancel_horizon_ = std::max(early_cancel_horizon_, entry.expires);
}

bool TransactionTable::TakeEarlyCancel(const sip::Message& invite) {
  if (wheel_->now() > early_cancel_horizon_) return false;
  const uint64_t hash = EarlyCancelHash(MakeServerKey(invite, sip::Method::kInvite));
  for (EarlyCancel& entry : early_cancels_) {
    if (entry.hash == hash && entry.expires >= wheel_->now()) {
      entry = EarlyCancel{};
      return true;
    }
  }
  return false;
}

void TransactionTable::MaybeFree(Transaction& txn) {
  if (!txn.in_use_ || txn.server_.state_ != ServerState::kTerminated) return;
  (txn.in_legacy_index_ ? legacy_index_ : index_).Prefetch(txn.server_.key_.hash);
  for (size_t i = 0; i < txn.branch_count_; ++i) {
    // An Idle branch was added but never started: no machine to wait for.
    const ClientState state = txn.branches_[i]->state_;
    if (state != ClientState::kTerminated && state != ClientState::kIdle) return;
  }
  user_->OnTerminated(txn);
  Unlink(txn);
  txn.lifetime_timer_.Cancel();
  txn.wait_timer_.Cancel();
  ServerTransaction& server = txn.server_;
  buffers_.Release(&server.request_);
  buffers_.Release(&server.last_response_);
  server.state_ = ServerState::kIdle;
  server.key_ = ServerKey{};
  for (size_t i = 0; i < txn.branch_count_; ++i) ReleaseBranch(txn.branches_[i]);
  txn.branch_count_ = 0;
  txn.in_use_ = false;
  ++txn.generation_;  // pitfall 15
  free_.push_back(txn.slot_);
  --active_;
  counters_->transactions_freed.Add();
}

}  // namespace sipshard::txn
