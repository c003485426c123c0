// Compatibility aliases: the Sender interface moved to txn/sender.h (the
// transaction layer retransmits by itself and must not depend on proxy/).
#pragma once

#include "sipshard/txn/sender.h"

namespace sipshard::proxy {

using txn::OutboundPath;
using txn::Sender;

}  // namespace sipshard::proxy
