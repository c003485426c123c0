// Unit tests of DestinationSet: resolution at creation and weighted
// rendezvous selection (deterministic, weight-proportional, minimal
// disruption when a destination goes away).
#include "sipshard/dispatch/destination_set.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sipshard/base/hash.h"
#include "sipshard/config/loader.h"
#include "sipshard/sip/call_id_scan.h"

namespace sipshard::dispatch {
namespace {

using transport::SocketAddress;

constexpr int kKeys = 100000;

// The keys of the distribution tests: Call-ID hashes of a fixed sequence,
// the way the proxy core computes them.
uint64_t Key(int i) { return sip::CallIdHash("call-" + std::to_string(i) + "@test.example"); }

class DestinationSetTest : public ::testing::Test {
 protected:
  // Loads one set from `destinations` (TOML [[sets.destinations]] blocks).
  const config::DestinationSetConfig& LoadSet(const std::string& destinations) {
    absl::StatusOr<config::Config> loaded = config::LoadConfigString(
        "[[sets]]\nname = \"s\"\n" + destinations +
        "\n[[routes]]\nname = \"all\"\naction = \"forward\"\nset = \"s\"\n");
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    config_ = std::move(*loaded);
    return config_.sets.at(0);
  }

  DestinationSet MakeSet(const std::string& destinations) {
    absl::StatusOr<DestinationSet> set = DestinationSet::Create(LoadSet(destinations));
    EXPECT_TRUE(set.ok()) << set.status();
    return std::move(*set);
  }

  // Index of the destination chosen for `key`, or -1.
  static int Choice(const DestinationSet& set, uint64_t key) {
    const Destination* d = set.SelectByHash(key);
    return d == nullptr ? -1 : static_cast<int>(d - set.destinations().data());
  }

  config::Config config_;
};

std::string Destinations(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += "  [[sets.destinations]]\n  " + line + "\n";
  return out;
}

const std::string kFour = Destinations({"uri = \"sip:10.0.0.1\"", "uri = \"sip:10.0.0.2:5070\"",
                                        "uri = \"sip:[2001:db8::3]:5080\"",
                                        "uri = \"sip:10.0.0.4;transport=udp\""});

TEST_F(DestinationSetTest, CreateResolvesLiteralsAndKeepsConfigOrder) {
  DestinationSet set = MakeSet(kFour);
  ASSERT_EQ(set.destinations().size(), 4u);
  EXPECT_EQ(set.destinations()[0].address, *SocketAddress::Parse("10.0.0.1", 5060));
  EXPECT_EQ(set.destinations()[1].address, *SocketAddress::Parse("10.0.0.2", 5070));
  EXPECT_EQ(set.destinations()[2].address, *SocketAddress::Parse("2001:db8::3", 5080));
  EXPECT_EQ(set.destinations()[3].address, *SocketAddress::Parse("10.0.0.4", 5060));
  for (const Destination& d : set.destinations()) {
    EXPECT_TRUE(d.active);
    EXPECT_EQ(d.config->uri, config_.sets[0].destinations[static_cast<size_t>(&d - &set.destinations()[0])].uri);
  }
  EXPECT_EQ(&set.config(), &config_.sets[0]);
}

TEST_F(DestinationSetTest, InactiveAndDrainingDestinationsStartInactive) {
  DestinationSet set = MakeSet(Destinations({"uri = \"sip:10.0.0.1\"\n  state = \"inactive\"",
                                             "uri = \"sip:10.0.0.2\"\n  state = \"draining\"",
                                             "uri = \"sip:10.0.0.3\""}));
  EXPECT_FALSE(set.destinations()[0].active);
  EXPECT_FALSE(set.destinations()[1].active);
  EXPECT_TRUE(set.destinations()[2].active);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(Choice(set, Key(i)), 2);
}

TEST_F(DestinationSetTest, NoActiveDestinationSelectsNothing) {
  DestinationSet set = MakeSet(Destinations({"uri = \"sip:10.0.0.1\"\n  state = \"inactive\""}));
  EXPECT_EQ(set.SelectByHash(Key(1)), nullptr);
  EXPECT_EQ(set.SelectByHash(0), nullptr);
}

TEST_F(DestinationSetTest, SelectionIsDeterministicAcrossInstances) {
  DestinationSet a = MakeSet(kFour);
  absl::StatusOr<DestinationSet> b = DestinationSet::Create(config_.sets[0]);
  ASSERT_TRUE(b.ok());
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(Choice(a, Key(i)), Choice(*b, Key(i)));
    EXPECT_EQ(Choice(a, Key(i)), Choice(a, Key(i)));
  }
  // Extreme keys are fine too.
  EXPECT_NE(a.SelectByHash(0), nullptr);
  EXPECT_NE(a.SelectByHash(~uint64_t{0}), nullptr);
}

TEST_F(DestinationSetTest, MappingIsFixedAcrossReleases) {
  // Instances sharing a config must agree, and so must an upgraded
  // instance: these values were recorded once and must never change
  // (base::StableHash and the rendezvous score are part of the contract).
  DestinationSet set = MakeSet(kFour);
  const char* const kExpected[] = {
      "sip:[2001:db8::3]:5080", "sip:[2001:db8::3]:5080", "sip:[2001:db8::3]:5080",
      "sip:10.0.0.2:5070",      "sip:10.0.0.1",           "sip:10.0.0.1",
      "sip:10.0.0.1",           "sip:10.0.0.4;transport=udp"};
  for (int i = 0; i < 8; ++i) {
    const std::string call_id = "golden-" + std::to_string(i) + "@example.com";
    EXPECT_EQ(set.SelectByHash(sip::CallIdHash(call_id))->config->uri, kExpected[i]) << call_id;
  }
}

TEST_F(DestinationSetTest, MappingDependsOnUrisNotOnPosition) {
  // Another instance whose config lists the same destinations in another
  // order maps every key to the same destination (identity = URI).
  DestinationSet forward = MakeSet(kFour);
  std::vector<std::string> forward_choice;
  for (int i = 0; i < 2000; ++i) forward_choice.push_back(forward.SelectByHash(Key(i))->config->uri);
  DestinationSet reversed =
      MakeSet(Destinations({"uri = \"sip:10.0.0.4;transport=udp\"", "uri = \"sip:[2001:db8::3]:5080\"",
                            "uri = \"sip:10.0.0.2:5070\"", "uri = \"sip:10.0.0.1\""}));
  for (int i = 0; i < 2000; ++i) {
    EXPECT_EQ(reversed.SelectByHash(Key(i))->config->uri, forward_choice[static_cast<size_t>(i)]);
  }
}

TEST_F(DestinationSetTest, WeightsSplitTheKeysProportionally) {
  DestinationSet set = MakeSet(Destinations({"uri = \"sip:10.0.0.1\"\n  weight = 1",
                                             "uri = \"sip:10.0.0.2\"\n  weight = 2",
                                             "uri = \"sip:10.0.0.3\"\n  weight = 3"}));
  std::array<int, 3> counts{};
  for (int i = 0; i < kKeys; ++i) {
    const int c = Choice(set, Key(i));
    ASSERT_GE(c, 0);
    ++counts[static_cast<size_t>(c)];
  }
  const double expected[] = {1.0 / 6, 2.0 / 6, 3.0 / 6};
  for (size_t d = 0; d < 3; ++d) {
    EXPECT_NEAR(counts[d] / static_cast<double>(kKeys), expected[d], 0.02) << "destination " << d;
  }
}

TEST_F(DestinationSetTest, EqualWeightsSplitEvenly) {
  DestinationSet set = MakeSet(kFour);
  std::array<int, 4> counts{};
  for (int i = 0; i < kKeys; ++i) ++counts[static_cast<size_t>(Choice(set, Key(i)))];
  for (size_t d = 0; d < 4; ++d) {
    EXPECT_NEAR(counts[d] / static_cast<double>(kKeys), 0.25, 0.02) << "destination " << d;
  }
}

TEST_F(DestinationSetTest, KeysOfOneShardStillSplitEvenly) {
  // The receive threads pick the shard from the top bits of the same
  // Call-ID hash (ReduceToRange), so each shard only ever sees keys with a
  // fixed prefix. Its destinations must still share them evenly.
  DestinationSet set = MakeSet(kFour);
  for (uint32_t shards : {2u, 8u, 256u}) {
    const uint32_t shard = shards - 1;
    std::array<int, 4> counts{};
    int keys = 0;
    for (int i = 0; keys < 20000 && i < 20000 * 300; ++i) {
      const uint64_t key = Key(i);
      if (base::ReduceToRange(key, shards) != shard) continue;
      ++keys;
      ++counts[static_cast<size_t>(Choice(set, key))];
    }
    ASSERT_EQ(keys, 20000);
    for (size_t d = 0; d < 4; ++d) {
      EXPECT_NEAR(counts[d] / static_cast<double>(keys), 0.25, 0.02)
          << shards << " shards, destination " << d;
    }
  }
}

TEST_F(DestinationSetTest, LosingADestinationMovesOnlyItsOwnKeysEvenly) {
  for (size_t lost = 0; lost < 4; ++lost) {
    SCOPED_TRACE(lost);
    DestinationSet set = MakeSet(kFour);
    std::vector<int> before(kKeys);
    for (int i = 0; i < kKeys; ++i) before[static_cast<size_t>(i)] = Choice(set, Key(i));

    set.mutable_destinations()[lost].active = false;
    std::array<int, 4> moved_to{};
    int moved = 0;
    for (int i = 0; i < kKeys; ++i) {
      const int now = Choice(set, Key(i));
      const int was = before[static_cast<size_t>(i)];
      ASSERT_NE(now, static_cast<int>(lost));
      if (was == static_cast<int>(lost)) {
        ++moved;
        ++moved_to[static_cast<size_t>(now)];
      } else {
        ASSERT_EQ(now, was) << "key " << i << " moved although its destination stayed";
      }
    }
    ASSERT_GT(moved, kKeys / 5);  // about a quarter of the keys were on it
    for (size_t d = 0; d < 4; ++d) {
      if (d == lost) continue;
      EXPECT_NEAR(moved_to[d] / static_cast<double>(moved), 1.0 / 3, 0.03) << "destination " << d;
    }

    // And coming back restores the original mapping exactly.
    set.mutable_destinations()[lost].active = true;
    for (int i = 0; i < kKeys; i += 97) EXPECT_EQ(Choice(set, Key(i)), before[static_cast<size_t>(i)]);
  }
}

TEST(ResolveHostTest, LiteralsNeedNoLookup) {
  absl::StatusOr<SocketAddress> v4 = ResolveHost("192.0.2.1", 5070, AF_UNSPEC);
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(*v4, *SocketAddress::Parse("192.0.2.1", 5070));
  absl::StatusOr<SocketAddress> v6 = ResolveHost("2001:db8::1", 5080, AF_UNSPEC);
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(*v6, *SocketAddress::Parse("2001:db8::1", 5080));
  absl::StatusOr<SocketAddress> bracketed = ResolveHost("[2001:db8::1]", 5080, AF_INET6);
  ASSERT_TRUE(bracketed.ok()) << bracketed.status();
  EXPECT_EQ(*bracketed, *v6);
}

TEST(ResolveHostTest, LocalhostResolvesToLoopbackWithThePort) {
  absl::StatusOr<SocketAddress> v4 = ResolveHost("localhost", 5090, AF_INET);
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(*v4, *SocketAddress::Parse("127.0.0.1", 5090));

  absl::StatusOr<SocketAddress> any = ResolveHost("localhost", 5091, AF_UNSPEC);
  ASSERT_TRUE(any.ok()) << any.status();
  EXPECT_EQ(any->port(), 5091);
  EXPECT_TRUE(*any == *SocketAddress::Parse("127.0.0.1", 5091) ||
              *any == *SocketAddress::Parse("::1", 5091))
      << any->ToString();
}

TEST_F(DestinationSetTest, HostNameDestinationIsResolvedAtCreation) {
  DestinationSet set = MakeSet(Destinations({"uri = \"sip:localhost:5099\""}));
  ASSERT_EQ(set.destinations().size(), 1u);
  const SocketAddress& a = set.destinations()[0].address;
  EXPECT_EQ(a.port(), 5099);
  EXPECT_TRUE(a == *SocketAddress::Parse("127.0.0.1", 5099) ||
              a == *SocketAddress::Parse("::1", 5099))
      << a.ToString();
}

}  // namespace
}  // namespace sipshard::dispatch
