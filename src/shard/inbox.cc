#include "sipshard/shard/inbox.h"

namespace sipshard::shard {

Inbox::Inbox(size_t capacity, size_t max_producers)
    : queue_(capacity, max_producers, 0), consumer_(queue_) {}

}  // namespace sipshard::shard
