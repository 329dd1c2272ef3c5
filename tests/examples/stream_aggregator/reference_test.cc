// The reference test: generated, shuffled (bounded disorder plus stragglers)
// event streams run through the driver, compared line by line and step by
// step with a model that re-implements rules 1-6 the plain way: every
// window keeps all its values, sessions are recomputed from the sorted
// events of a key after every event, quantiles come from sorting, sums from
// long double arithmetic. The model shares no code with the engine.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tests/examples/stream_aggregator/test_util.h"

namespace troupe::aggregator {
namespace {

using testing::EventLine;
using testing::ResultLine;
using testing::RunByStep;

struct Event {
  std::string key;
  int64_t ts;
  double value;
};

struct ModelLine {
  std::string key;
  int64_t start;
  int64_t end;
  std::vector<double> values;
  int64_t revision;
};

struct ModelWindow {
  std::vector<double> values;
  int64_t revision = -1;
  bool dirty = false;
};

struct ModelSession {
  int64_t first;
  int64_t last;
  std::vector<double> values;
  int64_t revision = -1;
  bool dirty = false;
};

// Rules 1-6, by brute force.
class Model {
 public:
  Model(std::string kind, int64_t size, int64_t slide, int64_t ooo,
        int64_t lateness)
      : kind_(std::move(kind)),
        size_(size),
        slide_(slide),
        ooo_(ooo),
        lateness_(lateness) {}

  // The lines emitted while handling `e`; sets *dropped.
  std::vector<ModelLine> OnEvent(const Event& e, bool* dropped) {
    std::vector<ModelLine> out;
    const bool late = has_watermark_ && e.ts < watermark_;
    *dropped = late && watermark_ - e.ts > lateness_;
    if (*dropped) return out;
    if (kind_ == "session") {
      AddToSessions(e, late, &out);
    } else {
      AddToWindows(e, late, &out);
    }
    const int64_t candidate = e.ts - ooo_;
    if (!has_watermark_ || candidate > watermark_) watermark_ = candidate;
    has_watermark_ = true;
    FireDue(&out);
    return out;
  }

  std::vector<ModelLine> Finish() {
    std::vector<ModelLine> out;
    for (auto& [id, w] : windows_) {
      if (w.dirty) Emit(id.first, id.second, id.second + size_, w, &out);
    }
    for (auto& [key, list] : sessions_) {
      for (ModelSession& s : list) {
        if (s.dirty) Emit(key, s.first, s.last + size_, s, &out);
      }
    }
    return out;
  }

 private:
  template <typename W>
  static void Emit(const std::string& key, int64_t start, int64_t end, W& w,
                   std::vector<ModelLine>* out) {
    ++w.revision;
    w.dirty = false;
    out->push_back({key, start, end, w.values, w.revision});
  }

  void AddToWindows(const Event& e, bool late, std::vector<ModelLine>* out) {
    const int64_t offset = ((e.ts % slide_) + slide_) % slide_;
    for (int64_t start = e.ts - offset; start + size_ > e.ts; start -= slide_) {
      ModelWindow& w = windows_[{e.key, start}];
      w.values.push_back(e.value);
      w.dirty = true;
      if (late && (w.revision >= 0 || start + size_ <= watermark_)) {
        Emit(e.key, start, start + size_, w, out);
      }
    }
  }

  void AddToSessions(const Event& e, bool late, std::vector<ModelLine>* out) {
    std::vector<Event>& events = events_[e.key];
    events.push_back(e);
    std::sort(events.begin(), events.end(),
              [](const Event& a, const Event& b) { return a.ts < b.ts; });
    // Split the sorted events wherever consecutive ones are a gap apart.
    std::vector<ModelSession> rebuilt;
    for (const Event& x : events) {
      if (rebuilt.empty() || x.ts - rebuilt.back().last >= size_) {
        rebuilt.push_back({x.ts, x.ts, {}, -1, false});
      }
      rebuilt.back().last = x.ts;
      rebuilt.back().values.push_back(x.value);
    }
    // Carry revisions and dirtiness over from the old sessions each new one
    // contains.
    std::vector<ModelSession>& old = sessions_[e.key];
    for (ModelSession& s : rebuilt) {
      for (const ModelSession& o : old) {
        if (o.first >= s.first && o.last <= s.last) {
          s.revision = std::max(s.revision, o.revision);
          s.dirty = s.dirty || o.dirty;
        }
      }
      if (e.ts >= s.first && e.ts <= s.last) {
        s.dirty = true;
        if (late && (s.revision >= 0 || s.last + size_ <= watermark_)) {
          Emit(e.key, s.first, s.last + size_, s, out);
        }
      }
    }
    old = std::move(rebuilt);
  }

  void FireDue(std::vector<ModelLine>* out) {
    for (auto& [id, w] : windows_) {
      if (w.dirty && id.second + size_ <= watermark_) {
        Emit(id.first, id.second, id.second + size_, w, out);
      }
    }
    for (auto& [key, list] : sessions_) {
      for (ModelSession& s : list) {
        if (s.dirty && s.last + size_ <= watermark_) {
          Emit(key, s.first, s.last + size_, s, out);
        }
      }
    }
  }

  const std::string kind_;
  const int64_t size_;  // window size, or the session gap
  const int64_t slide_;
  const int64_t ooo_;
  const int64_t lateness_;
  bool has_watermark_ = false;
  int64_t watermark_ = 0;
  std::map<std::pair<std::string, int64_t>, ModelWindow> windows_;
  std::map<std::string, std::vector<Event>> events_;
  std::map<std::string, std::vector<ModelSession>> sessions_;
};

// A stream with bounded disorder, stragglers, negative times and values
// that are normal, heavy-tailed, negative, zero, repeated, tiny and huge.
std::vector<Event> Generate(uint64_t seed, int n) {
  std::mt19937_64 rng(seed);
  const std::vector<std::string> keys = {
      "k0", "k1", "k2", "k3", "sensor \"7\"", "\xd0\xba\xd0\xbb"};
  std::uniform_int_distribution<int64_t> step(0, 300);
  std::uniform_int_distribution<int64_t> jitter(-3'000, 3'000);
  std::uniform_int_distribution<int64_t> straggle(0, 40'000);
  std::normal_distribution<double> normal(20, 5);
  std::cauchy_distribution<double> cauchy(0, 10);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<Event> events;
  int64_t t = -30'000;
  for (int i = 0; i < n; ++i) {
    t += step(rng);
    int64_t ts = t + jitter(rng);
    if (unit(rng) < 0.04) ts = t - straggle(rng);
    double value = 0;
    const double pick = unit(rng);
    if (pick < 0.4) {
      value = normal(rng);
    } else if (pick < 0.6) {
      value = cauchy(rng);
    } else if (pick < 0.7) {
      value = -normal(rng);
    } else if (pick < 0.78) {
      value = 0;
    } else if (pick < 0.9) {
      value = static_cast<double>(rng() % 4) - 1.5;
    } else if (pick < 0.95) {
      value = std::ldexp(unit(rng), -1000);
    } else {
      value = (unit(rng) < 0.5 ? -1 : 1) * std::ldexp(1 + unit(rng), 900);
    }
    events.push_back({keys[rng() % keys.size()], ts, value});
  }
  return events;
}

void ExpectSameLine(const ResultLine& got, const ModelLine& want) {
  SCOPED_TRACE(::testing::Message() << got);
  std::vector<double> sorted = want.values;
  std::sort(sorted.begin(), sorted.end());
  const uint64_t n = sorted.size();
  ASSERT_EQ(got.count, n);
  EXPECT_EQ(got.min, sorted.front());
  EXPECT_EQ(got.max, sorted.back());
  long double exact = 0;
  long double magnitude = 0;
  std::vector<double> by_size = sorted;
  std::sort(by_size.begin(), by_size.end(),
            [](double a, double b) { return std::fabs(a) < std::fabs(b); });
  for (double v : by_size) {
    exact += v;
    magnitude += std::fabs(v);
  }
  const long double tolerance = 1e-9L * magnitude;
  EXPECT_LE(std::fabs(static_cast<long double>(got.sum) - exact), tolerance);
  EXPECT_LE(std::fabs(static_cast<long double>(got.mean) - exact / n),
            tolerance);
  const std::pair<double, uint64_t> quantiles[] = {
      {got.p50, (n + 1) / 2},
      {got.p90, (9 * n + 9) / 10},
      {got.p99, (99 * n + 99) / 100}};
  for (const auto& [reported, rank] : quantiles) {
    const double v = sorted[rank - 1];
    EXPECT_LE(std::fabs(reported - v), 0.01 * std::fabs(v))
        << "rank " << rank << " exact " << v << " reported " << reported;
  }
}

struct Case {
  const char* spec;
  std::string kind;
  int64_t size;
  int64_t slide;
  int64_t ooo;
  int64_t lateness;
};

void RunCase(const Case& c, uint64_t seed) {
  SCOPED_TRACE(::testing::Message()
               << c.spec << " ooo " << c.ooo << " lateness " << c.lateness
               << " seed " << seed);
  const std::vector<Event> events = Generate(seed, 4'000);
  std::vector<std::string> lines;
  lines.reserve(events.size());
  for (const Event& e : events)
    lines.push_back(EventLine(e.key, e.ts, e.value));
  const auto got =
      RunByStep(lines, testing::Options(c.spec, c.ooo, c.lateness));

  Model model(c.kind, c.size, c.slide, c.ooo, c.lateness);
  std::vector<std::vector<ModelLine>> want;
  uint64_t dropped_count = 0;
  for (const Event& e : events) {
    bool dropped = false;
    want.push_back(model.OnEvent(e, &dropped));
    dropped_count += dropped;
  }
  want.push_back(model.Finish());

  EXPECT_EQ(got.counters.late_dropped, dropped_count);
  EXPECT_EQ(got.late.size(), dropped_count);
  ASSERT_EQ(got.results.size(), want.size());
  size_t total = 0;
  for (size_t step = 0; step < want.size(); ++step) {
    SCOPED_TRACE(::testing::Message() << "step " << step);
    std::vector<ResultLine> g = got.results[step];
    std::vector<ModelLine> w = want[step];
    ASSERT_EQ(g.size(), w.size());
    auto id = [](const auto& l) {
      return std::tie(l.key, l.start, l.end, l.revision);
    };
    std::sort(g.begin(), g.end(),
              [&](const auto& a, const auto& b) { return id(a) < id(b); });
    std::sort(w.begin(), w.end(),
              [&](const auto& a, const auto& b) { return id(a) < id(b); });
    for (size_t i = 0; i < g.size(); ++i) {
      ASSERT_EQ(g[i].key, w[i].key);
      ASSERT_EQ(g[i].start, w[i].start);
      ASSERT_EQ(g[i].end, w[i].end);
      ASSERT_EQ(g[i].revision, w[i].revision);
      ExpectSameLine(g[i], w[i]);
    }
    total += g.size();
  }
  // The stream exercises what it is meant to.
  EXPECT_GT(total, 100u);
  EXPECT_GT(dropped_count + got.counters.late_accepted, 10u);
}

TEST(ReferenceTest, TumblingWindowsMatchTheModelLineByLine) {
  const uint64_t seed = testing::TestSeed(11);
  RunCase({"tumbling:10s", "aligned", 10'000, 10'000, 2'000, 5'000}, seed);
  RunCase({"tumbling:1s", "aligned", 1'000, 1'000, 0, 0}, seed + 1);
  RunCase({"tumbling:5s", "aligned", 5'000, 5'000, 500, 60'000}, seed + 2);
}

TEST(ReferenceTest, SlidingWindowsMatchTheModelLineByLine) {
  const uint64_t seed = testing::TestSeed(21);
  RunCase({"sliding:10s/2s", "aligned", 10'000, 2'000, 1'000, 3'000}, seed);
  RunCase({"sliding:3s/1s", "aligned", 3'000, 1'000, 0, 20'000}, seed + 1);
}

TEST(ReferenceTest, SessionWindowsMatchTheModelLineByLine) {
  const uint64_t seed = testing::TestSeed(31);
  RunCase({"session:1500ms", "session", 1'500, 0, 1'000, 5'000}, seed);
  RunCase({"session:800ms", "session", 800, 0, 0, 60'000}, seed + 1);
  RunCase({"session:3s", "session", 3'000, 0, 4'000, 0}, seed + 2);
}

}  // namespace
}  // namespace troupe::aggregator
