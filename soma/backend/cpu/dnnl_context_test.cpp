#include "soma/backend/cpu/dnnl_context.h"

#include <gtest/gtest.h>
#include <omp.h>

#include "soma/core/parallel.h"

namespace soma::cpu {
namespace {

// Runs the test body with a two-thread pool and puts the caller's count back afterwards.
class TwoThreads : public ::testing::Test {
 protected:
  void SetUp() override { set_num_threads(2); }
  void TearDown() override { set_num_threads(threads_); }

 private:
  int threads_ = num_threads();
};

TEST_F(TwoThreads, SmallWorkRunsOnOneThreadUntilTheScopeEnds) {
  {
    const SerialWhenSmall serial(kSmallMultiplyAdds - 1, kSmallMultiplyAdds);
    EXPECT_EQ(omp_get_max_threads(), 1);
  }
  EXPECT_EQ(omp_get_max_threads(), 2);
  {
    const SerialWhenSmall serial(kSmallElements, kSmallElements);
    EXPECT_EQ(omp_get_max_threads(), 2);
  }
  EXPECT_EQ(omp_get_max_threads(), 2);
}

TEST_F(TwoThreads, PrimitivesForOneThreadAreCachedApart) {
  // oneDNN splits a kernel's work among threads when the primitive is made, so one made for
  // the team must never be run by a serial call, nor the other way round.
  Key team;
  team << "conv";
  const SerialWhenSmall serial(0, kSmallElements);
  Key single;
  single << "conv";
  EXPECT_NE(team.text(), single.text());
}

}  // namespace
}  // namespace soma::cpu
