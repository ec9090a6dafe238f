#include "server/procedure_placement.h"

#include <gtest/gtest.h>

#include <string>

namespace ryoan::server {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(ProcedurePlacementTest, QuickProceduresStayInline) {
  ProcedurePlacement p;
  EXPECT_TRUE(p.Inline("echo"));  // unknown names are tried inline
  for (int i = 0; i < 1000; i++) {
    ASSERT_TRUE(p.Inline("echo"));
    p.Record("echo", true, microseconds(20));
  }
}

TEST(ProcedurePlacementTest, OneSlowInlineCallMovesTheProcedureToWorkers) {
  ProcedurePlacement p;
  p.Record("nap", true, milliseconds(2000));
  EXPECT_FALSE(p.Inline("nap"));
  EXPECT_TRUE(p.Inline("echo"));  // per name
  // Just over the bound is slow too.
  p.Record("edge", true, ProcedurePlacement::kInlineBound + microseconds(1));
  EXPECT_FALSE(p.Inline("edge"));
}

TEST(ProcedurePlacementTest, ComesBackAfterEnoughShortWorkerCallsInARow) {
  ProcedurePlacement p;
  p.Record("sometimes", true, milliseconds(5));
  for (int i = 0; i < ProcedurePlacement::kPromoteAfter - 1; i++) {
    p.Record("sometimes", false, microseconds(10));
    ASSERT_FALSE(p.Inline("sometimes")) << i;
  }
  // A slow call on a worker starts the count again.
  p.Record("sometimes", false, milliseconds(5));
  for (int i = 0; i < ProcedurePlacement::kPromoteAfter - 1; i++) {
    p.Record("sometimes", false, microseconds(10));
  }
  EXPECT_FALSE(p.Inline("sometimes"));
  p.Record("sometimes", false, microseconds(10));
  EXPECT_TRUE(p.Inline("sometimes"));
}

TEST(ProcedurePlacementTest, NamesBeyondTheLimitRunOnWorkers) {
  ProcedurePlacement p;
  for (size_t i = 0; i < ProcedurePlacement::kMaxNames; i++) {
    p.Record("p" + std::to_string(i), true, microseconds(1));
  }
  EXPECT_TRUE(p.Inline("p0"));
  EXPECT_FALSE(p.Inline("another"));
  p.Record("another", false, microseconds(1));  // not tracked: memory stays bounded
  EXPECT_FALSE(p.Inline("another"));
}

}  // namespace
}  // namespace ryoan::server
