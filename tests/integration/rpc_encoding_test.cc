// RPC input forms (spec/http-rpc.md 4, 5), output encodings (6.2, 6.3) and binary safety.
// Expected encoded bodies were worked out by hand from the 6.3 algorithm.
#include "tests/integration/test_util.h"

namespace ryoan::testing {
namespace {

class RpcEncoding : public SharedServerTest<RpcEncoding> {};

// ---- input forms ---------------------------------------------------------------------------

TEST_F(RpcEncoding, QueryStringPairsSplitAtAmpersandOrSemicolon) {
  ExpectRpcReply(Get("/rpc/echo?a=1;b=2&c&&d=x=y"), 200, kTsv, "a\t1\nb\t2\nc\t\nd\tx=y\n");
}

TEST_F(RpcEncoding, QueryStringIsUrlDecodedWithPlusAsSpace) {
  ExpectRpcReply(Get("/rpc/echo?a=x+y%21&%62=%5a%5A"), 200, kTsv, "a\tx y!\nb\tZZ\n");
}

TEST_F(RpcEncoding, LaterQueryEntryReplacesEarlier) {
  ExpectRpcReply(Get("/rpc/echo?a=1&a=2"), 200, kTsv, "a\t2\n");
}

TEST_F(RpcEncoding, FormBodyWithSemicolonsPlusAndLeadingBlanks) {
  ExpectRpcReply(Exchange(PostForm("/rpc/echo", "a=x+y;  b=%41%2b&&c")), 200, kTsv,
                 "a\tx y\nb\tA+\nc\t\n");
}

TEST_F(RpcEncoding, FormBodyEndsAtFirstNul) {
  ExpectRpcReply(Exchange(PostForm("/rpc/echo", std::string("a=1&b=2\0&c=3", 13))), 200, kTsv,
                 "a\t1\nb\t2\n");
}

TEST_F(RpcEncoding, FormContentTypeIsMatchedCaseInsensitivelyAsPrefix) {
  ExpectRpcReply(Exchange(BodyRequest("POST", "/rpc/echo",
                                      "Application/X-WWW-Form-Urlencoded; charset=UTF-8", "a=1")),
                 200, kTsv, "a\t1\n");
}

TEST_F(RpcEncoding, BodyWithoutOrWithOtherContentTypeIsIgnored) {
  ExpectRpcReply(Exchange(BodyRequest("POST", "/rpc/echo", "", "a=1")), 200, kTsv, "");
  ExpectRpcReply(Exchange(BodyRequest("POST", "/rpc/echo", "text/plain", "a\t1\n")), 200, kTsv, "");
}

TEST_F(RpcEncoding, RawTsvKeepsFurtherTabsInTheValue) {
  // The value "v<TAB>with tab" forces encoding; U wins (blen 22 >= ulen 15).
  ExpectRpcReply(Exchange(PostTsv("/rpc/echo", "k\tv\twith tab\n")), 200, kTsvU,
                 "k\tv%09with%20tab\n");
}

TEST_F(RpcEncoding, RawTsvDropsOneTrailingCrAndRecordsWithoutTab) {
  ExpectRpcReply(Exchange(PostTsv("/rpc/echo", "junk\na\t1\r\n\nb\t2\r\nc\t3")), 200, kTsv,
                 "a\t1\nb\t2\nc\t3\n");
}

TEST_F(RpcEncoding, TsvColencBDecodesNamesAndValues) {
  // "a" -> "YQ==", "x y" -> "eCB5".
  ExpectRpcReply(Exchange(PostTsv("/rpc/echo", "YQ==\teCB5\n", kTsvB)), 200, kTsv, "a\tx y\n");
}

TEST_F(RpcEncoding, TsvColencQDecodesQuotedPrintable) {
  // "x=3Dy=09z" is "x=y<TAB>z"; the echo needs encoding and U wins (14 >= 10).
  ExpectRpcReply(
      Exchange(PostTsv("/rpc/echo", "a\tx=3Dy=09z\n", "text/tab-separated-values; colenc=Q")), 200,
      kTsvU, "a\tx%3dy%09z\n");
}

TEST_F(RpcEncoding, TsvColencUDecodesUrlEncoding) {
  ExpectRpcReply(Exchange(PostTsv("/rpc/echo", "%61\tx%20y\n", kTsvU)), 200, kTsv, "a\tx y\n");
}

TEST_F(RpcEncoding, ColencAttributeIsCaseInsensitiveAndMayBeQuoted) {
  ExpectRpcReply(
      Exchange(PostTsv("/rpc/echo", "YQ==\tYg==\n", "Text/Tab-Separated-Values; COLENC=\"b\"")),
      200, kTsv, "a\tb\n");
  ExpectRpcReply(Exchange(PostTsv("/rpc/echo", "%61\t%62\n", "text/tab-separated-values;colenc=u")),
                 200, kTsv, "a\tb\n");
}

TEST_F(RpcEncoding, QueryAndTsvBodyMixWithTheBodyWinning) {
  ExpectRpcReply(Exchange(PostTsv("/rpc/echo?a=1&b=2", "b\t3\n")), 200, kTsv, "a\t1\nb\t3\n");
  ExpectRpcReply(Exchange(PostForm("/rpc/echo?a=1&b=2", "a=9")), 200, kTsv, "a\t9\nb\t2\n");
}

TEST_F(RpcEncoding, QueryDbWithTsvBodySelectsTheDatabase) {
  ExpectRpcReply(Exchange(PostTsv("/rpc/set?DB=1", "key\tmixed\nvalue\tv\n")), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?DB=1&key=mixed"), 200, kTsv, "value\tv\n");
  ExpectRpcError(Get("/rpc/get?DB=0&key=mixed"), 450, "DB: 7: no record: no record");
}

TEST_F(RpcEncoding, ProcedureNameIsUrlDecoded) {
  ExpectRpcReply(Get("/rpc/%65cho?a=1"), 200, kTsv, "a\t1\n");
}

// ---- output encodings ------------------------------------------------------------------------

TEST_F(RpcEncoding, PlainTextStaysRaw) {
  ExpectRpcReply(Get("/rpc/set?key=enc1&value=x+y%21"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?key=enc1"), 200, kTsv, "value\tx y!\n");
}

TEST_F(RpcEncoding, Utf8TextStaysRaw) {
  ExpectRpcReply(Get("/rpc/set?key=enc2&value=%C3%A9%E6%97%A5%E6%9C%AC"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?key=enc2"), 200, kTsv, "value\t\xC3\xA9\xE6\x97\xA5\xE6\x9C\xAC\n");
}

TEST_F(RpcEncoding, AValueLongerThan255BytesForcesEncoding) {
  std::string v(300, 'x');
  ExpectRpcReply(Get("/rpc/set?key=enc3&value=" + v), 200, kTsv, "");
  // blen 10 + 385 >= ulen 5 + 255: U, and 'x' needs no escaping.
  ExpectRpcReply(Get("/rpc/get?key=enc3"), 200, kTsvU, "value\t" + v + "\n");
}

TEST_F(RpcEncoding, NulTabLfCrForceEncoding) {
  ExpectRpcReply(Get("/rpc/set?key=enc4&value=a%00b"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?key=enc4"), 200, kTsvU, "value\ta%00b\n");
  ExpectRpcReply(Get("/rpc/set?key=enc5&value=line1%0Aline2"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?key=enc5"), 200, kTsvU, "value\tline1%0aline2\n");
  ExpectRpcReply(Get("/rpc/set?key=enc6&value=a%0Db"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?key=enc6"), 200, kTsvU, "value\ta%0db\n");
  ExpectRpcReply(Get("/rpc/set?key=enc7&value=a%09b"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?key=enc7"), 200, kTsvU, "value\ta%09b\n");
  ExpectRpcReply(Get("/rpc/set?key=enc7b&value=a%7Fb"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?key=enc7b"), 200, kTsvU, "value\ta%7fb\n");
}

TEST_F(RpcEncoding, MostlyBinaryValueIsSentAsBase64) {
  ExpectRpcReply(Get("/rpc/set?key=enc8&value=%00%01%02%03%FF%FE"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?key=enc8"), 200, kTsvB, "dmFsdWU=\tAAECA//+\n");
}

TEST_F(RpcEncoding, EncodingAppliesToNamesToo) {
  ExpectRpcReply(Exchange(PostTsv("/rpc/echo", "k%091\tv\n", kTsvU)), 200, kTsvU, "k%091\tv\n");
}

TEST_F(RpcEncoding, ErrorRepliesAreEncodedByTheSameRule) {
  // The error message carries the procedure name, which may contain a control byte.
  ExpectRpcReply(Get("/rpc/no%01pe"), 501, kTsvU, "ERROR\tnot%20implemented%3a%20no%01pe\n");
}

// ---- binary safety -------------------------------------------------------------------------

TEST_F(RpcEncoding, BinaryKeysAndValuesRoundTripThroughTheClient) {
  auto db = Rpc();
  std::string key = std::string("k\t\n\r\0\x80\xFF ", 9);
  std::string value = AllBytes() + AllBytes();
  ASSERT_EQ(db->Set(key, value).status, 200);
  client::RecordResult r = db->Get(key);
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.value, value);
  EXPECT_EQ(db->Check(key).value, 512);
  // The raw key "k" must not have been touched.
  EXPECT_EQ(db->Get("k").status, 450);
  // Found by match_prefix with the NUL-free part of the key.
  client::KeysResult m = db->MatchPrefix(std::string("k\t\n\r", 4));
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.keys, std::vector<std::string>{key});
}

TEST_F(RpcEncoding, BinaryBulkRecordsRoundTrip) {
  auto db = Rpc("1");
  std::map<std::string, std::string> recs = {
      {std::string("\0a", 2), "\t"}, {"\xE5\xB9\xB9", std::string("\0\0", 2)}, {"\n", AllBytes()}};
  ASSERT_EQ(db->SetBulk(recs).value, 3);
  client::BulkResult got = db->GetBulk({std::string("\0a", 2), "\xE5\xB9\xB9", "\n", "zz"});
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.num, 3);
  EXPECT_EQ(got.records, recs);
}

TEST_F(RpcEncoding, OneMebibyteValueRoundTrips) {
  auto db = Rpc();
  std::string value;
  value.reserve(1 << 20);
  for (int i = 0; i < (1 << 20); ++i) value.push_back(static_cast<char>((i * 7 + i / 256) & 0xFF));
  ASSERT_EQ(db->Set("big", value).status, 200);
  client::RecordResult r = db->Get("big");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.value.size(), value.size());
  EXPECT_TRUE(r.value == value);
  EXPECT_EQ(db->Check("big").value, 1 << 20);
}

TEST_F(RpcEncoding, ClientSendsTsvPostWithKtContentType) {
  // The client's own request must be understood by the server whatever the encoding.
  auto db = Rpc();
  RecordMap in;
  in.Set("plain", "text");
  RpcResult r = db->Echo(in);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(*db->last_response().FindHeader("Content-Type"), kTsv);
  EXPECT_EQ(db->last_response().body, "plain\ttext\n");
  in.Set("bin", std::string("\0\x01", 2));
  r = db->Echo(in);
  ASSERT_EQ(r.status, 200);
  ASSERT_NE(r.Find("bin"), nullptr);
  EXPECT_EQ(*r.Find("bin"), std::string("\0\x01", 2));
  EXPECT_EQ(*r.Find("plain"), "text");
}

}  // namespace
}  // namespace ryoan::testing
