#include "sipshard/sip/message_writer.h"

#include <cstring>

#include "sipshard/sip/text.h"

namespace sipshard::sip {
namespace {

// Splices at the same offset are applied in rank order: a line ending
// supplied for a last line that lacks one, then inserted text, then the
// empty line of a message that lacks one, then replacements and removals.
// Insertions therefore land above a line that is removed at the same spot.
constexpr uint8_t kRankTerminator = 0;
constexpr uint8_t kRankInsert = 1;
constexpr uint8_t kRankEmptyLine = 2;
constexpr uint8_t kRankReplace = 3;

uint32_t LineStart(const Message& msg, const HeaderField& field) {
  return static_cast<uint32_t>(msg.OffsetOf(field.line));
}

// Where lines go that belong above everything else (a Via when the message
// has none): right after the start line.
uint32_t FirstHeaderOffset(const Message& msg) {
  return msg.header_count > 0 ? LineStart(msg, msg.header_fields[0])
                              : static_cast<uint32_t>(msg.headers_end);
}

// Output sinks for Emit(): one pass, three consumers.
struct SizeSink {
  size_t size = 0;
  void Source(const char*, size_t n) { size += n; }
};

// Copies n <= 16 bytes without a call: most pieces of a rewrite ("Via: ",
// "\r\n", a port, a short value) are this small, and a library call per
// piece costs more than the copy.
inline void CopySmall(char* dst, const char* src, size_t n) {
  if (n >= 8) {
    uint64_t a, b;
    std::memcpy(&a, src, 8);
    std::memcpy(&b, src + n - 8, 8);
    std::memcpy(dst, &a, 8);
    std::memcpy(dst + n - 8, &b, 8);
  } else if (n >= 4) {
    uint32_t a, b;
    std::memcpy(&a, src, 4);
    std::memcpy(&b, src + n - 4, 4);
    std::memcpy(dst, &a, 4);
    std::memcpy(dst + n - 4, &b, 4);
  } else if (n > 0) {
    // 1 to 3 bytes: first, middle and last cover them all.
    const char first = src[0];
    const char middle = src[n / 2];
    const char last = src[n - 1];
    dst[0] = first;
    dst[n / 2] = middle;
    dst[n - 1] = last;
  }
}

struct CopySink {
  char* next;
  char* end;
  bool overflow = false;
  void Source(const char* p, size_t n) {
    if (n > static_cast<size_t>(end - next)) {
      overflow = true;
      end = next;
      return;
    }
    if (n <= 16) {
      CopySmall(next, p, n);
    } else {
      std::memcpy(next, p, n);
    }
    next += n;
  }
};

struct IovecSink {
  iovec* next;
  iovec* end;
  bool overflow = false;
  void Source(const char* p, size_t n) {
    if (n == 0) return;
    if (next == end) {
      overflow = true;
      return;
    }
    // iovec has a non-const base for readv(); sendmsg() only reads it.
    next->iov_base = const_cast<char*>(p);
    next->iov_len = n;
    ++next;
  }
};

}  // namespace

std::string_view WriteErrorName(WriteError error) {
  switch (error) {
    case WriteError::kNone:
      return "none";
    case WriteError::kNotFound:
      return "not_found";
    case WriteError::kBadValue:
      return "bad_value";
    case WriteError::kInvalidArgument:
      return "invalid_argument";
    case WriteError::kTooManyEdits:
      return "too_many_edits";
    case WriteError::kBufferTooSmall:
      return "buffer_too_small";
    case WriteError::kMissingHeader:
      return "missing_header";
  }
  return "unknown";
}

bool ViaValue::Format(std::string_view transport, std::string_view host, uint16_t port,
                      std::string_view branch, bool rport) {
  internal::OutBuffer out(buffer_);
  out.Append("SIP/2.0/");
  out.Append(transport);
  out.Append(" ");
  const bool bracket = host.find(':') != std::string_view::npos && host.front() != '[';
  if (bracket) out.Append("[");
  out.Append(host);
  if (bracket) out.Append("]");
  if (port != 0) {
    out.Append(":");
    out.AppendDecimal(port);
  }
  out.Append(";branch=");
  out.Append(branch);
  if (rport) out.Append(";rport");
  size_ = out.overflow() ? 0 : out.size();
  return !out.overflow();
}

// Derived splices: a line ending, the empty line, Content-Length fixes.
MessageWriter::Edit* MessageWriter::Plan::Derive(uint32_t offset, uint32_t remove, uint8_t rank) {
  if (derived_count == kMaxDerived) return nullptr;
  Edit* e = &derived[derived_count++];
  e->offset = offset;
  e->remove = remove;
  e->rank = rank;
  e->piece_count = 0;
  return e;
}

void MessageWriter::Reset(const Message& msg) {
  EditsChanged();
  msg_ = &msg;
  begin_ = msg.start_line.data() != nullptr ? Offset(msg.start_line) : 0;
  edit_count_ = 0;
  error_ = WriteError::kNone;
  via_edit_ = kNoEdit;
  max_forwards_edit_ = kNoEdit;
  request_uri_edit_ = kNoEdit;
  body_edit_ = kNoEdit;
  via_param_edits_ = {kNoEdit, kNoEdit};
  body_size_ = msg.body.size();
  content_length_digit_count_ =
      static_cast<uint8_t>(internal::FormatDecimal(body_size_, content_length_digits_.data()));
}

WriteError MessageWriter::Fail(WriteError error) {
  EditsChanged();
  if (error_ == WriteError::kNone) error_ = error;
  return error;
}

MessageWriter::Edit* MessageWriter::NewEdit(uint32_t offset, uint32_t remove, uint8_t rank) {
  EditsChanged();
  if (edit_count_ == kMaxEdits) {
    Fail(WriteError::kTooManyEdits);
    return nullptr;
  }
  Edit* e = &edits_[edit_count_++];
  e->offset = offset;
  e->remove = remove;
  e->rank = rank;
  e->piece_count = 0;
  return e;
}

MessageWriter::Edit* MessageWriter::SetEdit(uint8_t* slot, uint32_t offset, uint32_t remove,
                                            uint8_t rank) {
  EditsChanged();
  if (*slot != kNoEdit) {
    Edit* e = &edits_[*slot];
    e->offset = offset;
    e->remove = remove;
    e->rank = rank;
    e->piece_count = 0;
    return e;
  }
  Edit* e = NewEdit(offset, remove, rank);
  if (e != nullptr) *slot = static_cast<uint8_t>(edit_count_ - 1);
  return e;
}

WriteError MessageWriter::PushVia(std::string_view via_value) {
  const Message& msg = *msg_;
  uint32_t offset;
  if (msg.top_via_field != Message::kNoHeader) {
    offset = LineStart(msg, msg.header_fields[msg.top_via_field]);
  } else if (const HeaderField* via = msg.Find(HeaderId::kVia)) {
    offset = LineStart(msg, *via);
  } else {
    offset = FirstHeaderOffset(msg);
  }
  Edit* e = SetEdit(&via_edit_, offset, 0, kRankInsert);
  if (e == nullptr) return error_;
  e->Add("Via: ");
  e->Add(via_value);
  e->Add("\r\n");
  return WriteError::kNone;
}

WriteError MessageWriter::PopFirstElement(HeaderId id) {
  const HeaderField* field = msg_->Find(id);
  if (field == nullptr) return WriteError::kNotFound;
  ListSplitter elements(field->value);
  std::string_view first, second;
  if (!elements.Next(&first) || !elements.ok()) return WriteError::kBadValue;
  if (!elements.Next(&second)) {
    if (!elements.ok()) return WriteError::kBadValue;
    return RemoveLine(static_cast<size_t>(field - msg_->header_fields.data()));
  }
  // "Via: a, b" -> "Via: b": cut from the start of the value (leading empty
  // elements included) to the start of the second element, which takes the
  // comma and any folding between them along.
  const uint32_t from = Offset(field->value);
  Edit* e = NewEdit(from, Offset(second) - from, kRankReplace);
  return e == nullptr ? error_ : WriteError::kNone;
}

WriteError MessageWriter::PopTopVia() { return PopFirstElement(HeaderId::kVia); }

WriteError MessageWriter::PopTopRoute() { return PopFirstElement(HeaderId::kRoute); }

WriteError MessageWriter::PopLastRoute() {
  size_t index = msg_->header_count;
  while (index > 0 && msg_->header_fields[index - 1].id != HeaderId::kRoute) --index;
  if (index == 0) return WriteError::kNotFound;
  const HeaderField& field = msg_->header_fields[--index];
  ListSplitter elements(field.value);
  std::string_view element, previous, last;
  size_t count = 0;
  while (elements.Next(&element)) {
    previous = last;
    last = element;
    ++count;
  }
  if (!elements.ok() || count == 0) return WriteError::kBadValue;
  if (count == 1) return RemoveLine(index);
  // "Route: a, b" -> "Route: a": cut from the end of the element before the
  // last one to the end of the value, the comma included.
  const uint32_t from = Offset(previous) + static_cast<uint32_t>(previous.size());
  const uint32_t to = Offset(field.value) + static_cast<uint32_t>(field.value.size());
  Edit* e = NewEdit(from, to - from, kRankReplace);
  return e == nullptr ? error_ : WriteError::kNone;
}

WriteError MessageWriter::SetMaxForwards(uint32_t value) {
  const size_t n = internal::FormatDecimal(value, max_forwards_digits_.data());
  const std::string_view digits(max_forwards_digits_.data(), n);
  Edit* e;
  if (const HeaderField* mf = msg_->Find(HeaderId::kMaxForwards)) {
    e = SetEdit(&max_forwards_edit_, Offset(mf->value), static_cast<uint32_t>(mf->value.size()),
                kRankReplace);
    if (e == nullptr) return error_;
    e->Add(digits);
  } else {
    e = SetEdit(&max_forwards_edit_, static_cast<uint32_t>(msg_->headers_end), 0, kRankInsert);
    if (e == nullptr) return error_;
    e->Add("Max-Forwards: ");
    e->Add(digits);
    e->Add("\r\n");
  }
  return WriteError::kNone;
}

WriteError MessageWriter::AddRecordRoute(std::string_view uri) {
  const HeaderField* rr = msg_->Find(HeaderId::kRecordRoute);
  const uint32_t offset =
      rr != nullptr ? LineStart(*msg_, *rr) : static_cast<uint32_t>(msg_->headers_end);
  Edit* e = NewEdit(offset, 0, kRankInsert);
  if (e == nullptr) return error_;
  const bool bracketed = !uri.empty() && uri.front() == '<';
  e->Add(bracketed ? "Record-Route: " : "Record-Route: <");
  e->Add(uri);
  e->Add(bracketed ? "\r\n" : ">\r\n");
  return WriteError::kNone;
}

WriteError MessageWriter::SetRequestUri(std::string_view uri) {
  if (!msg_->is_request || msg_->request_uri_text.data() == nullptr) {
    return WriteError::kInvalidArgument;
  }
  Edit* e = SetEdit(&request_uri_edit_, Offset(msg_->request_uri_text),
                    static_cast<uint32_t>(msg_->request_uri_text.size()), kRankReplace);
  if (e == nullptr) return error_;
  e->Add(uri);
  return WriteError::kNone;
}

WriteError MessageWriter::RemoveLine(size_t index) {
  const HeaderField& field = msg_->header_fields[index];
  Edit* e =
      NewEdit(LineStart(*msg_, field), static_cast<uint32_t>(field.line.size()), kRankReplace);
  return e == nullptr ? error_ : WriteError::kNone;
}

WriteError MessageWriter::RemoveHeader(HeaderId id) {
  if (id == HeaderId::kOther || id == HeaderId::kCount) return WriteError::kInvalidArgument;
  const uint8_t first = msg_->first_index[static_cast<size_t>(id)];
  if (first == Message::kNoHeader) return WriteError::kNotFound;
  int left = msg_->Count(id);
  for (size_t i = first; i < msg_->header_count && left > 0; ++i) {
    if (msg_->header_fields[i].id != id) continue;
    --left;
    const WriteError error = RemoveLine(i);
    if (error != WriteError::kNone) return error;
  }
  return WriteError::kNone;
}

WriteError MessageWriter::RemoveHeaderField(size_t index) {
  if (index >= msg_->header_count) return WriteError::kInvalidArgument;
  return RemoveLine(index);
}

WriteError MessageWriter::AddHeader(std::string_view name, std::string_view value) {
  Edit* e = NewEdit(static_cast<uint32_t>(msg_->headers_end), 0, kRankInsert);
  if (e == nullptr) return error_;
  e->Add(name);
  e->Add(": ");
  e->Add(value);
  e->Add("\r\n");
  return WriteError::kNone;
}

WriteError MessageWriter::AddViaParamsToTop(std::string_view source_ip, uint16_t source_port) {
  if (msg_->top_via_field == Message::kNoHeader || msg_->top_via.raw.empty()) {
    return WriteError::kNotFound;
  }
  std::string_view port_digits;
  if (source_port != 0) {
    port_digits = std::string_view(rport_digits_.data(),
                                   internal::FormatDecimal(source_port, rport_digits_.data()));
  }
  internal::Splice splices[2];
  const int n = internal::PlanViaSourceParams(msg_->top_via, msg_->data, source_ip,
                                              port_digits, splices);
  for (int k = 0; k < 2; ++k) {
    uint8_t* slot = &via_param_edits_[static_cast<size_t>(k)];
    if (k >= n) {
      // A previous call planned more: neutralize its leftover splice.
      if (*slot != kNoEdit) SetEdit(slot, begin_, 0, kRankInsert);
      continue;
    }
    const internal::Splice& s = splices[k];
    Edit* e = SetEdit(slot, s.offset, s.remove, s.remove > 0 ? kRankReplace : kRankInsert);
    if (e == nullptr) return error_;
    e->Add(s.prefix);
    e->Add(s.text);
  }
  return WriteError::kNone;
}

WriteError MessageWriter::SetBody(std::string_view body) {
  EditsChanged();
  const Message& msg = *msg_;
  const uint32_t body_offset =
      msg.body.data() != nullptr ? Offset(msg.body) : static_cast<uint32_t>(msg.data.size());
  Edit* e = SetEdit(&body_edit_, body_offset, static_cast<uint32_t>(msg.data.size()) - body_offset,
                    kRankReplace);
  if (e == nullptr) return error_;
  e->Add(body);
  body_size_ = body.size();
  content_length_digit_count_ =
      static_cast<uint8_t>(internal::FormatDecimal(body_size_, content_length_digits_.data()));
  return WriteError::kNone;
}

void MessageWriter::MakePlan(Plan* plan) const {
  const Message& msg = *msg_;
  const uint32_t size = static_cast<uint32_t>(msg.data.size());
  const uint32_t headers_end = static_cast<uint32_t>(msg.headers_end);

  // A message without the empty line (a datagram is allowed to end right
  // after its last header line) gets one, so that our insertions before it
  // and the receiver's framing both work.
  if (headers_end >= size) {
    if (size > begin_ && msg.data.back() != '\n') {
      plan->Derive(size, 0, kRankTerminator)->Add("\r\n");
    }
    plan->Derive(size, 0, kRankEmptyLine)->Add("\r\n");
  }

  // Content-Length (§18.3, §20.14): keep the first field the caller did not
  // remove and correct its value if needed (its name keeps its form, `l:`
  // stays compact); drop any duplicates; add one if none is left.
  const std::string_view digits(content_length_digits_.data(), content_length_digit_count_);
  bool kept = false;
  const uint8_t first = msg.first_index[static_cast<size_t>(HeaderId::kContentLength)];
  if (first != Message::kNoHeader) {
    int left = msg.Count(HeaderId::kContentLength);
    for (size_t i = first; i < msg.header_count && left > 0; ++i) {
      const HeaderField& field = msg.header_fields[i];
      if (field.id != HeaderId::kContentLength) continue;
      --left;
      const uint32_t line_start = LineStart(msg, field);
      const uint32_t line_end = line_start + static_cast<uint32_t>(field.line.size());
      bool removed = false;
      for (size_t k = 0; k < edit_count_ && !removed; ++k) {
        const Edit& e = edits_[k];
        removed =
            e.rank == kRankReplace && e.offset <= line_start && e.offset + e.remove >= line_end;
      }
      if (removed) continue;
      if (!kept) {
        kept = true;
        if (field.value != digits) {
          Edit* e = plan->Derive(Offset(field.value), static_cast<uint32_t>(field.value.size()),
                                 kRankReplace);
          if (e != nullptr) e->Add(digits);
        }
      } else {
        plan->Derive(line_start, static_cast<uint32_t>(field.line.size()), kRankReplace);
      }
    }
  }
  if (!kept) {
    Edit* e = plan->Derive(headers_end < size ? headers_end : size, 0, kRankInsert);
    if (e != nullptr) {
      e->Add("Content-Length: ");
      e->Add(digits);
      e->Add("\r\n");
    }
  }

  // Order by (offset, rank, creation): a stable insertion sort on packed
  // keys; there are a handful of edits, usually already nearly in order.
  std::array<uint64_t, kMaxEdits + Plan::kMaxDerived> keys;
  size_t n = 0;
  auto add = [&keys, &n](const Edit& e, size_t index) {
    const uint64_t key =
        (static_cast<uint64_t>(e.offset) << 16) | (static_cast<uint64_t>(e.rank) << 8) | index;
    size_t j = n++;
    while (j > 0 && keys[j - 1] > key) {
      keys[j] = keys[j - 1];
      --j;
    }
    keys[j] = key;
  };
  for (size_t i = 0; i < edit_count_; ++i) add(edits_[i], i);
  for (size_t i = 0; i < plan->derived_count; ++i) add(plan->derived[i], kMaxEdits + i);
  for (size_t i = 0; i < n; ++i) {
    const size_t index = keys[i] & 0xff;
    plan->order[i] = index < kMaxEdits ? &edits_[index] : &plan->derived[index - kMaxEdits];
  }
  plan->count = n;
}

template <typename Sink>
void MessageWriter::Emit(const Plan& plan, Sink* sink) const {
  const char* src = msg_->data.data();
  size_t pos = begin_;
  for (size_t i = 0; i < plan.count; ++i) {
    const Edit& e = *plan.order[i];
    const size_t edit_end = size_t{e.offset} + e.remove;
    if (e.offset >= pos) {
      sink->Source(src + pos, e.offset - pos);
      for (size_t k = 0; k < e.piece_count; ++k) sink->Source(e.pieces[k].data, e.pieces[k].size);
      pos = edit_end;
    } else if (edit_end > pos) {
      // Starts inside text an earlier edit removed: the removal wins, this
      // edit's text is dropped and its own removal is merged.
      pos = edit_end;
    }
  }
  sink->Source(src + pos, msg_->data.size() - pos);
}

const MessageWriter::Plan& MessageWriter::CurrentPlan() const {
  if (!plan_valid_) {
    plan_.derived_count = 0;
    plan_.count = 0;
    MakePlan(&plan_);
    plan_valid_ = true;
  }
  return plan_;
}

size_t MessageWriter::SerializedSize() const {
  SizeSink sink;
  Emit(CurrentPlan(), &sink);
  return sink.size;
}

WriteResult MessageWriter::Serialize(std::span<char> out) const {
  if (error_ != WriteError::kNone) return {0, error_};
  CopySink sink{out.data(), out.data() + out.size()};
  Emit(CurrentPlan(), &sink);
  if (sink.overflow) return {0, WriteError::kBufferTooSmall};
  return {static_cast<size_t>(sink.next - out.data()), WriteError::kNone};
}

size_t MessageWriter::ToIovec(std::span<iovec> out) const {
  if (error_ != WriteError::kNone) return 0;
  IovecSink sink{out.data(), out.data() + out.size()};
  Emit(CurrentPlan(), &sink);
  return sink.overflow ? 0 : static_cast<size_t>(sink.next - out.data());
}

}  // namespace sipshard::sip
