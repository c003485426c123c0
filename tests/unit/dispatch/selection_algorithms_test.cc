// Unit tests of the destination selection algorithms: the request-level
// selection API (SelectionInput, Candidates, Select), each algorithm's
// distribution and failover order with fixed keys and seeds, destination
// states, max_calls caps, cross-shard load counts (LoadBoard) and the
// normalisation of the hashed fields.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sipshard/config/loader.h"
#include "sipshard/dispatch/destination_set.h"
#include "sipshard/sip/call_id_scan.h"
#include "sipshard/sip/message.h"
#include "sipshard/sip/parser.h"

namespace sipshard::dispatch {
namespace {

using config::Algorithm;

constexpr int kCalls = 10000;

uint64_t Key(int i) { return sip::CallIdHash("sel-" + std::to_string(i) + "@test.example"); }

// One destination of a test set: "uri" plus extra TOML lines.
struct Dest {
  std::string uri;
  std::string extra;
};

Dest D(std::string uri, std::string extra = "") { return Dest{std::move(uri), std::move(extra)}; }

std::string Weighted(int weight) { return "weight = " + std::to_string(weight); }

class SelectionTest : public ::testing::Test {
 protected:
  // Loads a one-set config with `algorithm` and `dests`; the config lives
  // as long as the fixture (sets point into it).
  const config::DestinationSetConfig& LoadSet(std::string_view algorithm,
                                              const std::vector<Dest>& dests) {
    std::string toml = "[[sets]]\nname = \"s\"\nalgorithm = \"" + std::string(algorithm) + "\"\n";
    for (const Dest& d : dests) {
      toml += "  [[sets.destinations]]\n  uri = \"" + d.uri + "\"\n";
      if (!d.extra.empty()) toml += "  " + d.extra + "\n";
    }
    toml += "\n[[routes]]\nname = \"all\"\naction = \"forward\"\nset = \"s\"\n";
    absl::StatusOr<config::Config> loaded = config::LoadConfigString(toml);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    configs_.push_back(std::make_unique<config::Config>(std::move(*loaded)));
    return configs_.back()->sets.at(0);
  }

  DestinationSet Make(std::string_view algorithm, const std::vector<Dest>& dests,
                      const SelectorOptions& options = SelectorOptions()) {
    absl::StatusOr<DestinationSet> set = DestinationSet::Create(LoadSet(algorithm, dests), options);
    EXPECT_TRUE(set.ok()) << set.status();
    return std::move(*set);
  }

  // `n` destinations 10.0.0.1 .. 10.0.0.n with the given weights (or 1).
  static std::vector<Dest> Farm(size_t n, std::vector<int> weights = {}) {
    std::vector<Dest> dests;
    for (size_t i = 0; i < n; ++i) {
      dests.push_back(
          D("sip:10.0.0." + std::to_string(i + 1), i < weights.size() ? Weighted(weights[i]) : ""));
    }
    return dests;
  }

  static int Index(const DestinationSet& set, const Destination* d) {
    return d == nullptr ? -1 : static_cast<int>(d - set.destinations().data());
  }
  static int Pick(DestinationSet& set, const SelectionInput& in = SelectionInput()) {
    return Index(set, set.Select(in));
  }
  static std::vector<int> List(DestinationSet& set, size_t max,
                               const SelectionInput& in = SelectionInput()) {
    CandidateList out;
    set.Candidates(in, max, &out);
    return std::vector<int>(out.indices, out.indices + out.size);
  }

  std::vector<std::unique_ptr<config::Config>> configs_;
};

// A parsed request whose From/To/R-URI/Call-ID the test chooses. Owns the
// text the Message points into.
class Request {
 public:
  Request(std::string_view ruri, std::string_view from, std::string_view to,
          std::string_view call_id)
      : text_("INVITE " + std::string(ruri) +
              " SIP/2.0\r\n"
              "Via: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bKsel1\r\n"
              "Max-Forwards: 70\r\n"
              "From: " +
              std::string(from) +
              "\r\n"
              "To: " +
              std::string(to) +
              "\r\n"
              "Call-ID: " +
              std::string(call_id) +
              "\r\n"
              "CSeq: 1 INVITE\r\n"
              "Content-Length: 0\r\n\r\n"),
        msg_(std::make_unique<sip::Message>()) {
    const sip::ParseError error = sip::ParseMessage(text_, sip::ParseLimits(), msg_.get());
    EXPECT_EQ(error, sip::ParseError::kNone) << text_;
  }
  const sip::Message& msg() const { return *msg_; }
  SelectionInput input() const { return SelectionInput::ForMessage(*msg_); }

 private:
  std::string text_;
  std::unique_ptr<sip::Message> msg_;
};

// Counts Select() results over kCalls requests (keys Key(i) for hashing).
template <size_t N>
std::array<int, N> Distribution(DestinationSet& set) {
  std::array<int, N> counts{};
  for (int i = 0; i < kCalls; ++i) {
    const Destination* d = set.Select(SelectionInput::ForKey(Key(i)));
    EXPECT_NE(d, nullptr);
    if (d != nullptr) ++counts[static_cast<size_t>(d - set.destinations().data())];
  }
  return counts;
}

void ExpectSplit(const std::array<int, 3>& counts, std::array<double, 3> shares, double tolerance) {
  for (size_t d = 0; d < 3; ++d) {
    EXPECT_NEAR(counts[d] / static_cast<double>(kCalls), shares[d], tolerance)
        << "destination " << d;
  }
}

// ---- weighted split, every weight-aware algorithm ---------------------------

TEST_F(SelectionTest, WeightedSplitWithin2PercentFor1To2To7) {
  const std::array<double, 3> shares = {0.1, 0.2, 0.7};
  for (std::string_view algorithm : {"weighted", "priority", "random", "hash-callid"}) {
    SCOPED_TRACE(algorithm);
    DestinationSet set = Make(algorithm, Farm(3, {1, 2, 7}));
    ExpectSplit(Distribution<3>(set), shares, 0.02);
  }
  // The deterministic ones are exact: 10,000 is a multiple of the period 10.
  DestinationSet weighted = Make("weighted", Farm(3, {1, 2, 7}));
  std::array<int, 3> counts = Distribution<3>(weighted);
  EXPECT_EQ(counts, (std::array<int, 3>{1000, 2000, 7000}));
}

TEST_F(SelectionTest, EqualWeightsSplitEvenlyForEveryAlgorithm) {
  for (std::string_view algorithm :
       {"round-robin", "weighted", "priority", "random", "hash-callid", "least-loaded"}) {
    SCOPED_TRACE(algorithm);
    DestinationSet set = Make(algorithm, Farm(3));
    ExpectSplit(Distribution<3>(set), {1.0 / 3, 1.0 / 3, 1.0 / 3}, 0.02);
  }
}

// ---- round-robin ------------------------------------------------------------

TEST_F(SelectionTest, RoundRobinRotatesExactly) {
  DestinationSet set = Make("round-robin", Farm(4));
  for (int round = 0; round < 3; ++round) {
    for (int d = 0; d < 4; ++d) EXPECT_EQ(Pick(set), d);
  }
  // Candidates: the next N in rotation; the cursor moves by one request.
  EXPECT_EQ(List(set, 3), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(List(set, 3), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(List(set, 16), (std::vector<int>{2, 3, 0, 1}));
  EXPECT_EQ(List(set, 2), (std::vector<int>{3, 0}));
}

TEST_F(SelectionTest, RoundRobinSkipsIneligibleAndShardsStartApart) {
  DestinationSet set = Make("round-robin", Farm(4));
  set.SetState(1, DestinationState::kProbing);
  std::vector<int> picks;
  for (int i = 0; i < 6; ++i) picks.push_back(Pick(set));
  EXPECT_EQ(picks, (std::vector<int>{0, 2, 3, 0, 2, 3}));

  SelectorOptions shard2;
  shard2.shard_index = 2;
  shard2.load_board = std::make_shared<LoadBoard>(3, 4);
  DestinationSet other = Make("round-robin", Farm(4), shard2);
  EXPECT_EQ(Pick(other), 2);
  EXPECT_EQ(Pick(other), 3);
  EXPECT_EQ(Pick(other), 0);
}

// ---- smooth weighted --------------------------------------------------------

// Largest |count - L * w / W| over every cyclic window of L picks of one
// period `seq`: 0 would be perfectly smooth; bursts make it large.
double WindowDiscrepancy(const std::vector<int>& seq, const std::vector<int>& weights) {
  const size_t period = seq.size();
  double total = 0;
  for (int w : weights) total += w;
  double worst = 0;
  for (size_t d = 0; d < weights.size(); ++d) {
    for (size_t start = 0; start < period; ++start) {
      int count = 0;
      for (size_t len = 1; len <= period; ++len) {
        if (seq[(start + len - 1) % period] == static_cast<int>(d)) ++count;
        worst = std::max(worst, std::abs(count - len * weights[d] / total));
      }
    }
  }
  return worst;
}

TEST_F(SelectionTest, SmoothWeightedIsExactOverEveryPeriodAndHasNoBursts) {
  // 5:1:1 spreads the light ones out: a a b a c a a, not a a a a a b c.
  DestinationSet five = Make("weighted", Farm(3, {5, 1, 1}));
  std::vector<int> first;
  for (int i = 0; i < 7; ++i) first.push_back(Pick(five));
  EXPECT_EQ(first, (std::vector<int>{0, 0, 1, 0, 2, 0, 0}));

  // The measure tells bursts apart: naive rotation of 5:1:1 scores 1.43.
  EXPECT_GT(WindowDiscrepancy({0, 0, 0, 0, 0, 1, 2}, {5, 1, 1}), 1.4);

  for (const std::vector<int>& weights :
       std::vector<std::vector<int>>{{5, 1, 1}, {1, 2, 7}, {3, 3, 2, 1}, {100, 1}, {7, 11, 13}}) {
    SCOPED_TRACE(::testing::PrintToString(weights));
    DestinationSet set = Make("weighted", Farm(weights.size(), weights));
    int period = 0;
    for (int w : weights) period += w;
    for (int p = 0; p < 5; ++p) {
      std::vector<int> seq;
      std::vector<int> counts(weights.size(), 0);
      for (int i = 0; i < period; ++i) {
        seq.push_back(Pick(set));
        ++counts[static_cast<size_t>(seq.back())];
      }
      EXPECT_EQ(counts, weights) << "period " << p;
      // Naive weighted round-robin (all of a, then all of b, ...) gives 1.43
      // for 5:1:1 and 2.1 for 1:2:7; any window here stays within 1.2 picks.
      EXPECT_LE(WindowDiscrepancy(seq, weights), 1.2) << "period " << p;
    }
  }
}

TEST_F(SelectionTest, SmoothWeightedFailoverListsTheOthersByWhoIsDueNext) {
  DestinationSet set = Make("weighted", Farm(3, {5, 1, 1}));
  for (int i = 0; i < 20; ++i) {
    std::vector<int> list = List(set, 3);
    ASSERT_EQ(list.size(), 3u);
    std::sort(list.begin(), list.end());
    EXPECT_EQ(list, (std::vector<int>{0, 1, 2}));
  }
  // A destination that leaves resets the counters: exact proportions again
  // from the next request on.
  set.SetState(2, DestinationState::kDraining);
  std::array<int, 3> counts{};
  for (int i = 0; i < 6 * 10; ++i) ++counts[static_cast<size_t>(Pick(set))];
  EXPECT_EQ(counts, (std::array<int, 3>{50, 10, 0}));
}

// ---- priority ---------------------------------------------------------------

TEST_F(SelectionTest, PriorityUsesTheLowestGroupWeightedAndFailsOverGroupByGroup) {
  DestinationSet set =
      Make("priority",
           {D("sip:10.0.0.1", "priority = 10"), D("sip:10.0.0.2", "priority = 0\n  weight = 1"),
            D("sip:10.0.0.3", "priority = 0\n  weight = 3"), D("sip:10.0.0.4", "priority = 5")});
  // Group 0 = {1 (w1), 2 (w3)}, then {3}, then {0}.
  std::array<int, 4> counts{};
  for (int i = 0; i < 400; ++i) {
    std::vector<int> list = List(set, 4);
    ASSERT_EQ(list.size(), 4u);
    ++counts[static_cast<size_t>(list[0])];
    EXPECT_TRUE((list[0] == 1 && list[1] == 2) || (list[0] == 2 && list[1] == 1));
    EXPECT_EQ(list[2], 3);
    EXPECT_EQ(list[3], 0);
  }
  EXPECT_EQ(counts, (std::array<int, 4>{0, 100, 300, 0}));

  // max_attempts shorter than the group: only the group's best.
  EXPECT_EQ(List(set, 1).size(), 1u);

  // The whole first group down: the next group takes over.
  set.SetState(1, DestinationState::kInactive);
  set.SetState(2, DestinationState::kProbing);
  EXPECT_EQ(List(set, 4), (std::vector<int>{3, 0}));
  set.SetState(3, DestinationState::kDraining);
  EXPECT_EQ(List(set, 4), (std::vector<int>{0}));
  set.SetState(2, DestinationState::kActive);
  EXPECT_EQ(List(set, 4), (std::vector<int>{2, 0}));
}

TEST_F(SelectionTest, PriorityFailoverSpreadsOverTheNextGroupByWeight) {
  DestinationSet set = Make("priority", {D("sip:10.0.0.1", "priority = 0"),
                                         D("sip:10.0.0.2", "priority = 1\n  weight = 1"),
                                         D("sip:10.0.0.3", "priority = 1\n  weight = 2")});
  std::array<int, 3> second{};
  for (int i = 0; i < 300; ++i) {
    std::vector<int> list = List(set, 2);
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[0], 0);
    ++second[static_cast<size_t>(list[1])];
  }
  EXPECT_EQ(second, (std::array<int, 3>{0, 100, 200}));
}

// The group numbers of a candidate list, in order.
std::vector<int> Groups(const CandidateList& list) {
  return std::vector<int>(list.groups, list.groups + list.size);
}

TEST_F(SelectionTest, PriorityCandidatesCarryTheirGroupBoundaries) {
  // Priorities 10, 0, 0, 5, 10: groups (by ascending priority) {1, 2},
  // {3}, {0, 4}.
  DestinationSet set =
      Make("priority", {D("sip:10.0.0.1", "priority = 10"), D("sip:10.0.0.2", "priority = 0"),
                        D("sip:10.0.0.3", "priority = 0"), D("sip:10.0.0.4", "priority = 5"),
                        D("sip:10.0.0.5", "priority = 10")});
  CandidateList list;
  set.Candidates(SelectionInput(), 5, &list);
  ASSERT_EQ(list.size, 5u);
  EXPECT_EQ(Groups(list), (std::vector<int>{0, 0, 1, 2, 2}));
  EXPECT_EQ(list.indices[2], 3);
  EXPECT_EQ(list.GroupEnd(0), 2);
  EXPECT_EQ(list.GroupEnd(1), 2);
  EXPECT_EQ(list.GroupEnd(2), 3);
  EXPECT_EQ(list.GroupEnd(3), 5);
  EXPECT_EQ(list.GroupEnd(5), 5);  // past the end: an empty group

  // max cuts a group short: the cut group keeps its number.
  set.Candidates(SelectionInput(), 4, &list);
  EXPECT_EQ(Groups(list), (std::vector<int>{0, 0, 1, 2}));
  EXPECT_EQ(list.GroupEnd(3), 4);

  // A group without eligible destinations leaves a gap in the numbers;
  // only equality matters.
  set.SetState(3, DestinationState::kInactive);
  set.Candidates(SelectionInput(), 5, &list);
  EXPECT_EQ(Groups(list), (std::vector<int>{0, 0, 2, 2}));
  EXPECT_EQ(list.GroupEnd(0), 2);
  EXPECT_EQ(list.GroupEnd(2), 4);
}

TEST_F(SelectionTest, EveryOtherAlgorithmPutsAllCandidatesInGroupZero) {
  for (std::string_view algorithm : {"hash-callid", "round-robin", "weighted", "least-loaded",
                                     "random"}) {
    SCOPED_TRACE(algorithm);
    // Priorities are ignored by these algorithms.
    DestinationSet set =
        Make(algorithm, {D("sip:10.0.0.1", "priority = 3"), D("sip:10.0.0.2", "priority = 1"),
                         D("sip:10.0.0.3", "priority = 2")});
    CandidateList list;
    set.Candidates(SelectionInput::ForKey(Key(1)), 3, &list);
    EXPECT_EQ(Groups(list), (std::vector<int>{0, 0, 0}));
    EXPECT_EQ(list.GroupEnd(0), 3);
    set.Candidates(Key(1), 3, &list);  // the stateless rendezvous list
    EXPECT_EQ(Groups(list), (std::vector<int>{0, 0, 0}));
  }
}

// ---- least-loaded -----------------------------------------------------------

TEST_F(SelectionTest, LeastLoadedPicksTheLeastLoaded) {
  DestinationSet set = Make("least-loaded", Farm(3));
  for (int i = 0; i < 5; ++i) set.OnStart(0);
  for (int i = 0; i < 2; ++i) set.OnStart(1);
  for (int i = 0; i < 3; ++i) set.OnStart(2);
  EXPECT_EQ(Pick(set), 1);
  EXPECT_EQ(List(set, 3), (std::vector<int>{1, 2, 0}));
  set.OnEnd(0);
  set.OnEnd(0);
  set.OnEnd(0);
  set.OnEnd(0);
  EXPECT_EQ(Pick(set), 0);
  // Following the counts: each pick starts a call on the pick.
  DestinationSet fresh = Make("least-loaded", Farm(3));
  fresh.OnStart(0);
  fresh.OnStart(0);
  for (int i = 0; i < 30; ++i) fresh.OnStart(static_cast<size_t>(Pick(fresh)));
  std::vector<int> loads = {fresh.LocalLoad(0), fresh.LocalLoad(1), fresh.LocalLoad(2)};
  std::sort(loads.begin(), loads.end());
  EXPECT_EQ(loads, (std::vector<int>{10, 11, 11}));
  // OnEnd never goes below zero.
  for (int i = 0; i < 20; ++i) fresh.OnEnd(2);
  EXPECT_EQ(fresh.LocalLoad(2), 0);
}

TEST_F(SelectionTest, LeastLoadedComparesLoadRelativeToWeight) {
  DestinationSet set = Make("least-loaded", Farm(2, {1, 4}));
  for (int i = 0; i < 50; ++i) set.OnStart(static_cast<size_t>(Pick(set)));
  EXPECT_EQ(set.LocalLoad(0), 10);
  EXPECT_EQ(set.LocalLoad(1), 40);
}

TEST_F(SelectionTest, MaxCallsCapsADestinationForEveryAlgorithm) {
  for (std::string_view algorithm :
       {"least-loaded", "round-robin", "weighted", "priority", "random", "hash-callid"}) {
    SCOPED_TRACE(algorithm);
    DestinationSet set =
        Make(algorithm, {D("sip:10.0.0.1", "max_calls = 2"), D("sip:10.0.0.2", "max_calls = 3")});
    std::vector<int> picks;
    for (int i = 0; i < 6; ++i) {
      const int pick = Pick(set, SelectionInput::ForKey(Key(i)));
      picks.push_back(pick);
      if (pick >= 0) set.OnStart(static_cast<size_t>(pick));
    }
    EXPECT_EQ(std::count(picks.begin(), picks.end(), 0), 2);
    EXPECT_EQ(std::count(picks.begin(), picks.end(), 1), 3);
    EXPECT_EQ(picks.back(), -1);  // both full
    EXPECT_EQ(set.SelectByHash(Key(1)), nullptr);
    set.OnEnd(1);
    EXPECT_EQ(Pick(set, SelectionInput::ForKey(Key(1))), 1);
  }
}

TEST_F(SelectionTest, LoadCountsAreAggregatedAcrossShards) {
  auto board = std::make_shared<LoadBoard>(2, 3);
  SelectorOptions first;
  first.shard_index = 0;
  first.load_board = board;
  SelectorOptions second = first;
  second.shard_index = 1;
  DestinationSet a = Make("least-loaded", Farm(3), first);
  DestinationSet b =
      Make("least-loaded",
           {D("sip:10.0.0.1", "max_calls = 4"), D("sip:10.0.0.2"), D("sip:10.0.0.3")}, second);
  // Shard 0 carries 4 calls on destination 0, 1 on destination 1.
  for (int i = 0; i < 4; ++i) a.OnStart(0);
  a.OnStart(1);
  EXPECT_EQ(board->Read(0, 0), 4);
  // Shard 1 sees them once it reads the board.
  EXPECT_EQ(b.Load(0), 0);
  b.RefreshLoads();
  EXPECT_EQ(b.Load(0), 4);
  EXPECT_EQ(b.Load(1), 1);
  EXPECT_EQ(b.LocalLoad(0), 0);
  EXPECT_EQ(List(b, 3), (std::vector<int>{2, 1}));  // 0 is at its cap (4 of 4)
  b.OnStart(2);
  b.OnStart(2);
  a.RefreshLoads();
  EXPECT_EQ(a.Load(2), 2);
  EXPECT_EQ(Pick(a), 1);  // loads 4, 1, 2
  // Without an explicit refresh the counts come every load_refresh_interval
  // selections.
  a.OnEnd(0);
  a.OnEnd(0);
  a.OnEnd(0);
  for (uint32_t i = 0; i < SelectorOptions().load_refresh_interval; ++i) Pick(b);
  EXPECT_EQ(b.Load(0), 1);
}

TEST_F(SelectionTest, PowerOfTwoChoicesNeverPicksTheMoreLoadedOfItsPair) {
  SelectorOptions options;
  options.two_choices = true;
  options.seed = 7;
  DestinationSet set = Make("least-loaded", Farm(3), options);
  for (int i = 0; i < 10; ++i) {
    set.OnStart(1);
    set.OnStart(2);
  }
  std::array<int, 3> counts{};
  for (int i = 0; i < kCalls; ++i) ++counts[static_cast<size_t>(Pick(set))];
  // Destination 0 wins whenever it is drawn (2 pairs of 3); 1 and 2 tie.
  EXPECT_NEAR(counts[0] / static_cast<double>(kCalls), 2.0 / 3, 0.02);
  EXPECT_NEAR(counts[1] / static_cast<double>(kCalls), 1.0 / 6, 0.02);
  EXPECT_NEAR(counts[2] / static_cast<double>(kCalls), 1.0 / 6, 0.02);
  // With two destinations the pair is always both: the less loaded wins.
  DestinationSet two = Make("least-loaded", Farm(2), options);
  two.OnStart(0);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(Pick(two), 1);
  EXPECT_EQ(List(two, 4), (std::vector<int>{1, 0}));
}

// ---- random -----------------------------------------------------------------

TEST_F(SelectionTest, RandomIsReproduciblePerSeedAndDrawsWithoutReplacement) {
  SelectorOptions options;
  options.seed = 42;
  DestinationSet a = Make("random", Farm(5), options);
  DestinationSet b = Make("random", Farm(5), options);
  options.seed = 43;
  DestinationSet c = Make("random", Farm(5), options);
  int differ = 0;
  for (int i = 0; i < 200; ++i) {
    std::vector<int> la = List(a, 5);
    EXPECT_EQ(la, List(b, 5));
    if (la != List(c, 5)) ++differ;
    std::sort(la.begin(), la.end());
    EXPECT_EQ(la, (std::vector<int>{0, 1, 2, 3, 4}));
  }
  EXPECT_GT(differ, 150);
}

// ---- rendezvous hashing -------------------------------------------------------

TEST_F(SelectionTest, RendezvousLossOfOneOfFiveMovesOnlyItsKeysSpreadEvenly) {
  for (size_t lost = 0; lost < 5; ++lost) {
    SCOPED_TRACE(lost);
    DestinationSet set = Make("hash-callid", Farm(5));
    std::vector<int> before(kCalls);
    std::vector<int> second(kCalls);
    for (int i = 0; i < kCalls; ++i) {
      const std::vector<int> list = List(set, 2, SelectionInput::ForKey(Key(i)));
      before[static_cast<size_t>(i)] = list[0];
      second[static_cast<size_t>(i)] = list[1];
    }
    set.SetState(lost, DestinationState::kProbing);
    std::array<int, 5> moved_to{};
    int moved = 0;
    for (int i = 0; i < kCalls; ++i) {
      const int now = Pick(set, SelectionInput::ForKey(Key(i)));
      const int was = before[static_cast<size_t>(i)];
      ASSERT_NE(now, static_cast<int>(lost));
      if (was == static_cast<int>(lost)) {
        ++moved;
        ++moved_to[static_cast<size_t>(now)];
        // Failover order is the same ranking: where a call fails over to is
        // where its key moves to.
        EXPECT_EQ(now, second[static_cast<size_t>(i)]);
      } else {
        ASSERT_EQ(now, was) << "key " << i << " moved although its destination stayed";
      }
    }
    EXPECT_NEAR(moved / static_cast<double>(kCalls), 0.2, 0.02);
    for (size_t d = 0; d < 5; ++d) {
      if (d == lost) continue;
      EXPECT_NEAR(moved_to[d] / static_cast<double>(moved), 0.25, 0.03) << "destination " << d;
    }
  }
}

TEST_F(SelectionTest, WeightedRendezvousSpreadsMovedKeysByWeight) {
  DestinationSet set = Make("hash-callid", Farm(5, {1, 1, 2, 3, 4}));
  std::vector<int> before(kCalls);
  for (int i = 0; i < kCalls; ++i)
    before[static_cast<size_t>(i)] = Pick(set, SelectionInput::ForKey(Key(i)));
  set.SetState(4, DestinationState::kInactive);
  std::array<int, 5> moved_to{};
  int moved = 0;
  for (int i = 0; i < kCalls; ++i) {
    const int now = Pick(set, SelectionInput::ForKey(Key(i)));
    if (before[static_cast<size_t>(i)] == 4) {
      ++moved;
      ++moved_to[static_cast<size_t>(now)];
    } else {
      ASSERT_EQ(now, before[static_cast<size_t>(i)]);
    }
  }
  const double weights[] = {1, 1, 2, 3};
  for (size_t d = 0; d < 4; ++d) {
    EXPECT_NEAR(moved_to[d] / static_cast<double>(moved), weights[d] / 7, 0.03)
        << "destination " << d;
  }
}

TEST_F(SelectionTest, HashMappingIsStableAcrossSeparatelyCreatedSets) {
  // Two instances (or a restart): created separately, on different shards,
  // with different seeds. Same key → same destination and same failover order.
  for (std::string_view algorithm :
       {"hash-callid", "hash-from-uri", "hash-from-user", "hash-to-uri", "hash-ruri-user"}) {
    SCOPED_TRACE(algorithm);
    DestinationSet a = Make(algorithm, Farm(7, {1, 2, 3, 1, 2, 3, 1}));
    SelectorOptions other;
    other.shard_index = 3;
    other.load_board = std::make_shared<LoadBoard>(4, 7);
    other.seed = 99;
    DestinationSet b = Make(algorithm, Farm(7, {1, 2, 3, 1, 2, 3, 1}), other);
    for (int i = 0; i < 300; ++i) {
      const std::string n = std::to_string(i);
      Request r("sip:+1555" + n + "@gw.example", "<sip:user" + n + "@a.example>;tag=" + n,
                "<sip:callee" + n + "@b.example>", "cid-" + n);
      EXPECT_EQ(List(a, 7, r.input()), List(b, 7, r.input()));
    }
  }
}

TEST_F(SelectionTest, HashCallIdAgreesWithTheStatelessPath) {
  DestinationSet set = Make("hash-callid", Farm(4, {1, 2, 3, 4}));
  for (int i = 0; i < 500; ++i) {
    Request r("sip:bob@b.example", "<sip:a@a.example>;tag=1", "<sip:bob@b.example>",
              "call-" + std::to_string(i) + "@x");
    const uint64_t key = sip::CallIdHash(r.msg().call_id);
    EXPECT_EQ(SelectionKey(Algorithm::kHashCallId, r.msg()), key);
    EXPECT_EQ(set.Select(r.input()), set.SelectByHash(key));
    EXPECT_EQ(set.Select(SelectionInput::ForKey(key)), set.SelectByHash(key));
    CandidateList legacy;
    set.Candidates(key, 4, &legacy);
    EXPECT_EQ(std::vector<int>(legacy.indices, legacy.indices + legacy.size),
              List(set, 4, r.input()));
  }
}

TEST_F(SelectionTest, EachHashAlgorithmFollowsItsOwnField) {
  // Requests that share only one field: the algorithm on that field sends
  // them all to one destination, the others spread them.
  struct Case {
    std::string_view algorithm;
    Algorithm id;
  };
  for (const Case& c : {Case{"hash-from-uri", Algorithm::kHashFromUri},
                        Case{"hash-from-user", Algorithm::kHashFromUser},
                        Case{"hash-to-uri", Algorithm::kHashToUri},
                        Case{"hash-ruri-user", Algorithm::kHashRuriUser}}) {
    SCOPED_TRACE(c.algorithm);
    DestinationSet set = Make(c.algorithm, Farm(8));
    std::array<int, 8> counts{};
    for (int i = 0; i < 400; ++i) {
      const std::string n = std::to_string(i);
      const bool from = c.id == Algorithm::kHashFromUri || c.id == Algorithm::kHashFromUser;
      const bool to = c.id == Algorithm::kHashToUri;
      const bool ruri = c.id == Algorithm::kHashRuriUser;
      Request r(ruri ? "sip:fixed@gw.example" : "sip:u" + n + "@gw.example",
                from ? "<sip:alice@a.example>;tag=" + n : "<sip:f" + n + "@a.example>;tag=" + n,
                to ? "<sip:bob@b.example>" : "<sip:t" + n + "@b.example>", "cid-" + n);
      ++counts[static_cast<size_t>(Pick(set, r.input()))];
    }
    EXPECT_EQ(*std::max_element(counts.begin(), counts.end()), 400);
  }
}

TEST_F(SelectionTest, HashedFieldsAreNormalised) {
  auto key = [](Algorithm algorithm, std::string_view ruri, std::string_view from,
                std::string_view to, std::string_view call_id = "c1") {
    Request r(ruri, from, to, call_id);
    return SelectionKey(algorithm, r.msg());
  };
  const std::string_view ruri = "sip:bob@b.example";
  const std::string_view to = "<sip:bob@b.example>";
  // From URI: display name, tag, URI parameters, host case, default port and
  // scheme do not matter; user and non-default port do.
  const uint64_t alice = key(Algorithm::kHashFromUri, ruri, "<sip:alice@a.example>;tag=1", to);
  EXPECT_EQ(key(Algorithm::kHashFromUri, ruri,
                "\"Alice\" <sip:alice@A.Example:5060;transport=udp>;tag=2", to),
            alice);
  EXPECT_EQ(key(Algorithm::kHashFromUri, ruri, "sip:alice@a.example;tag=3", to), alice);
  EXPECT_EQ(key(Algorithm::kHashFromUri, ruri, "<sips:alice@a.example:5061>;tag=3", to), alice);
  EXPECT_NE(key(Algorithm::kHashFromUri, ruri, "<sip:alice@a.example:5070>;tag=1", to), alice);
  EXPECT_NE(key(Algorithm::kHashFromUri, ruri, "<sip:Alice@a.example>;tag=1", to), alice);
  EXPECT_NE(key(Algorithm::kHashFromUri, ruri, "<sip:alice@b.example>;tag=1", to), alice);
  // From user: the user alone.
  const uint64_t user = key(Algorithm::kHashFromUser, ruri, "<sip:alice@a.example>;tag=1", to);
  EXPECT_EQ(key(Algorithm::kHashFromUser, ruri, "<sip:alice@other.example:5070>;tag=9", to), user);
  EXPECT_NE(key(Algorithm::kHashFromUser, ruri, "<sip:bob@a.example>;tag=9", to), user);
  // To URI.
  const uint64_t bob =
      key(Algorithm::kHashToUri, ruri, "<sip:a@a.example>;tag=1", "<sip:bob@b.example>");
  EXPECT_EQ(key(Algorithm::kHashToUri, ruri, "<sip:a@a.example>;tag=1",
                "Bob <sip:bob@B.EXAMPLE;user=phone>"),
            bob);
  // R-URI user: telephone-subscriber parameters are not part of the number.
  const uint64_t number =
      key(Algorithm::kHashRuriUser, "sip:+15551234@gw1.example", "<sip:a@a>;tag=1", to);
  EXPECT_EQ(key(Algorithm::kHashRuriUser, "sip:+15551234;npdi@gw2.example;user=phone",
                "<sip:a@a>;tag=1", to),
            number);
  EXPECT_NE(key(Algorithm::kHashRuriUser, "sip:+15551235@gw1.example", "<sip:a@a>;tag=1", to),
            number);
  // No user part: fall back to the Call-ID, so such requests still spread.
  EXPECT_EQ(key(Algorithm::kHashRuriUser, "sip:gw.example", "<sip:a@a>;tag=1", to, "cid-9"),
            sip::CallIdHash("cid-9"));
  EXPECT_EQ(key(Algorithm::kHashFromUser, ruri, "<sip:a.example>;tag=1", to, "cid-8"),
            sip::CallIdHash("cid-8"));
}

// ---- destination states -------------------------------------------------------

TEST_F(SelectionTest, InactiveDrainingAndProbingAreNeverSelected) {
  for (std::string_view algorithm : {"hash-callid", "hash-from-user", "round-robin", "weighted",
                                     "priority", "least-loaded", "random"}) {
    SCOPED_TRACE(algorithm);
    DestinationSet set = Make(algorithm, {D("sip:10.0.0.1", "state = \"inactive\""),
                                          D("sip:10.0.0.2", "state = \"draining\""),
                                          D("sip:10.0.0.3"), D("sip:10.0.0.4"), D("sip:10.0.0.5")});
    EXPECT_EQ(set.destinations()[0].state, DestinationState::kInactive);
    EXPECT_EQ(set.destinations()[1].state, DestinationState::kDraining);
    set.SetState(3, DestinationState::kProbing);
    EXPECT_EQ(set.destinations()[3].state, DestinationState::kProbing);
    EXPECT_FALSE(set.destinations()[3].active);
    for (int i = 0; i < 500; ++i) {
      EXPECT_EQ(List(set, 16, SelectionInput::ForKey(Key(i))).size(), 2u);
      const int pick = Pick(set, SelectionInput::ForKey(Key(i)));
      EXPECT_TRUE(pick == 2 || pick == 4) << pick;
    }
    // All of them off: nothing, for the new and the legacy API.
    set.SetState(2, DestinationState::kInactive);
    set.SetState(4, DestinationState::kDraining);
    EXPECT_EQ(Pick(set, SelectionInput::ForKey(Key(1))), -1);
    EXPECT_TRUE(List(set, 16, SelectionInput::ForKey(Key(1))).empty());
    EXPECT_EQ(set.SelectByHash(Key(1)), nullptr);
    CandidateList legacy;
    set.Candidates(Key(1), 16, &legacy);
    EXPECT_EQ(legacy.size, 0);
    // And back.
    set.SetState(3, DestinationState::kActive);
    EXPECT_EQ(Pick(set, SelectionInput::ForKey(Key(1))), 3);
  }
}

TEST_F(SelectionTest, StateNamesAndConfigMapping) {
  EXPECT_EQ(ToString(DestinationState::kProbing), "probing");
  EXPECT_EQ(ToString(DestinationState::kDraining), "draining");
  EXPECT_EQ(FromConfig(config::DestinationState::kInactive), DestinationState::kInactive);
}

// ---- limits -------------------------------------------------------------------

TEST_F(SelectionTest, CandidatesAreCappedAtTheListCapacity) {
  DestinationSet set = Make("round-robin", Farm(20));
  EXPECT_EQ(List(set, 100).size(), CandidateList::kCapacity);
  CandidateList out;
  set.Candidates(Key(1), 100, &out);
  EXPECT_EQ(out.size, CandidateList::kCapacity);
  EXPECT_TRUE(List(set, 0).empty());
  SelectorOptions options;
  options.two_choices = true;
  DestinationSet two = Make("least-loaded", Farm(3), options);
  EXPECT_TRUE(List(two, 0).empty());
  EXPECT_EQ(List(two, 16).size(), 3u);
}

TEST_F(SelectionTest, CreateRejectsAMismatchedLoadBoard) {
  SelectorOptions options;
  options.load_board = std::make_shared<LoadBoard>(2, 5);
  options.shard_index = 1;
  EXPECT_FALSE(DestinationSet::Create(LoadSet("least-loaded", Farm(3)), options).ok());
  options.load_board = std::make_shared<LoadBoard>(2, 3);
  options.shard_index = 2;
  EXPECT_FALSE(DestinationSet::Create(LoadSet("least-loaded", Farm(3)), options).ok());
}

}  // namespace
}  // namespace sipshard::dispatch
