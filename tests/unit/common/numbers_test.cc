#include "common/numbers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace ryoan {
namespace {

TEST(ParseIntTest, Basics) {
  EXPECT_EQ(ParseInt("0"), 0);
  EXPECT_EQ(ParseInt("123"), 123);
  EXPECT_EQ(ParseInt("+123"), 123);
  EXPECT_EQ(ParseInt("-123"), -123);
  EXPECT_EQ(ParseInt("1abc"), 1);
  EXPECT_EQ(ParseInt("12.9"), 12);
  EXPECT_EQ(ParseInt(""), 0);
  EXPECT_EQ(ParseInt("abc"), 0);
  EXPECT_EQ(ParseInt("-"), 0);
  EXPECT_EQ(ParseInt("+-1"), 0);
  EXPECT_EQ(ParseInt("1 2"), 1);
}

TEST(ParseIntTest, LeadingBytes) {
  EXPECT_EQ(ParseInt("  \t\r\n42"), 42);
  EXPECT_EQ(ParseInt("\x01\x20-7"), -7);
  EXPECT_EQ(ParseInt(std::string("\0"
                                 "5",
                                 2)),
            0);  // NUL is not skipped
  EXPECT_EQ(ParseInt("- 5"), 0);
}

TEST(ParseIntTest, WrapsModulo2To64) {
  EXPECT_EQ(ParseInt("18446744073709551615"), -1);
  EXPECT_EQ(ParseInt("18446744073709551616"), 0);
  EXPECT_EQ(ParseInt("9223372036854775807"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(ParseInt("9223372036854775808"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(ParseInt("-9223372036854775808"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(ParseInt("-18446744073709551615"), 1);
  EXPECT_EQ(ParseInt("99999999999999999999999999999999"),
            static_cast<int64_t>(9632337040368467967ULL));
}

TEST(ParseRealTest, Basics) {
  EXPECT_DOUBLE_EQ(ParseReal("1.5"), 1.5);
  EXPECT_DOUBLE_EQ(ParseReal("-2.25"), -2.25);
  EXPECT_DOUBLE_EQ(ParseReal("+3"), 3.0);
  EXPECT_DOUBLE_EQ(ParseReal(" \t 0.1"), 0.1);
  EXPECT_DOUBLE_EQ(ParseReal(".5"), 0.5);
  EXPECT_DOUBLE_EQ(ParseReal("5."), 5.0);
  EXPECT_DOUBLE_EQ(ParseReal("1e3"), 1000.0);
  EXPECT_DOUBLE_EQ(ParseReal("1.5E-2"), 0.015);
  EXPECT_DOUBLE_EQ(ParseReal("2e+2x"), 200.0);
  EXPECT_DOUBLE_EQ(ParseReal("3e"), 3.0);
  EXPECT_DOUBLE_EQ(ParseReal("12abc"), 12.0);
  EXPECT_EQ(ParseReal("abc"), 0.0);
  EXPECT_EQ(ParseReal(""), 0.0);
  EXPECT_EQ(ParseReal("-"), 0.0);
  EXPECT_EQ(ParseReal("0.000"), 0.0);
}

TEST(ParseRealTest, InfAndNan) {
  EXPECT_EQ(ParseReal("inf"), std::numeric_limits<double>::infinity());
  EXPECT_EQ(ParseReal("INFINITY"), std::numeric_limits<double>::infinity());
  EXPECT_EQ(ParseReal("-Inf"), -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(ParseReal("nan")));
  EXPECT_TRUE(std::isnan(ParseReal("  NaNx")));
  EXPECT_EQ(ParseReal("in"), 0.0);
  EXPECT_EQ(ParseReal("1e999"), std::numeric_limits<double>::infinity());
  EXPECT_EQ(ParseReal("-1e999"), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(ParseReal("1e-999"), 0.0);
}

TEST(ParseRealTest, SixteenSignificantDigits) {
  // Digits past the 16th only keep their place value.
  EXPECT_DOUBLE_EQ(ParseReal("12345678901234567890"), 1234567890123456e4);
  EXPECT_DOUBLE_EQ(ParseReal("1.23456789012345678"), 1.234567890123456);
  EXPECT_DOUBLE_EQ(ParseReal("0.0000123456789012345678"), 1.234567890123456e-5);
  EXPECT_DOUBLE_EQ(ParseReal("000000000000000000001.5"), 1.5);
}

TEST(ParseIntWithUnitTest, Units) {
  EXPECT_EQ(ParseIntWithUnit("256m"), 256LL << 20);
  EXPECT_EQ(ParseIntWithUnit("256M"), 256LL << 20);
  EXPECT_EQ(ParseIntWithUnit("1k"), 1024);
  EXPECT_EQ(ParseIntWithUnit("1.5k"), 1536);
  EXPECT_EQ(ParseIntWithUnit("12g"), 12LL << 30);
  EXPECT_EQ(ParseIntWithUnit("1t"), 1LL << 40);
  EXPECT_EQ(ParseIntWithUnit("1P"), 1LL << 50);
  EXPECT_EQ(ParseIntWithUnit("1e3"), 1LL << 60);
  EXPECT_EQ(ParseIntWithUnit("-2k"), -2048);
  EXPECT_EQ(ParseIntWithUnit("0.5m"), 512 * 1024);
  EXPECT_EQ(ParseIntWithUnit("1978"), 1978);
  EXPECT_EQ(ParseIntWithUnit("1.9"), 1);
  EXPECT_EQ(ParseIntWithUnit("  42"), 42);
  EXPECT_EQ(ParseIntWithUnit("abc"), 0);
  EXPECT_EQ(ParseIntWithUnit("k"), 0);
  EXPECT_EQ(ParseIntWithUnit("16e"), 0);  // 2^64 wraps to 0
}

TEST(FormatRealTest, Formats) {
  EXPECT_EQ(FormatReal(1.5, 6), "1.500000");
  EXPECT_EQ(FormatReal(-0.25, 2), "-0.25");
  EXPECT_EQ(FormatReal(2.0, 0), "2");
  EXPECT_EQ(FormatReal(0.125, 2), "0.12");  // round half to even, as printf
  EXPECT_EQ(FormatReal(1e20, 1), "100000000000000000000.0");
  EXPECT_EQ(FormatReal(std::numeric_limits<double>::infinity(), 6), "inf");
  EXPECT_EQ(FormatReal(-std::numeric_limits<double>::infinity(), 6), "-inf");
  EXPECT_EQ(FormatReal(std::nan(""), 6), "nan");
  EXPECT_EQ(FormatReal(std::numeric_limits<double>::max(), 2).size(), 309u + 3u);
  EXPECT_EQ(FormatReal(3.0, -1), "3.000000");
}

}  // namespace
}  // namespace ryoan
