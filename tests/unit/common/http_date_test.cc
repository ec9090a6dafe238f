#include "common/http_date.h"

#include <gtest/gtest.h>

#include <ctime>

namespace ryoan {
namespace {

constexpr int64_t kT = 1325473505;  // 2012-01-02 03:05:05 GMT

TEST(FormatHttpDateTest, Rfc1123) {
  EXPECT_EQ(FormatHttpDate(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(FormatHttpDate(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(FormatHttpDate(kT), "Mon, 02 Jan 2012 03:05:05 GMT");
  EXPECT_EQ(FormatHttpDate(951868799), "Tue, 29 Feb 2000 23:59:59 GMT");
  EXPECT_EQ(FormatHttpDate(-1), "Wed, 31 Dec 1969 23:59:59 GMT");
  EXPECT_EQ(FormatHttpDate(1099511627775LL).size(), kHttpDateLength);  // clamped year
}

TEST(FormatHttpDateTest, AgreesWithGmtime) {
  for (int64_t t = -86400LL * 800; t < 86400LL * 365 * 80; t += 86400 * 13 + 3607) {
    time_t tt = static_cast<time_t>(t);
    struct tm tm;
    gmtime_r(&tt, &tm);
    char expect[64];
    strftime(expect, sizeof(expect), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    ASSERT_EQ(FormatHttpDate(t), expect) << t;
    ASSERT_EQ(ParseHttpDate(expect), t) << expect;
  }
}

TEST(ParseHttpDateTest, Numbers) {
  EXPECT_EQ(ParseHttpDate("1325473505"), kT);
  EXPECT_EQ(ParseHttpDate("  1325473505"), kT);
  EXPECT_EQ(ParseHttpDate("90s"), 90);
  EXPECT_EQ(ParseHttpDate("15m"), 900);
  EXPECT_EQ(ParseHttpDate("2h"), 7200);
  EXPECT_EQ(ParseHttpDate("1d"), 86400);
  EXPECT_EQ(ParseHttpDate("1D"), 86400);
  EXPECT_EQ(ParseHttpDate("0x4F011E61"), 0x4F011E61);
  EXPECT_EQ(ParseHttpDate("0X4f011e61"), 0x4F011E61);
  EXPECT_EQ(ParseHttpDate("-5"), -5);
  EXPECT_EQ(ParseHttpDate("0"), 0);
}

TEST(ParseHttpDateTest, W3cdtf) {
  EXPECT_EQ(ParseHttpDate("2012-01-02T03:05:05+09:00"), kT - 9 * 3600);
  EXPECT_EQ(ParseHttpDate("2012-01-02T03:05:05-01:30"), kT + 5400);
  EXPECT_EQ(ParseHttpDate("2012-01-02T03:05:05Z"), kT);
  EXPECT_EQ(ParseHttpDate("2012-01-02T03:05:05"), kT);
  EXPECT_EQ(ParseHttpDate("2012-01-02T03:05:05.123Z"), kT);
  EXPECT_EQ(ParseHttpDate("2012-01-02T03:05Z"), kT - 5);
  EXPECT_EQ(ParseHttpDate("2012-01-02"), 1325462400);
  EXPECT_EQ(ParseHttpDate("2012-01"), 1325376000);
}

TEST(ParseHttpDateTest, SlashForm) {
  EXPECT_EQ(ParseHttpDate("2012/01/02 03:05:05"), kT);
  EXPECT_EQ(ParseHttpDate("2012/01/02 03:05:05+09:00"), kT - 9 * 3600);
  EXPECT_EQ(ParseHttpDate("2012/01/02"), 1325462400);
}

TEST(ParseHttpDateTest, Rfc1123And822) {
  EXPECT_EQ(ParseHttpDate("Mon, 02 Jan 2012 03:05:05 GMT"), kT);
  EXPECT_EQ(ParseHttpDate("Mon, 2 Jan 2012 03:05:05 GMT"), kT);
  EXPECT_EQ(ParseHttpDate("02 Jan 2012 03:05:05 +0900"), kT - 9 * 3600);
  EXPECT_EQ(ParseHttpDate("02 Jan 2012 03:05:05 -0130"), kT + 5400);
  EXPECT_EQ(ParseHttpDate("02 Jan 2012 03:05:05"), kT);
  EXPECT_EQ(ParseHttpDate("mon, 02 jan 2012 03:05:05 gmt"), kT);
  EXPECT_EQ(ParseHttpDate("Mon, 02 Jan 12 03:05:05 GMT"), kT);
  EXPECT_EQ(ParseHttpDate("Monday, 02-Jan-12 03:05:05 GMT"), std::nullopt);
  struct {
    const char* zone;
    int hours;
  } zones[] = {{"JST", 9},  {"KST", 9},  {"CCT", 8},   {"EDT", -4}, {"EST", -5},
               {"CDT", -5}, {"CST", -6}, {"MDT", -6},  {"MST", -7}, {"PDT", -7},
               {"PST", -8}, {"HDT", -9}, {"HST", -10}, {"UTC", 0},  {"UT", 0}};
  for (const auto& z : zones) {
    std::string s = std::string("Mon, 02 Jan 2012 03:05:05 ") + z.zone;
    EXPECT_EQ(ParseHttpDate(s), kT - z.hours * 3600) << s;
  }
}

TEST(ParseHttpDateTest, Unparsable) {
  EXPECT_EQ(ParseHttpDate(""), std::nullopt);
  EXPECT_EQ(ParseHttpDate("   "), std::nullopt);
  EXPECT_EQ(ParseHttpDate("tomorrow"), std::nullopt);
  EXPECT_EQ(ParseHttpDate("12x"), std::nullopt);
  EXPECT_EQ(ParseHttpDate("0xZZ"), std::nullopt);
  EXPECT_EQ(ParseHttpDate("2012-13-02"), std::nullopt);
  EXPECT_EQ(ParseHttpDate("2012-01-02T3:05"), std::nullopt);
  EXPECT_EQ(ParseHttpDate("Mon, 02 Foo 2012 03:05:05 GMT"), std::nullopt);
  EXPECT_EQ(ParseHttpDate("Mon, 02 Jan 2012 03:05:05 XYZ"), std::nullopt);
  EXPECT_EQ(ParseHttpDate("Mon, 02 Jan 2012 03:05:05 GMT junk"), std::nullopt);
}

}  // namespace
}  // namespace ryoan
