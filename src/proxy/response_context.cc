#include "sipshard/proxy/response_context.h"

namespace sipshard::proxy {

int ResponseRank(int code, bool local) {
  const int klass = code / 100;
  int rank = 0;
  if (klass == 6) {
    rank = 0;  // §16.7 step 6: a 6xx wins
  } else if (klass >= 2 && klass <= 5) {
    rank = klass * 100;  // otherwise the lowest class
  } else {
    rank = 900;
  }
  if (klass == 4) {
    // §16.7 step 6: prefer the 4xx a UAC can act on.
    switch (code) {
      case 401:
      case 407:
      case 415:
      case 420:
      case 484:
        break;
      default:
        rank += 10;
    }
  }
  // Real responses beat locally generated ones (pitfall 7).
  return rank * 2 + (local ? 1 : 0);
}

}  // namespace sipshard::proxy
