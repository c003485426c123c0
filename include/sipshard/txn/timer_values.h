// The RFC 3261 transaction timer values (§17, Table 4) and the proxy's
// failure timeouts, resolved from the config once per shard.
//
// T1, T2, T4 are the bases; every other timer derives from them for UDP
// (DESIGN-NOTES §4). fr_timeout is Kamailio's fr_timer: how long a branch
// may stay without any response before it fails over (replaces Timer B/F
// when shorter); fr_inv_timeout is Timer C (§16.6 step 11), armed after a
// provisional. Plain values, copied into the shard's TransactionTable.
#pragma once

#include <algorithm>

#include "sipshard/base/clock.h"

namespace sipshard::txn {

struct TimerValues {
  base::Millis t1 = 500;
  base::Millis t2 = 4000;
  base::Millis t4 = 5000;
  base::Millis fr_timeout = 5000;        // no response at all on a branch
  base::Millis fr_inv_timeout = 180000;  // Timer C, after a provisional
  base::Millis max_inv_lifetime = 300000;
  base::Millis max_noninv_lifetime = 32000;
  // Overrides the wait of completed transactions (D, J, L, M) when > 0:
  // the operator's capacity-for-absorption trade ([transactions] wait_ms).
  base::Millis completed_wait = 0;

  base::Millis TimerA() const { return t1; }
  base::Millis TimerB() const { return 64 * t1; }
  // §17.1.1.2: at least 32 s for unreliable transports.
  base::Millis TimerD() const { return Wait(std::max<base::Millis>(32000, 64 * t1)); }
  base::Millis TimerE() const { return t1; }
  base::Millis TimerF() const { return 64 * t1; }
  base::Millis TimerG() const { return t1; }
  base::Millis TimerH() const { return 64 * t1; }
  base::Millis TimerI() const { return t4; }
  base::Millis TimerJ() const { return Wait(64 * t1); }
  base::Millis TimerK() const { return t4; }
  base::Millis TimerL() const { return Wait(64 * t1); }  // RFC 6026
  base::Millis TimerM() const { return Wait(64 * t1); }  // RFC 6026

  // How late a wait timer (D, I, J, K, L, M) may fire: these only bound
  // how long retransmissions are absorbed from below, so a little later
  // changes nothing a peer can see, and lets the wheel fire them without
  // re-filing (TimerWheel::ArmWithSlack; it rounds to 256 ms slots, so a
  // 5 s Timer K ends at most 255 ms late, a 32 s Timer L at most 256 ms).
  // At most 500 ms because every ms of wait holds table capacity: 1000
  // calls/s with the RFC waits already fill 64 k entries.
  static base::Millis WaitSlack(base::Millis wait) { return std::min<base::Millis>(wait / 16, 500); }

 private:
  base::Millis Wait(base::Millis rfc) const { return completed_wait > 0 ? completed_wait : rfc; }
};

}  // namespace sipshard::txn
