#include "sipshard/txn/sender.h"

#include <cstring>

namespace sipshard::txn {

bool Sender::Send(std::string_view bytes, const OutboundPath& path) {
  std::span<char> out = Reserve(bytes.size());
  if (out.size() < bytes.size()) return false;
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return Commit(bytes.size(), path);
}

}  // namespace sipshard::txn
