// The RESTful interface (spec/rest.md). Databases: 0 ':' 1 '+' 2 '*' 3 '%'.
#include "tests/integration/test_util.h"

namespace ryoan::testing {
namespace {

class RestInterface : public SharedServerTest<RestInterface> {};

TEST_F(RestInterface, PutStoresTheBodyAndGetReturnsIt) {
  auto rest = Rest();
  HttpResponse put = rest->Put("japan", "tokyo");
  EXPECT_EQ(put.status, 201);
  HttpResponse get = rest->Get("japan");
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, "tokyo");
  // The same record through RPC.
  ExpectRpcReply(Get("/rpc/get?key=japan"), 200, kTsv, "value\ttokyo\n");
}

TEST_F(RestInterface, LocationEchoesTheRequestTargetVerbatim) {
  HttpResponse put = Exchange(BodyRequest("PUT", "/1/loc%20k?x=1&y", "", "v"));
  EXPECT_EQ(put.status, 201);
  ASSERT_TRUE(put.HasHeader("Location"));
  EXPECT_EQ(*put.FindHeader("Location"),
            "http://localhost:" + std::to_string(port()) + "/1/loc%20k?x=1&y");
  ExpectRpcReply(Get("/rpc/get?DB=1&key=loc+k"), 200, kTsv, "value\tv\n");
}

TEST_F(RestInterface, PathSelectsDatabaseByIndexOrName) {
  EXPECT_EQ(Exchange(BodyRequest("PUT", "/1/tree_key", "", "t")).status, 201);
  EXPECT_EQ(Get("/%2B/tree_key").body, "t");
  EXPECT_EQ(Get("/1x/tree_key").body, "t");
  EXPECT_EQ(Get("/tree_key").status, 404);
  EXPECT_EQ(Get("/0/tree_key").status, 404);
  EXPECT_EQ(Exchange(BodyRequest("PUT", "/%25/grass_key", "", "g")).status, 201);
  ExpectRpcReply(Get("/rpc/get?DB=3&key=grass_key"), 200, kTsv, "value\tg\n");
  EXPECT_EQ(Exchange(BodyRequest("PUT", "/:/stash_key", "", "s")).status, 201);
  EXPECT_EQ(Get("/stash_key").body, "s");
}

TEST_F(RestInterface, FurtherSlashesBelongToTheKeyAndADoubleSlashIsDropped) {
  EXPECT_EQ(Exchange(BodyRequest("PUT", "/1/a/b", "", "ab")).status, 201);
  ExpectRpcReply(Get("/rpc/get?DB=1&key=a%2Fb"), 200, kTsv, "value\tab\n");
  EXPECT_EQ(Exchange(BodyRequest("PUT", "/1//dbl", "", "d")).status, 201);
  ExpectRpcReply(Get("/rpc/get?DB=1&key=dbl"), 200, kTsv, "value\td\n");
  EXPECT_EQ(Exchange(BodyRequest("PUT", "/sl%2Fash", "", "s")).status, 201);
  ExpectRpcReply(Get("/rpc/get?key=sl%2Fash"), 200, kTsv, "value\ts\n");
}

TEST_F(RestInterface, UnknownDatabaseIs400WithPlainBodyAndNoContentType) {
  for (const char* method : {"GET", "HEAD", "PUT", "DELETE"}) {
    HttpConnection c = Connect();
    ASSERT_TRUE(c.Send(BodyRequest(method, "/nosuch/k", "", "")));
    HttpResponse r;
    ASSERT_EQ(c.ReadResponse(&r, std::string_view(method) == "HEAD"), ReadResult::kOk);
    EXPECT_EQ(r.status, 400) << method;
    EXPECT_FALSE(r.HasHeader("Content-Type")) << method;
    if (std::string_view(method) != "HEAD") {
      EXPECT_EQ(r.body, "no such database\n");
    }
  }
  EXPECT_EQ(Get("/9/k").status, 400);
}

TEST_F(RestInterface, EmptyKeyIsLegal) {
  EXPECT_EQ(Exchange(BodyRequest("PUT", "/2/", "", "empty-key")).status, 201);
  EXPECT_EQ(Get("/2/").body, "empty-key");
  ExpectRpcReply(Get("/rpc/get?DB=2&key="), 200, kTsv, "value\tempty-key\n");
}

TEST_F(RestInterface, QueryStringIsIgnored) {
  EXPECT_EQ(Exchange(BodyRequest("PUT", "/qkey?value=zzz", "", "body")).status, 201);
  EXPECT_EQ(Get("/qkey?x=1").body, "body");
}

TEST_F(RestInterface, RpcWithoutTrailingSlashIsARestKey) {
  EXPECT_EQ(Exchange(BodyRequest("PUT", "/rpc", "", "not rpc")).status, 201);
  EXPECT_EQ(Get("/rpc").body, "not rpc");
  EXPECT_EQ(Exchange(BodyRequest("PUT", "/0/rpc/void", "", "key")).status, 201);
  ExpectRpcReply(Get("/rpc/get?key=rpc%2Fvoid"), 200, kTsv, "value\tkey\n");
}

TEST_F(RestInterface, PutWithoutBodyStoresEmptyValue) {
  HttpResponse put = Exchange("PUT /nobody HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(put.status, 201);
  HttpResponse get = Get("/nobody");
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, "");
  EXPECT_EQ(*get.FindHeader("Content-Length"), "0");
}

TEST_F(RestInterface, PutModeAddFailsOnExistingRecordWith450) {
  auto rest = Rest();
  EXPECT_EQ(rest->Put("madd", "1", "", "add").status, 201);
  HttpResponse r = rest->Put("madd", "2", "", "ADD");
  EXPECT_EQ(r.status, 450);
  EXPECT_EQ(r.body, "");
  ASSERT_TRUE(r.HasHeader("X-Kt-Error"));
  EXPECT_EQ(*r.FindHeader("X-Kt-Error"), "DB: 6: record duplication: record duplication");
  EXPECT_EQ(rest->Get("madd").body, "1");
}

TEST_F(RestInterface, PutModeReplaceFailsOnMissingRecordWith450) {
  auto rest = Rest();
  HttpResponse r = rest->Put("mrep", "1", "", "replace");
  EXPECT_EQ(r.status, 450);
  ASSERT_TRUE(r.HasHeader("X-Kt-Error"));
  EXPECT_EQ(*r.FindHeader("X-Kt-Error"), "DB: 7: no record: no record");
  EXPECT_EQ(rest->Get("mrep").status, 404);
  EXPECT_EQ(rest->Put("mrep", "0").status, 201);
  EXPECT_EQ(rest->Put("mrep", "2", "", "Replace").status, 201);
  EXPECT_EQ(rest->Get("mrep").body, "2");
  EXPECT_EQ(rest->Put("mrep", "3", "", "whatever").status, 201);
  EXPECT_EQ(rest->Get("mrep").body, "3");
}

TEST_F(RestInterface, DeleteMissingIs404WithError) {
  HttpResponse r = Exchange(GetRequest("/del_missing", {}, "DELETE"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(*r.FindHeader("Content-Length"), "0");
  EXPECT_EQ(*r.FindHeader("X-Kt-Error"), "DB: 7: no record: no record");
}

TEST_F(RestInterface, HeadOfMissingRecordIs404WithZeroLength) {
  HttpConnection c = Connect();
  ASSERT_TRUE(c.Send(GetRequest("/head_missing", {}, "HEAD")));
  HttpResponse r;
  ASSERT_EQ(c.ReadResponse(&r, true), ReadResult::kOk);
  EXPECT_EQ(r.status, 404);
  ASSERT_TRUE(r.HasHeader("Content-Length"));
  EXPECT_EQ(*r.FindHeader("Content-Length"), "0");
  EXPECT_EQ(*r.FindHeader("X-Kt-Error"), "DB: 7: no record: no record");
  EXPECT_EQ(c.ReadSome(0.2), "") << "HEAD must not carry a body";
}

TEST_F(RestInterface, PostOnANonRpcPathIs501WithEmptyBody) {
  HttpResponse r = Exchange(BodyRequest("POST", "/somekey", "", "v"));
  EXPECT_EQ(r.status, 501);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(*r.FindHeader("Content-Length"), "0");
  EXPECT_EQ(Get("/somekey").status, 404);
}

TEST_F(RestInterface, UnknownMethodOnRestPathIs501) {
  HttpResponse r = Exchange("FOO /somekey HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r.status, 501);
  EXPECT_EQ(r.body, "");
}

TEST_F(RestInterface, PercentEncodedBinaryKeysAndValuesRoundTrip) {
  auto rest = Rest();
  std::string key = std::string("k\t\n\r\0 /\x80\xFF", 9);
  std::string value = AllBytes();
  EXPECT_EQ(RestClient::Path(key), "/k%09%0a%0d%00%20%2f%80%ff");
  EXPECT_EQ(rest->Put(key, value).status, 201);
  HttpResponse r = rest->Get(key);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body == value);
  // The same record via RPC with Base64 columns.
  auto db = Rpc();
  EXPECT_TRUE(db->Get(key).value == value);
  EXPECT_EQ(Get("/%E5%B9%B9").status, 404);
  EXPECT_EQ(rest->Put("\xE5\xB9\xB9", "kan").status, 201);
  EXPECT_EQ(Get("/%E5%B9%B9").body, "kan");
}

TEST_F(RestInterface, OneMebibyteValueRoundTripsAndHeadReportsItsSize) {
  auto rest = Rest();
  std::string value(1 << 20, '\0');
  for (size_t i = 0; i < value.size(); ++i) value[i] = static_cast<char>(i * 31 + 7);
  EXPECT_EQ(rest->Put("big", value, "3").status, 201);
  HttpResponse r = rest->Get("big", "3");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), value.size());
  EXPECT_TRUE(r.body == value);
  HttpResponse h = rest->Head("big", "3");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(*h.FindHeader("Content-Length"), "1048576");
  EXPECT_EQ(h.body, "");
}

TEST_F(RestInterface, ChunkedPutBodyIsTheValue) {
  HttpResponse r = Exchange(
      "PUT /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n5;ext=1\r\ndefgh\r\n0\r\n\r\n");
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(Get("/chunked").body, "abcdefgh");
}

TEST_F(RestInterface, RestCountersFeedReport) {
  auto db = Rpc();
  RpcResult before = db->Report();
  auto rest = Rest();
  EXPECT_EQ(rest->Put("cnt", "v").status, 201);
  EXPECT_EQ(rest->Get("cnt").status, 200);
  EXPECT_EQ(rest->Delete("cnt").status, 204);
  EXPECT_EQ(rest->Delete("cnt").status, 404);
  RpcResult after = db->Report();
  EXPECT_EQ(std::stoll(*after.Find("cnt_set")), std::stoll(*before.Find("cnt_set")) + 1);
  EXPECT_EQ(std::stoll(*after.Find("cnt_get")), std::stoll(*before.Find("cnt_get")) + 1);
  EXPECT_EQ(std::stoll(*after.Find("cnt_remove")), std::stoll(*before.Find("cnt_remove")) + 2);
  EXPECT_EQ(std::stoll(*after.Find("cnt_remove_misses")),
            std::stoll(*before.Find("cnt_remove_misses")) + 1);
}

TEST_F(RestInterface, UnknownMethodBodyIsConsumedSoTheConnectionGoesOn) {
  HttpConnection c = Connect();
  ASSERT_TRUE(c.Send("PATCH /patched HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello" +
                     GetRequest("/rpc/echo?next=1")));
  HttpResponse r;
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  EXPECT_EQ(r.status, 501);
  EXPECT_EQ(r.body, "");
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  ExpectRpcReply(r, 200, kTsv, "next\t1\n");
  EXPECT_EQ(Get("/patched").status, 404);
}

TEST_F(RestInterface, PutModeAddOverAnExpiredRecordSucceeds) {
  ASSERT_EQ(Exchange(BodyRequest("PUT", "/addexp", "", "old", "X-Kt-Xt: 1000\r\n")).status, 201);
  EXPECT_EQ(Exchange(BodyRequest("PUT", "/addexp", "", "new", "X-Kt-Mode: add\r\n")).status, 201);
  EXPECT_EQ(Get("/addexp").body, "new");
}

TEST_F(RestInterface, HeadOfEmptyValueHasContentLengthZero) {
  ASSERT_EQ(Exchange(BodyRequest("PUT", "/emptyval", "", "")).status, 201);
  HttpResponse h = Exchange(GetRequest("/emptyval", {}, "HEAD"), true);
  EXPECT_EQ(h.status, 200);
  ASSERT_TRUE(h.HasHeader("Content-Length"));
  EXPECT_EQ(*h.FindHeader("Content-Length"), "0");
}

}  // namespace
}  // namespace ryoan::testing
