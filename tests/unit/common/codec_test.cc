#include "common/codec.h"

#include <gtest/gtest.h>

#include <string>

namespace ryoan {
namespace {

std::string AllBytes() {
  std::string s;
  for (int c = 0; c < 256; ++c) s.push_back(static_cast<char>(c));
  return s;
}

TEST(Base64Test, KnownVectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("a\tb"), "YQli");
  EXPECT_EQ(Base64Encode(std::string("\xff\xfe\xfd", 3)), "//79");
  EXPECT_EQ(Base64Decode("Zm9vYmFy"), "foobar");
  EXPECT_EQ(Base64Decode("Zg=="), "f");
  EXPECT_EQ(Base64Decode("Zm8="), "fo");
  EXPECT_EQ(Base64Decode("dmFsdWU="), "value");
}

TEST(Base64Test, DecodeSkipsNonAlphabetBytes) {
  EXPECT_EQ(Base64Decode(" Zm9v\r\nYmFy \t"), "foobar");
  EXPECT_EQ(Base64Decode("Z m 9 v"), "foo");
  EXPECT_EQ(Base64Decode(std::string("Zm\0\x80\xff"
                                     "9v",
                                     7)),
            "foo");
  EXPECT_EQ(Base64Decode("!!!"), "");
}

TEST(Base64Test, DecodeStopsAfterPaddedQuantum) {
  EXPECT_EQ(Base64Decode("Zg==Zm9v"), "f");
  EXPECT_EQ(Base64Decode("Zm8=Zm9v"), "fo");
  EXPECT_EQ(Base64Decode("Zm9vZg==Zm9v"), "foof");
  EXPECT_EQ(Base64Decode("===="), "");
  EXPECT_EQ(Base64Decode("Z==="), "");
  // Truncated padding and unpadded tails still give their whole bytes.
  EXPECT_EQ(Base64Decode("Zg="), "f");
  EXPECT_EQ(Base64Decode("Zg"), "f");
  EXPECT_EQ(Base64Decode("Zm8"), "fo");
  EXPECT_EQ(Base64Decode("Z"), "");
}

TEST(Base64Test, RoundTripAllLengthsAndBytes) {
  std::string all = AllBytes();
  EXPECT_EQ(Base64Decode(Base64Encode(all)), all);
  for (size_t n = 0; n <= 10; ++n) {
    std::string s = all.substr(250 - n, n);
    std::string enc = Base64Encode(s);
    EXPECT_EQ(enc.size(), (n + 2) / 3 * 4);
    EXPECT_EQ(Base64Decode(enc), s) << n;
  }
}

TEST(QuotedPrintableTest, Encode) {
  EXPECT_EQ(QuotedPrintableEncode("abc xyz"), "abc xyz");
  EXPECT_EQ(QuotedPrintableEncode("a=b"), "a=3Db");
  EXPECT_EQ(QuotedPrintableEncode("a\tb\n"), "a=09b=0A");
  EXPECT_EQ(QuotedPrintableEncode("\x7e\x7f\xff"), "~=7F=FF");
}

TEST(QuotedPrintableTest, Decode) {
  EXPECT_EQ(QuotedPrintableDecode("a=3Db"), "a=b");
  EXPECT_EQ(QuotedPrintableDecode("a=3db=e5=B9=b9"), "a=b\xe5\xb9\xb9");
  EXPECT_EQ(QuotedPrintableDecode("ab=\r\ncd=\nef"), "abcdef");
  EXPECT_EQ(QuotedPrintableDecode("a\tb\r\nc\x7f"
                                  "d"),
            "abcd");
  EXPECT_EQ(QuotedPrintableDecode("x=G1"), std::string("x\x01"));  // non-hex digit counts 0
  EXPECT_EQ(QuotedPrintableDecode("x="), "x");
  EXPECT_EQ(QuotedPrintableDecode("x=4"), "x4");
  EXPECT_EQ(QuotedPrintableDecode("\x80\xff"), "\x80\xff");
}

TEST(QuotedPrintableTest, RoundTripAllBytes) {
  std::string all = AllBytes();
  EXPECT_EQ(QuotedPrintableDecode(QuotedPrintableEncode(all)), all);
}

TEST(UrlTest, Encode) {
  EXPECT_EQ(UrlEncode("AZaz09_-.~"), "AZaz09_-.~");
  EXPECT_EQ(UrlEncode("a b"), "a%20b");
  EXPECT_EQ(UrlEncode("a\tb"), "a%09b");
  EXPECT_EQ(UrlEncode("+/?&=!*'()"), "%2b%2f%3f%26%3d%21%2a%27%28%29");
  EXPECT_EQ(UrlEncode("\xe5\xb9\xb9"), "%e5%b9%b9");
  EXPECT_EQ(UrlEncode(std::string("\0", 1)), "%00");
}

TEST(UrlTest, Decode) {
  EXPECT_EQ(UrlDecode("a%20b"), "a b");
  EXPECT_EQ(UrlDecode("a%2Fb%2f"), "a/b/");
  EXPECT_EQ(UrlDecode("a+b"), "a b");
  EXPECT_EQ(UrlDecode("%2B"), "+");
  EXPECT_EQ(UrlDecode("a%09b"), "a\tb");  // escaped control bytes are kept
  EXPECT_EQ(UrlDecode(std::string("a b\t\r\n\x01\x7f\0c", 10)), "abc");
  EXPECT_EQ(UrlDecode("%zz"), std::string("\0", 1));
  EXPECT_EQ(UrlDecode("%4g"), "@");
  EXPECT_EQ(UrlDecode("%g4"), "\x04");
  // Raw bytes >= 0x80 are kept: the allowed deviation from the original.
  EXPECT_EQ(UrlDecode("k\xe5\xb9\xb9x"), "k\xe5\xb9\xb9x");
  EXPECT_EQ(UrlDecode("%e5%B9%b9"), "\xe5\xb9\xb9");
}

TEST(UrlTest, DecodeTruncatedEscapes) {
  EXPECT_EQ(UrlDecode("abc%"), "abc");
  // Our choice: a '%' without two following bytes is dropped, the lone digit stays literal.
  EXPECT_EQ(UrlDecode("abc%4"), "abc4");
  EXPECT_EQ(UrlDecode("%"), "");
  EXPECT_EQ(UrlDecode("%41"), "A");
  EXPECT_EQ(UrlDecode("%%41"), std::string("\x04"
                                           "1"));
}

TEST(UrlTest, RoundTripAllBytes) {
  std::string all = AllBytes();
  std::string enc = UrlEncode(all);
  for (char c : enc) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '%' || c == '_' || c == '-' ||
                c == '.' || c == '~');
  }
  EXPECT_EQ(UrlDecode(enc), all);
  for (int c = 0; c < 256; ++c) {
    std::string one(1, static_cast<char>(c));
    EXPECT_EQ(UrlDecode(UrlEncode(one)), one) << c;
    EXPECT_EQ(Base64Decode(Base64Encode(one)), one) << c;
    EXPECT_EQ(QuotedPrintableDecode(QuotedPrintableEncode(one)), one) << c;
  }
}

TEST(AppendCodecTest, AppendsToExistingContent) {
  std::string out = "x";
  AppendBase64Encode("foo", &out);
  AppendUrlEncode(" ", &out);
  AppendUrlDecode("%41", &out);
  AppendBase64Decode("Zm9v", &out);
  EXPECT_EQ(out, "xZm9v%20Afoo");
}

TEST(HexDigitTest, Values) {
  EXPECT_EQ(HexDigitValue('0'), 0);
  EXPECT_EQ(HexDigitValue('9'), 9);
  EXPECT_EQ(HexDigitValue('a'), 10);
  EXPECT_EQ(HexDigitValue('F'), 15);
  EXPECT_EQ(HexDigitValue('g'), -1);
  EXPECT_EQ(HexDigitValue(0xff), -1);
}

}  // namespace
}  // namespace ryoan
