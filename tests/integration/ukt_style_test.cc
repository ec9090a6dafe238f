// The Lua surface the ukt client relies on (spec/lua.md 11), through procedures of our own in
// ukt's style (tests/scripts/ukt_style.lua), against ktserver started as ukt's tests start
// it: `-le -host 127.0.0.1 -port N -scr <script> %`, and once with `* %`. Procedures with
// '_' in their names go over binary play_script (as ukt calls them), the others over HTTP too.
#include <map>

#include "tests/integration/test_util.h"

namespace ryoan::testing {
namespace {

using client::BinaryClient;
using client::BinaryPairs;
using client::BinaryStatus;
using Map = std::map<std::string, std::string>;

const std::string kScript = std::string(RYOAN_SCRIPTS_DIR) + "/ukt_style.lua";

template <typename Derived>
class UktStyleTest : public SharedServerTest<Derived> {
 public:
  static std::vector<std::string> Args() { return {"-le", "-scr", kScript}; }

 protected:
  using Base = SharedServerTest<Derived>;
  void SetUp() override {
    Base::SetUp();
    ASSERT_TRUE(binary_.Open("127.0.0.1", Base::port(), 5.0)) << binary_.last_error();
  }
  void TearDown() override {
    for (size_t i = 0; i < Derived::Dbs().size(); i++) Base::Rpc(std::to_string(i))->Clear();
  }
  // Calls `name` over the binary protocol; the outmap, or {"(failed)": status}.
  Map Play(const std::string& name, const BinaryPairs& in = {}) {
    BinaryPairs out;
    BinaryStatus status = binary_.PlayScript(name, in, false, &out);
    if (status != BinaryStatus::kOk) return {{"(failed)", client::BinaryStatusName(status)}};
    return Map(out.begin(), out.end());
  }
  BinaryStatus Status(const std::string& name, const BinaryPairs& in = {}) {
    BinaryPairs out;
    return binary_.PlayScript(name, in, false, &out);
  }

  BinaryClient binary_;
};

class UktOneDb : public UktStyleTest<UktOneDb> {
 public:
  static std::vector<std::string> Dbs() { return {"%"}; }
};

// A 48-bit hash as sq_add writes it into keys (%016x).
std::string Hex16(const std::string& decimal) {
  char buf[17];
  snprintf(buf, sizeof(buf), "%016llx", std::stoull(decimal));
  return buf;
}

const Map kFailed{{"(failed)", client::BinaryStatusName(BinaryStatus::kServerError)}};

TEST_F(UktOneDb, ErrorCodesOneToElevenFail) {
  EXPECT_EQ(Play("_error_code", {{"code", "0"}}), Map{});
  for (int code = 1; code <= 11; code++) {
    EXPECT_EQ(Play("_error_code", {{"code", std::to_string(code)}}), kFailed) << code;
  }
  EXPECT_EQ(Get("/rpc/play_script?name=_error_code&_code=0").status, 400);  // '_' in the name
  EXPECT_EQ(Play("error_codes"), (Map{{"codes", "0,1,2,3,4,5,6,7,8,9,15"},
                                      {"nop", "nil"},
                                      {"rv", "0,1,2,3,5"},
                                      {"thid", "0"}}));
}

TEST_F(UktOneDb, Hashes) {
  EXPECT_EQ(Play("hset", {{"key", "h"}, {"field", "a"}, {"value", "1"}}), (Map{{"num", "1"}}));
  EXPECT_EQ(Play("hset", {{"key", "h"}, {"field", "a"}, {"value", "2"}}), (Map{{"num", "0"}}));
  EXPECT_EQ(Play("hset", {{"key", "h"}, {"field", "a"}}), kFailed);  // RVEINVALID
  EXPECT_EQ(Play("hmset", {{"key", "h"}, {"b", "x"}, {"c", "y"}}), Map{});
  EXPECT_EQ(Play("hgetall", {{"key", "h"}}), (Map{{"a", "2"}, {"b", "x"}, {"c", "y"}}));
  EXPECT_EQ(Play("hget", {{"key", "h"}, {"field", "b"}}), (Map{{"value", "x"}}));
  EXPECT_EQ(Play("hget", {{"key", "h"}, {"field", "zz"}}), Map{});
  EXPECT_EQ(Play("hdel", {{"key", "h"}, {"field", "b"}}), (Map{{"num", "1"}}));
  EXPECT_EQ(Play("hdel", {{"key", "h"}, {"field", "b"}}), (Map{{"num", "0"}}));
  EXPECT_EQ(Play("hlen", {{"key", "h"}}), (Map{{"num", "2"}}));
  EXPECT_EQ(Play("hlen", {{"key", "none"}}), (Map{{"num", "0"}}));
  // The record is the mapdump of the fields (mapdump order is Lua's; both fields present).
  client::RecordResult stored = Rpc()->Get("h");
  EXPECT_TRUE(stored.value == std::string("\x01\x01"
                                          "a2\x01\x01"
                                          "cy",
                                          8) ||
              stored.value == std::string("\x01\x01"
                                          "cy\x01\x01"
                                          "a2",
                                          8));
  // Names without '_' work over HTTP: inputs with '_', outputs with it added.
  HttpResponse r = Get("/rpc/play_script?name=hgetall&_key=h");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "_a\t2\n_c\ty\n");
  r = Get("/rpc/play_script?name=hset&_key=h&_field=d&_value=4");
  EXPECT_EQ(r.body, "_num\t1\n");
  // Deleting the last fields removes the record (Visitor.REMOVE).
  for (const char* f : {"a", "c", "d"}) Play("hdel", {{"key", "h"}, {"field", f}});
  EXPECT_EQ(Rpc()->Get("h").status, 450);
}

TEST_F(UktOneDb, Lists) {
  EXPECT_EQ(Play("rpush", {{"key", "l"}, {"value", "a"}}), (Map{{"length", "1"}}));
  EXPECT_EQ(Play("rpush", {{"key", "l"}, {"value", "b"}}), (Map{{"length", "2"}}));
  EXPECT_EQ(Play("lpush", {{"key", "l"}, {"value", "z"}}), (Map{{"length", "3"}}));
  EXPECT_EQ(Rpc()->Get("l").value, std::string("\x01z\x01"
                                               "a\x01"
                                               "b",
                                               6));  // arraydump
  EXPECT_EQ(Play("lrange", {{"key", "l"}}), (Map{{"0", "z"}, {"1", "a"}, {"2", "b"}}));
  EXPECT_EQ(Play("lrange", {{"key", "l"}, {"start", "1"}, {"stop", "-1"}}),
            (Map{{"0", "a"}, {"1", "b"}}));
  EXPECT_EQ(Play("lrange", {{"key", "l"}, {"start", "-2"}, {"stop", "1"}}), (Map{{"0", "a"}}));
  EXPECT_EQ(Play("rpoplpush", {{"src", "l"}, {"dest", "m"}}), (Map{{"value", "b"}}));
  EXPECT_EQ(Play("lrange", {{"key", "m"}}), (Map{{"0", "b"}}));
  EXPECT_EQ(Play("lpop", {{"key", "l"}}), (Map{{"value", "z"}}));
  EXPECT_EQ(Play("rpop", {{"key", "l"}}), (Map{{"value", "a"}}));
  EXPECT_EQ(Play("rpop", {{"key", "l"}}), Map{});
  EXPECT_EQ(Play("llen", {{"key", "l"}}), (Map{{"num", "0"}}));
  EXPECT_EQ(Play("llen", {{"key", "m"}}), (Map{{"num", "1"}}));
  EXPECT_EQ(Rpc()->Get("l").status, 450);  // an emptied list is removed
  EXPECT_EQ(Get("/rpc/play_script?name=lrange&_key=m").body, "_0\tb\n");
}

TEST_F(UktOneDb, Sets) {
  EXPECT_EQ(Play("sadd", {{"key", "s"}, {"value", "y"}}), (Map{{"num", "1"}}));
  EXPECT_EQ(Play("sadd", {{"key", "s"}, {"value", "x"}}), (Map{{"num", "1"}}));
  EXPECT_EQ(Play("sadd", {{"key", "s"}, {"value", "x"}}), (Map{{"num", "0"}}));
  EXPECT_EQ(Play("scard", {{"key", "s"}}), (Map{{"num", "2"}}));
  EXPECT_EQ(Play("smembers", {{"key", "s"}}), (Map{{"0", "x"}, {"1", "y"}}));
  EXPECT_EQ(Play("sismember", {{"key", "s"}, {"value", "x"}}), (Map{{"num", "1"}}));
  EXPECT_EQ(Play("sismember", {{"key", "s"}, {"value", "q"}}), (Map{{"num", "0"}}));
  EXPECT_EQ(Play("srem", {{"key", "s"}, {"value", "x"}}), (Map{{"num", "1"}}));
  EXPECT_EQ(Play("srem", {{"key", "s"}, {"value", "x"}}), (Map{{"num", "0"}}));
  EXPECT_EQ(Get("/rpc/play_script?name=smembers&_key=s").body, "_0\ty\n");
  EXPECT_EQ(Play("scard", {{"key", "none"}}), (Map{{"num", "0"}}));
}

TEST_F(UktOneDb, Queues) {
  for (const char* data : {"a", "b", "c"}) Play("queue_add", {{"queue", "q"}, {"data", data}});
  EXPECT_EQ(Play("queue_add", {{"queue", "q"}, {"data", "d"}}), (Map{{"id", "4"}}));
  EXPECT_EQ(Rpc()->Get("q\t000000000004").value, "d");
  EXPECT_EQ(Play("queue_size", {{"queue", "q"}}), (Map{{"num", "4"}}));
  EXPECT_EQ(Play("queue_peek", {{"queue", "q"}, {"n", "2"}}), (Map{{"1", "a"}, {"2", "b"}}));
  EXPECT_EQ(Play("queue_pop", {{"queue", "q"}, {"n", "3"}}),
            (Map{{"1", "a"}, {"2", "b"}, {"3", "c"}}));
  EXPECT_EQ(Play("queue_peek", {{"queue", "q"}}), (Map{{"4", "d"}}));
  EXPECT_EQ(Play("queue_add", {{"queue", "p"}, {"data", "other"}}), (Map{{"id", "1"}}));
  EXPECT_EQ(Play("queue_pop", {{"queue", "q"}, {"n", "5"}}), (Map{{"4", "d"}}));
  EXPECT_EQ(Play("queue_pop", {{"queue", "q"}}), Map{});
  EXPECT_EQ(Play("queue_clear", {{"queue", "p"}}), (Map{{"num", "2"}}));  // item and counter
  EXPECT_EQ(Play("keys"), (Map{{"0", "q"}}));
}

TEST_F(UktOneDb, SortedQueues) {
  for (const auto& [score, data] : {std::pair{"5", "five"}, {"1", "one"}, {"9", "nine"}}) {
    Play("sq_add", {{"queue", "z"}, {"score", score}, {"data", data}});
  }
  Map added = Play("sq_add", {{"queue", "z"}, {"score", "7"}, {"data", "seven"}});
  EXPECT_EQ(added.at("key").substr(0, 23), "z\t00000000000000000007\t");
  EXPECT_EQ(Play("sq_list_desc", {{"queue", "z"}}),
            (Map{{"0", "nine"}, {"1", "seven"}, {"2", "five"}, {"3", "one"}}));
  EXPECT_EQ(Play("sq_pop", {{"queue", "z"}}), (Map{{"data", "one"}, {"score", "1"}}));
  EXPECT_EQ(Play("sq_pop", {{"queue", "z"}, {"max", "1"}}),
            (Map{{"data", "nine"}, {"score", "9"}}));
  EXPECT_EQ(Play("sq_pop", {{"queue", "z"}}), (Map{{"data", "five"}, {"score", "5"}}));
  EXPECT_EQ(Play("sq_pop", {{"queue", "z"}}), (Map{{"data", "seven"}, {"score", "7"}}));
  EXPECT_EQ(Play("sq_pop", {{"queue", "z"}}), Map{});
  EXPECT_EQ(Play("sq_pop", {{"queue", "z"}, {"max", "1"}}), Map{});
}

TEST_F(UktOneDb, Schedules) {
  for (const auto& [at, data] : {std::pair{"300", "c"}, {"100", "a"}, {"200", "b"}}) {
    EXPECT_EQ(Play("schedule_add", {{"at", at}, {"data", data}}), (Map{{"added", "1"}}));
  }
  EXPECT_EQ(Play("schedule_add", {{"at", "100"}, {"data", "a"}}), (Map{{"added", "0"}}));
  EXPECT_EQ(Play("schedule_read", {{"now", "250"}}), (Map{{"0", "a"}, {"1", "b"}}));
  EXPECT_EQ(Play("schedule_read", {{"now", "250"}}), Map{});
  EXPECT_EQ(Play("schedule_read"), (Map{{"0", "c"}}));  // the clock is long past 300
}

TEST_F(UktOneDb, ExpiryHelpers) {
  EXPECT_EQ(Play("set_expire", {{"key", "e1"}, {"value", "v"}, {"xt", "-2000000000"}}), Map{});
  EXPECT_EQ(Play("expire_time", {{"key", "e1"}}), (Map{{"xt", "2000000000"}}));
  EXPECT_EQ(Play("setmany", {{"e2", "v2"}, {"e3", "v3"}}), (Map{{"num", "2"}}));
  EXPECT_EQ(Play("expire_time", {{"key", "e2"}}), (Map{{"xt", "1099511627775"}}));
  EXPECT_EQ(Play("expire_time", {{"key", "none"}}), kFailed);
  // touch: a negative xt is absolute, a relative one counts from now.
  EXPECT_EQ(Play("touch", {{"key", "e2"}, {"xt", "-1900000000"}}), (Map{{"found", "true"}}));
  EXPECT_EQ(Play("expire_time", {{"key", "e2"}}), (Map{{"xt", "1900000000"}}));
  EXPECT_EQ(Play("touch", {{"key", "none"}, {"xt", "10"}}), (Map{{"found", "false"}}));
  EXPECT_EQ(Play("touch_bulk", {{"e1", ""}, {"e3", ""}, {"none", ""}, {"xt", "-1800000000"}}),
            (Map{{"e1", "touched"}, {"e3", "touched"}}));
  EXPECT_EQ(Play("expire_report", {{"prefix", "e"}}),
            (Map{{"e1", "1800000000"}, {"e2", "1900000000"}, {"e3", "1800000000"}}));
  // touch_bulk_relative moves each expiry from where it is, returning -new_xt.
  EXPECT_EQ(Play("touch_bulk_relative", {{"e1", ""}, {"e2", ""}, {"xt", "100"}}),
            (Map{{"e1", "1800000100"}, {"e2", "1900000100"}}));
  EXPECT_EQ(Play("expire_report", {{"prefix", "e"}}),
            (Map{{"e1", "1800000100"}, {"e2", "1900000100"}, {"e3", "1800000000"}}));
  // Keys in an arraydump: "e1", "e3".
  EXPECT_EQ(Play("touch_bulk_relative", {{"keys", std::string("\x02"
                                                              "e1\x02"
                                                              "e3",
                                                              6)},
                                         {"xt", "-50"}}),
            (Map{{"e1", "1800000050"}, {"e3", "1799999950"}}));
  // A relative touch, read back through RPC's absolute xt.
  Play("touch", {{"key", "e3"}, {"xt", "1000"}});
  int64_t xt = std::stoll(Play("expire_time", {{"key", "e3"}}).at("xt"));
  EXPECT_NEAR(static_cast<double>(xt), static_cast<double>(time(nullptr) + 1000), 5);
}

TEST_F(UktOneDb, RecordsHashesAndCursors) {
  EXPECT_EQ(Play("setmany", {{"b", "2"}, {"a", "1"}, {"c", "3"}}), (Map{{"num", "3"}}));
  EXPECT_EQ(Play("dump_all"), (Map{{"a", "1"}, {"b", "2"}, {"c", "3"}}));
  EXPECT_EQ(Play("addone", {{"key", "a"}, {"value", "x"}}), kFailed);  // DUPREC
  EXPECT_EQ(Play("addone", {{"key", "d"}, {"value", "4"}}), Map{});
  EXPECT_EQ(Play("removeone", {{"key", "nope"}}), kFailed);  // NOREC
  EXPECT_EQ(Play("removemany", {{"a", ""}, {"b", ""}, {"nope", ""}}), (Map{{"num", "2"}}));
  EXPECT_EQ(Get("/rpc/play_script?name=keys").body, "_0\tc\n_1\td\n");
  EXPECT_EQ(Play("hash", {{"value", "hello"}}),
            (Map{{"fnv", "117791150636571"}, {"murmur", "254910939360214"}}));
  EXPECT_EQ(Get("/rpc/play_script?name=hash&_value=").body,
            "_fnv\t172505283306277\n_murmur\t33346480082061\n");
  EXPECT_EQ(Play("hash", {{"value", "abcdefghijklmnopqrstuvwxyz"}}).at("murmur"),
            "261920343064416");
}

// `* %`: kt.db is the cache hash; _select_db picks by inmap.db.
class UktTwoDbs : public UktStyleTest<UktTwoDbs> {
 public:
  static std::vector<std::string> Dbs() { return {"*", "%"}; }
};

TEST_F(UktTwoDbs, SelectDbPicksByIndex) {
  EXPECT_EQ(Play("setmany", {{"k", "zero"}}), (Map{{"num", "1"}}));
  EXPECT_EQ(Play("setmany", {{"k", "one"}, {"db", "1"}}), (Map{{"num", "1"}}));
  EXPECT_EQ(Rpc("0")->Get("k").value, "zero");
  EXPECT_EQ(Rpc("1")->Get("k").value, "one");
  EXPECT_EQ(Rpc("1")->Get("db").status, 450);  // _select_db took db out of inmap
  EXPECT_EQ(Play("dump_all", {{"db", "0"}}), (Map{{"k", "zero"}}));
  // The global db stays selected between calls of one state; ukt always passes db anyway.
  EXPECT_EQ(Play("queue_add", {{"queue", "q"}, {"data", "x"}, {"db", "1"}}), (Map{{"id", "1"}}));
  EXPECT_EQ(Play("queue_pop", {{"queue", "q"}, {"db", "1"}}), (Map{{"1", "x"}}));
  EXPECT_EQ(Play("sq_add", {{"queue", "z"}, {"score", "1"}, {"data", "d"}, {"db", "1"}}).size(),
            1u);
  EXPECT_EQ(Play("sq_list_desc", {{"queue", "z"}, {"db", "1"}}), (Map{{"0", "d"}}));
  // A hash database cannot walk backwards (jump_back is NOIMPL): the list stays empty.
  Play("sq_add", {{"queue", "z"}, {"score", "1"}, {"data", "d"}, {"db", "0"}});
  EXPECT_EQ(Play("sq_list_desc", {{"queue", "z"}, {"db", "0"}}), Map{});
  EXPECT_EQ(Get("/rpc/play_script?name=keys&_db=1&_prefix=k").body, "_0\tk\n");
  // The tabs in a value make the reply URL-encoded (spec/http-rpc.md).
  EXPECT_EQ(Get("/rpc/play_script?name=keys&_db=0").body,
            "_0\tk\n_1\tz%0900000000000000000001%09" +
                Hex16(Play("hash", {{"value", "d"}}).at("murmur")) + "\n");
}

}  // namespace
}  // namespace ryoan::testing
