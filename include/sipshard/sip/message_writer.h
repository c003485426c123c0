// Rewrites a parsed SIP message for forwarding, with minimal copying.
//
// The proxy core (RFC 3261 §16.6) forwards almost every request and
// response nearly unchanged: push or pop one Via, decrement Max-Forwards,
// add a Record-Route, maybe pop a Route. MessageWriter records such edits
// as splices against the original bytes of a parsed Message and produces
// the result in one pass: the unchanged spans between edits are copied with
// memcpy straight into the caller's output buffer (typically a send-pool
// slot), so the cost is O(edits + bytes) and nothing is allocated.
//
// Ownership: the writer borrows the Message (and through it the received
// bytes) and every string_view passed to an edit; all of them must stay
// alive and unchanged until the last Serialize()/ToIovec(). The writer owns
// only its fixed edit array, a few digit buffers and the plan of its last
// serialization (kept for the next one while the edits do not change, so
// even its const methods must not run concurrently). Shard-local: one
// writer per shard, Reset() for every message.
//
// Edits address the ORIGINAL message: PopTopVia() removes the Via that was
// on top when the message arrived, never one added by PushVia(); positions
// never shift as edits accumulate. When a removal covers the place of
// another edit, the removal wins (e.g. RemoveHeader(kVia) after
// AddViaParamsToTop() drops the new parameters with the line). Text
// inserted at the start of a removed line (PushVia above a removed Via) is
// kept. Content-Length is always right in the output, whatever the input
// said (§18.3: on a stream it is the framing).
//
// Example (forwarding a request, §16.6 steps 3-8):
//   MessageWriter w(msg);
//   w.SetMaxForwards(msg.max_forwards < 0 ? 70 : msg.max_forwards - 1);
//   w.AddRecordRoute("sip:10.0.0.1;lr");
//   w.PushVia(via.view());           // via: a ViaValue formatted by us
//   WriteResult r = w.Serialize(slot);
//   if (!r.ok()) ...                 // kBufferTooSmall, kTooManyEdits
#pragma once

#include <sys/uio.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "sipshard/sip/header_id.h"
#include "sipshard/sip/internal/write_util.h"
#include "sipshard/sip/message.h"

namespace sipshard::sip {

// Why an edit or a serialization failed. Shared with message_builder.h.
enum class WriteError : uint8_t {
  kNone,
  kNotFound,         // nothing to edit: no such header (the message is unchanged)
  kBadValue,         // the header value cannot be split safely (unterminated quote or '<')
  kInvalidArgument,  // e.g. SetRequestUri on a response, an index out of range
  kTooManyEdits,     // the fixed edit array is full (sticky: Serialize fails too)
  kBufferTooSmall,   // the output does not fit the caller's buffer
  kMissingHeader,    // the builder's source message lacks a mandatory header
};

std::string_view WriteErrorName(WriteError error);

struct WriteResult {
  size_t size = 0;  // bytes written, when ok()
  WriteError error = WriteError::kNone;
  bool ok() const { return error == WriteError::kNone; }
};

// Our own Via value ("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK...;rport"),
// formatted into a fixed buffer owned by the caller (e.g. on the stack next
// to the writer), for PushVia() and for locally generated requests.
class ViaValue {
 public:
  // Room for any host the config accepts (a 253-byte name, RFC 1035) with
  // a port, the longest branch we generate (48 bytes) and `;rport`: a
  // long `advertised_host` must not make every forwarded request fail.
  static constexpr size_t kCapacity = 352;

  // Formats the value; returns false (and leaves it empty) if it would not
  // fit. `host` is an IP address or host name; an IPv6 address gets its
  // brackets added if missing. `port` 0 omits the port. `branch` must
  // already carry the magic cookie (§8.1.1.7). `rport` adds a bare `rport`
  // asking the next hop to answer to our source port (RFC 3581).
  bool Format(std::string_view transport, std::string_view host, uint16_t port,
              std::string_view branch, bool rport);
  std::string_view view() const { return std::string_view(buffer_.data(), size_); }

 private:
  std::array<char, kCapacity> buffer_;
  size_t size_ = 0;
};

class MessageWriter {
 public:
  // Enough for any proxy rewrite (about six edits) plus removals of a few
  // header lines; more is refused with kTooManyEdits.
  static constexpr size_t kMaxEdits = 32;

  MessageWriter() = default;
  explicit MessageWriter(const Message& msg) { Reset(msg); }
  MessageWriter(const MessageWriter&) = delete;
  MessageWriter& operator=(const MessageWriter&) = delete;

  // Starts over on `msg`, which must have parsed without error (the writer
  // trusts its header table, top Via and body).
  void Reset(const Message& msg);

  // Adds `Via: <via_value>` above the current top Via (§16.6 step 8). A
  // second call replaces the value pushed before, so a forking proxy can
  // serialize one branch after another changing only the branch id.
  WriteError PushVia(std::string_view via_value);

  // Removes the top Via element (§16.7 step 3): the whole line if it holds
  // one element, else only the first element and its comma.
  WriteError PopTopVia();

  // Removes the first Route element, same rules as PopTopVia (§16.4, §16.12).
  WriteError PopTopRoute();

  // Removes the last Route element (§16.4 strict-router compatibility: the
  // element that replaces the Request-URI), same rules as PopTopVia.
  WriteError PopLastRoute();

  // Replaces the Max-Forwards value, or adds `Max-Forwards: N` before the
  // empty line when absent (§16.6 step 3; the caller decrements).
  WriteError SetMaxForwards(uint32_t value);

  // Adds `Record-Route: <uri>` above the first Record-Route, or before the
  // empty line when there is none (§16.6 step 4). `uri` is written inside
  // angle brackets unless it already starts with '<'. Several calls keep
  // their order (double record-routing, RFC 5658).
  WriteError AddRecordRoute(std::string_view uri);

  // Replaces the Request-URI (§16.6 step 2). A second call replaces the first.
  WriteError SetRequestUri(std::string_view uri);

  // Removes every header field with this id (not kOther).
  WriteError RemoveHeader(HeaderId id);
  // Removes header field `index` of msg.header_fields.
  WriteError RemoveHeaderField(size_t index);

  // Adds `<name>: <value>` before the empty line; calls keep their order.
  WriteError AddHeader(std::string_view name, std::string_view value);

  // Fills in the source of a received request on its top Via: `received`
  // when the sent-by host differs from `source_ip` or the client sent
  // `rport`, and the `rport` value when the client asked for it (§18.2.1,
  // RFC 3581 §4). `source_port` 0 leaves rport alone; empty `source_ip`
  // leaves received alone. A second call replaces the first.
  WriteError AddViaParamsToTop(std::string_view source_ip, uint16_t source_port);

  // Replaces the body; Content-Length follows. (Content-Type is the
  // caller's business.)
  WriteError SetBody(std::string_view body);

  // Returns the exact size Serialize() would write.
  size_t SerializedSize() const;

  // Writes the rewritten message to `out`. On kBufferTooSmall nothing past
  // out.size() was touched; the bytes before it are unspecified. Const and
  // repeatable: a writer may serialize the same edits into several slots.
  WriteResult Serialize(std::span<char> out) const;

  // Describes the rewritten message as a gather list for sendmsg(): pieces
  // of the original buffer and of the edit texts, in order. Returns the
  // number of entries used, or 0 if `out` is too short (or an edit failed).
  // The pieces point into the message, the edit arguments and this writer.
  size_t ToIovec(std::span<iovec> out) const;

  // The first sticky error of an edit since Reset(), or kNone.
  WriteError error() const { return error_; }
  size_t edit_count() const { return edit_count_; }

 private:
  // One splice: replace `remove` bytes at `offset` of msg.data by the
  // concatenation of `pieces`. `rank` orders splices at the same offset.
  // Trivially constructible on purpose: Serialize() keeps a few on the
  // stack, and zero-filling them cost a third of its time.
  struct Piece {
    const char* data;
    size_t size;
  };
  struct Edit {
    uint32_t offset;
    uint32_t remove;
    uint8_t rank;
    uint8_t piece_count;
    std::array<Piece, 4> pieces;

    void Add(std::string_view s) { pieces[piece_count++] = {s.data(), s.size()}; }
  };
  // The edits of one serialization in output order, with the splices the
  // writer derives itself (Content-Length, a missing empty line).
  struct Plan {
    static constexpr size_t kMaxDerived = 8;
    std::array<Edit, kMaxDerived> derived;
    size_t derived_count = 0;
    std::array<const Edit*, kMaxEdits + kMaxDerived> order;
    size_t count = 0;

    Edit* Derive(uint32_t offset, uint32_t remove, uint8_t rank);
  };

  static constexpr uint8_t kNoEdit = 0xff;

  Edit* NewEdit(uint32_t offset, uint32_t remove, uint8_t rank);
  // Reuses edit `*slot` if set (replacing its contents), else adds one.
  Edit* SetEdit(uint8_t* slot, uint32_t offset, uint32_t remove, uint8_t rank);
  WriteError Fail(WriteError error);
  WriteError PopFirstElement(HeaderId id);
  WriteError RemoveLine(size_t index);
  uint32_t Offset(std::string_view view) const {
    return static_cast<uint32_t>(view.data() - msg_->data.data());
  }
  void MakePlan(Plan* plan) const;
  // The plan of the current edits: made on first use after a change and
  // kept, since a caller typically asks SerializedSize() and then
  // Serialize() (or serializes the same edits into several slots).
  const Plan& CurrentPlan() const;
  void EditsChanged() { plan_valid_ = false; }
  template <typename Sink>
  void Emit(const Plan& plan, Sink* sink) const;

  const Message* msg_ = nullptr;
  uint32_t begin_ = 0;  // first byte of the start line (leading CRLFs are dropped)
  std::array<Edit, kMaxEdits> edits_;
  uint8_t edit_count_ = 0;
  WriteError error_ = WriteError::kNone;
  // Edits that a second call replaces instead of adding.
  uint8_t via_edit_ = kNoEdit;
  uint8_t max_forwards_edit_ = kNoEdit;
  uint8_t request_uri_edit_ = kNoEdit;
  uint8_t body_edit_ = kNoEdit;
  std::array<uint8_t, 2> via_param_edits_ = {kNoEdit, kNoEdit};
  size_t body_size_ = 0;
  // Digits referenced by edits; they live as long as the writer.
  std::array<char, internal::kMaxDecimalDigits> max_forwards_digits_;
  std::array<char, internal::kMaxDecimalDigits> rport_digits_;
  std::array<char, internal::kMaxDecimalDigits> content_length_digits_;
  uint8_t content_length_digit_count_ = 0;
  // CurrentPlan()'s cache. Const methods update it, so even they must not
  // run concurrently on one writer (a writer is shard-local anyway).
  mutable Plan plan_;
  mutable bool plan_valid_ = false;
};

}  // namespace sipshard::sip
