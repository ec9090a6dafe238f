#include "common/tsv.h"

#include <gtest/gtest.h>

#include <string>

#include "common/codec.h"

namespace ryoan {
namespace {

std::string Encode(const RecordMap& map, ColumnEncoding enc) {
  std::string out;
  EncodeTsv(map, enc, &out);
  return out;
}

TEST(RecordMapTest, SetReplacesInPlace) {
  RecordMap m;
  m.Set("a", "1");
  m.Set("b", "2");
  m.Set("a", "3");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m.entries()[0].first, "a");
  EXPECT_EQ(*m.Find("a"), "3");
  EXPECT_TRUE(m.Has("b"));
  EXPECT_FALSE(m.Has("c"));
  m.Append("a", "4");
  EXPECT_EQ(m.size(), 3u);
  m.clear();
  EXPECT_TRUE(m.empty());
}

TEST(ColumnEncodingTest, Parse) {
  EXPECT_EQ(ParseColumnEncoding("text/tab-separated-values"), ColumnEncoding::kNone);
  EXPECT_EQ(ParseColumnEncoding("text/tab-separated-values; colenc=B"), ColumnEncoding::kBase64);
  EXPECT_EQ(ParseColumnEncoding("text/tab-separated-values;colenc=u"), ColumnEncoding::kUrl);
  EXPECT_EQ(ParseColumnEncoding("text/tab-separated-values; COLENC=\"Q\""),
            ColumnEncoding::kQuotedPrintable);
  EXPECT_EQ(ParseColumnEncoding("text/tab-separated-values; charset=utf-8; colenc=b"),
            ColumnEncoding::kBase64);
  EXPECT_EQ(ParseColumnEncoding("text/tab-separated-values; colenc=X"), ColumnEncoding::kNone);
  EXPECT_EQ(ParseColumnEncoding("text/tab-separated-values; colenc="), ColumnEncoding::kNone);
  EXPECT_EQ(ParseColumnEncoding("text/tab-separated-values; xcolenc=B"), ColumnEncoding::kNone);
  EXPECT_EQ(ParseColumnEncoding("colenc=B"), ColumnEncoding::kNone);  // that is the media type
}

TEST(DecodeTsvTest, SpecExampleBase64) {
  RecordMap m;
  DecodeTsv("a2V5\tZm9v\ndmFsdWU=\tYQli\neHQ=\tNjA=", ColumnEncoding::kBase64, &m);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(*m.Find("key"), "foo");
  EXPECT_EQ(*m.Find("value"), "a\tb");
  EXPECT_EQ(*m.Find("xt"), "60");
}

TEST(DecodeTsvTest, RawRules) {
  RecordMap m;
  DecodeTsv("a\t1\r\nnotab\n\nb\tx\ty\r\n\tempty-name\nc\t\nd\t1\r\r\n", ColumnEncoding::kNone, &m);
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(*m.Find("a"), "1");
  EXPECT_EQ(*m.Find("b"), "x\ty");  // further TABs stay in the value
  EXPECT_EQ(*m.Find(""), "empty-name");
  EXPECT_EQ(*m.Find("c"), "");
  EXPECT_EQ(*m.Find("d"), "1\r");  // one trailing CR per record is removed
  EXPECT_FALSE(m.Has("notab"));
}

TEST(DecodeTsvTest, UrlAndQuotedPrintable) {
  RecordMap m;
  DecodeTsv("k%20ey\ta%09b\n", ColumnEncoding::kUrl, &m);
  EXPECT_EQ(*m.Find("k ey"), "a\tb");
  DecodeTsv("q=3D\tx=0Ay\n", ColumnEncoding::kQuotedPrintable, &m);
  EXPECT_EQ(*m.Find("q="), "x\ny");
}

TEST(DecodeTsvTest, LaterReplacesEarlierAndOrderIsKept) {
  RecordMap m;
  m.Set("DB", "0");
  DecodeTsv("DB\t1\nk\tv\n", ColumnEncoding::kNone, &m);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m.entries()[0].first, "DB");
  EXPECT_EQ(m.entries()[0].second, "1");
}

// One or two records into an empty map, and a few into a non-empty one: a repeated name keeps
// its first position and takes the last value.
TEST(DecodeTsvTest, SmallInputsAreDeduplicated) {
  RecordMap m;
  DecodeTsv("k\tv\n", ColumnEncoding::kNone, &m);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(*m.Find("k"), "v");
  m.clear();
  DecodeTsv("k\t1\nk\t2\n", ColumnEncoding::kNone, &m);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(*m.Find("k"), "2");
  m.clear();
  DecodeTsv("k\t1\nK\t2\n", ColumnEncoding::kNone, &m);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(*m.Find("k"), "1");
  EXPECT_EQ(*m.Find("K"), "2");
  m.clear();
  m.Set("a", "0");
  DecodeTsv("b\t1\na\t2\n", ColumnEncoding::kNone, &m);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m.entries()[0].first, "a");
  EXPECT_EQ(m.entries()[0].second, "2");
  EXPECT_EQ(*m.Find("b"), "1");
  m.clear();
  DecodeTsv("a\t1\nb\t2\na\t3\n", ColumnEncoding::kNone, &m);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m.entries()[0].second, "3");
  // Entries reused after clear() start empty; an empty name is a name like any other.
  m.clear();
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.Find("a"), nullptr);
  DecodeTsv("\tx\n\ty\n", ColumnEncoding::kNone, &m);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(*m.Find(""), "y");
}

// clear() after a request far larger than usual drops the excess and still empties the map.
TEST(RecordMapTest, ClearAfterLargeMap) {
  RecordMap m;
  for (int i = 0; i < 1000; ++i) m.Append(std::to_string(i), std::string(1000, 'v'));
  m.clear();
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.Find("0"), nullptr);
  DecodeTsv("a\tb\n", ColumnEncoding::kNone, &m);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(*m.Find("a"), "b");
}

TEST(DecodeTsvTest, LargeBulkInputIsDeduplicated) {
  std::string body;
  for (int i = 0; i < 20000; ++i)
    body += "_k" + std::to_string(i % 10000) + "\t" + std::to_string(i) + "\n";
  RecordMap m;
  m.Set("DB", "x");
  m.Set("_k5", "old");
  DecodeTsv(body, ColumnEncoding::kNone, &m);
  ASSERT_EQ(m.size(), 10001u);
  EXPECT_EQ(m.entries()[0].first, "DB");
  EXPECT_EQ(m.entries()[1].first, "_k5");
  EXPECT_EQ(m.entries()[1].second, "10005");
  EXPECT_EQ(m.entries()[2].first, "_k0");
  EXPECT_EQ(*m.Find("_k0"), "10000");
  EXPECT_EQ(*m.Find("_k9999"), "19999");
}

TEST(DecodeFormTest, Rules) {
  RecordMap m;
  DecodeForm("a=1&b=x%20y;c& \t d=4&&e=&=f&g=h=i&j=a+b", &m);
  EXPECT_EQ(*m.Find("a"), "1");
  EXPECT_EQ(*m.Find("b"), "x y");
  EXPECT_EQ(*m.Find("c"), "");
  EXPECT_EQ(*m.Find("d"), "4");
  EXPECT_EQ(*m.Find("e"), "");
  EXPECT_EQ(*m.Find(""), "f");
  EXPECT_EQ(*m.Find("g"), "h=i");
  EXPECT_EQ(*m.Find("j"), "a b");
  EXPECT_EQ(m.size(), 8u);
}

TEST(DecodeFormTest, SpecExampleAndNul) {
  RecordMap m;
  DecodeForm("_a=1&_b=2&SIGNAL=q&SIGNALBROAD&xt=-2000000000", &m);
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(*m.Find("SIGNALBROAD"), "");
  EXPECT_EQ(*m.Find("xt"), "-2000000000");
  RecordMap n;
  DecodeForm(std::string("a=1\0&b=2", 8), &n);
  EXPECT_EQ(n.size(), 1u);
  DecodeForm("a=2&a=3", &n);
  EXPECT_EQ(n.size(), 1u);
  EXPECT_EQ(*n.Find("a"), "3");
}

TEST(ChooseOutputEncodingTest, SpecExamples) {
  RecordMap m;
  EXPECT_EQ(ChooseOutputEncoding(m), ColumnEncoding::kNone);
  m.Set("value", "tokyo");
  EXPECT_EQ(ChooseOutputEncoding(m), ColumnEncoding::kNone);
  RecordMap g;
  g.Set("value", "a\tb");
  g.Set("xt", "1325473505");
  EXPECT_EQ(ChooseOutputEncoding(g), ColumnEncoding::kUrl);
  EXPECT_EQ(Encode(g, ColumnEncoding::kUrl), "value\ta%09b\nxt\t1325473505\n");
  EXPECT_EQ(TsvContentType(ColumnEncoding::kUrl), "text/tab-separated-values; colenc=U");
}

TEST(ChooseOutputEncodingTest, Rule63) {
  // UTF-8 text and spaces do not force encoding by themselves.
  RecordMap utf;
  utf.Set("k", "\xe6\x97\xa5\xe6\x9c\xac \x21");
  EXPECT_EQ(ChooseOutputEncoding(utf), ColumnEncoding::kNone);
  // Binary: blen vs ulen. "k" + 8 bytes >= 0x80 with one control byte:
  // blen = (1*6/4+3) + (9*6/4+3) = 4 + 16 = 20; ulen = 1 + 9*3 = 28 -> B.
  RecordMap bin;
  bin.Set("k", std::string("\x01\x80\x81\x82\x83\x84\x85\x86\x87", 9));
  EXPECT_EQ(ChooseOutputEncoding(bin), ColumnEncoding::kBase64);
  // Mostly plain with one control byte: ulen small -> U.
  RecordMap plain;
  plain.Set("key", std::string("abcdefgh\x7f", 9));
  EXPECT_EQ(ChooseOutputEncoding(plain), ColumnEncoding::kUrl);
  // An empty name adds blen 3, ulen 0; n control bytes add blen n*6/4+3, ulen 3n. B needs
  // blen strictly below ulen, so the tie at n = 4 stays U.
  RecordMap one;
  one.Set("", "\x01");
  EXPECT_EQ(ChooseOutputEncoding(one), ColumnEncoding::kUrl);
  RecordMap two;
  two.Set("", "\x01\x02");  // blen 3 + 6 = 9 > ulen 6 -> U
  EXPECT_EQ(ChooseOutputEncoding(two), ColumnEncoding::kUrl);
  RecordMap three;
  three.Set("", "\x01\x02\x03");  // blen 3 + 7 = 10 > ulen 9 -> U
  EXPECT_EQ(ChooseOutputEncoding(three), ColumnEncoding::kUrl);
  RecordMap four;
  four.Set("", "\x01\x02\x03\x04");  // blen 12 == ulen 12 -> U
  EXPECT_EQ(ChooseOutputEncoding(four), ColumnEncoding::kUrl);
  RecordMap five;
  five.Set("", "\x01\x02\x03\x04\x05");  // blen 13 < ulen 15 -> B
  EXPECT_EQ(ChooseOutputEncoding(five), ColumnEncoding::kBase64);
}

// Every control byte at every position of a name or value forces encoding; the bytes next to
// them (0x20, 0x7E, 0x80, 0xFF, ...) never do. Lengths 0-24 cover the word-at-a-time scan and
// its tail.
TEST(ChooseOutputEncodingTest, ControlBytesAreFoundAtEveryPosition) {
  const std::string controls = std::string("\x00\x01\x1f\x7f", 4);
  const std::string others = "\x20\x21\x7e\x80\x81\xfe\xff\x9f\xa0";
  for (size_t len = 1; len <= 24; ++len) {
    for (size_t pos = 0; pos < len; ++pos) {
      for (char c : controls) {
        std::string s(len, 'a');
        s[pos] = c;
        RecordMap value;
        value.Set("k", s);
        EXPECT_NE(ChooseOutputEncoding(value), ColumnEncoding::kNone)
            << "len " << len << " pos " << pos << " byte " << int(static_cast<uint8_t>(c));
        RecordMap name;
        name.Set(s, "v");
        EXPECT_NE(ChooseOutputEncoding(name), ColumnEncoding::kNone)
            << "name len " << len << " pos " << pos;
      }
      for (char c : others) {
        std::string s(len, c);
        s[pos] = 'z';
        RecordMap value;
        value.Set("k", s);
        EXPECT_EQ(ChooseOutputEncoding(value), ColumnEncoding::kNone)
            << "len " << len << " pos " << pos << " byte " << int(static_cast<uint8_t>(c));
      }
    }
  }
  // A control byte in a later entry counts as one in the first.
  RecordMap later;
  later.Set("a", std::string(40, 'x'));
  later.Set("b", std::string(40, 'y') + "\t");
  EXPECT_EQ(ChooseOutputEncoding(later), ColumnEncoding::kUrl);
}

TEST(ChooseOutputEncodingTest, LengthCapAt255) {
  RecordMap ok;
  ok.Set("k", std::string(255, 'x'));
  EXPECT_EQ(ChooseOutputEncoding(ok), ColumnEncoding::kNone);
  RecordMap longer;
  longer.Set("k", std::string(256, 'x'));
  // blen = 4 + (255*6/4+3 = 385) = 389; ulen = 1 + 255 = 256 -> U.
  EXPECT_EQ(ChooseOutputEncoding(longer), ColumnEncoding::kUrl);
  RecordMap long_name;
  long_name.Set(std::string(256, 'n'), "v");
  EXPECT_EQ(ChooseOutputEncoding(long_name), ColumnEncoding::kUrl);
  // Over 255 bytes forces encoding; only the first 255 bytes are costed (3 each here -> B).
  RecordMap high;
  high.Set("k", std::string(300, '\xff'));
  EXPECT_EQ(ChooseOutputEncoding(high), ColumnEncoding::kBase64);
  RecordMap control_late;
  control_late.Set("k", std::string(255, 'x') + "\x01");  // the \x01 is not costed
  EXPECT_EQ(ChooseOutputEncoding(control_late), ColumnEncoding::kUrl);
}

TEST(ChooseOutputEncodingTest, ControlBytes) {
  for (int c = 0; c < 256; ++c) {
    RecordMap m;
    m.Set("k", std::string(1, static_cast<char>(c)));
    ColumnEncoding e = ChooseOutputEncoding(m);
    bool control = c < 0x20 || c == 0x7f;
    EXPECT_EQ(e != ColumnEncoding::kNone, control) << c;
  }
}

TEST(EncodeTsvTest, SortedByByteOrderAndStable) {
  RecordMap m;
  m.Append("b", "1");
  m.Append("\xe3", "hi");
  m.Append("B", "2");
  m.Append("a", "3");
  m.Append("b", "4");
  m.Append("", "5");
  EXPECT_EQ(Encode(m, ColumnEncoding::kNone), "\t5\nB\t2\na\t3\nb\t1\nb\t4\n\xe3\thi\n");
}

TEST(EncodeTsvTest, Encodings) {
  RecordMap m;
  m.Set("key", "foo");
  m.Set("value", "a\tb");
  EXPECT_EQ(Encode(m, ColumnEncoding::kBase64), "a2V5\tZm9v\ndmFsdWU=\tYQli\n");
  EXPECT_EQ(Encode(m, ColumnEncoding::kUrl), "key\tfoo\nvalue\ta%09b\n");
  EXPECT_EQ(Encode(RecordMap(), ColumnEncoding::kBase64), "");
  std::string out = "prefix";
  EncodeTsv(m, ColumnEncoding::kNone, &out);
  EXPECT_EQ(out, "prefixkey\tfoo\nvalue\ta\tb\n");
}

TEST(EncodeTsvTest, RoundTripAllBytes) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  RecordMap m;
  m.Set(all, all);
  m.Set("x", all.substr(100));
  for (ColumnEncoding enc : {ColumnEncoding::kBase64, ColumnEncoding::kUrl}) {
    RecordMap back;
    DecodeTsv(Encode(m, enc), enc, &back);
    ASSERT_EQ(back.size(), 2u);
    EXPECT_EQ(*back.Find(all), all);
    EXPECT_EQ(*back.Find("x"), all.substr(100));
  }
  EXPECT_EQ(ChooseOutputEncoding(m), ColumnEncoding::kBase64);
}

TEST(TsvContentTypeTest, Strings) {
  EXPECT_EQ(TsvContentType(ColumnEncoding::kNone), "text/tab-separated-values");
  EXPECT_EQ(TsvContentType(ColumnEncoding::kBase64), "text/tab-separated-values; colenc=B");
  EXPECT_EQ(TsvContentType(ColumnEncoding::kUrl), "text/tab-separated-values; colenc=U");
}

}  // namespace
}  // namespace ryoan
