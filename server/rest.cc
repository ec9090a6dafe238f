#include "server/rest.h"

#include <cctype>
#include <charconv>

#include "common/codec.h"
#include "common/http_date.h"
#include "server/log.h"

namespace ryoan::server {
namespace {

using storage::Status;

void Error(HttpReply* reply, int status, const Status& s) {
  reply->status = status;
  reply->AddHeader("X-Kt-Error") = s.ToString();
  if (status == 500) LogDatabaseError(s);
}

void AppendNumber(std::string* out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  (void)ec;
  out->append(buf, static_cast<size_t>(end - buf));
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string& HttpReply::AddHeader(std::string_view name) {
  // Handlers add at most kMaxHeaders; a further one overwrites the last rather than overflow.
  if (header_count == kMaxHeaders) --header_count;
  header_names[header_count] = name;
  std::string& value = header_values[header_count++];
  value.clear();
  return value;
}

void HttpReply::Clear() {
  constexpr size_t kKeep = 64 * 1024;
  status = 200;
  if (body.capacity() > kKeep) {
    std::string().swap(body);
  } else {
    body.clear();
  }
  header_count = 0;
}

void HandleRest(Service& service, const HttpRequest& request, std::string* scratch,
                HttpReply* reply) {
  // Path -> database expression and key (spec/rest.md 1).
  std::string_view rest = request.path;
  if (!rest.empty() && rest[0] == '/') rest.remove_prefix(1);
  std::string db_expression;
  std::string_view raw_key = rest;
  size_t slash = rest.find('/');
  if (slash != std::string_view::npos) {
    db_expression = UrlDecode(rest.substr(0, slash));
    raw_key = rest.substr(slash + 1);
    if (!raw_key.empty() && raw_key[0] == '/') raw_key.remove_prefix(1);
  }
  storage::DB* db = service.ResolveDb(db_expression);
  if (db == nullptr) {
    reply->status = 400;
    reply->body = "no such database\n";
    return;
  }
  std::string& key = *scratch;
  key.clear();
  AppendUrlDecode(raw_key, &key);
  Counters& c = service.counters();

  switch (request.method) {
    case HttpMethod::kGet:
    case HttpMethod::kHead: {
      c.get++;
      // Read straight into the reply's body (a HEAD drops it again).
      int64_t xt = storage::kXtMax;
      Status s = db->Get(key, &reply->body, &xt);
      if (!s.ok()) {
        reply->body.clear();
        c.get_misses++;
        Error(reply, s.code() == storage::Code::kNoRec ? 404 : 500, s);
        if (request.method == HttpMethod::kHead) reply->AddHeader("Content-Length") = "0";
        return;
      }
      reply->status = 200;
      if (xt < storage::kXtMax) {
        std::string& date = reply->AddHeader("X-Kt-Xt");
        date.resize(kHttpDateLength);
        date.resize(FormatHttpDate(xt, date.data()));
      }
      if (request.method == HttpMethod::kHead) {
        AppendNumber(&reply->AddHeader("Content-Length"), reply->body.size());
        reply->body.clear();
      }
      return;
    }
    case HttpMethod::kPut: {
      c.set++;
      int64_t xt_arg = storage::kNoXt;
      if (const std::string_view* xt_header = request.Header("x-kt-xt")) {
        std::optional<int64_t> t = ParseHttpDate(*xt_header);
        if (t && *t > 0 && *t < storage::kXtMax) xt_arg = -*t;
      }
      const std::string_view* mode = request.Header("x-kt-mode");
      Status s;
      if (mode != nullptr && EqualsIgnoreCase(*mode, "add")) {
        s = db->Add(key, request.body, xt_arg);
      } else if (mode != nullptr && EqualsIgnoreCase(*mode, "replace")) {
        s = db->Replace(key, request.body, xt_arg);
      } else {
        s = db->Set(key, request.body, xt_arg);
      }
      if (!s.ok()) {
        c.set_misses++;
        bool logical = s.code() == storage::Code::kDupRec || s.code() == storage::Code::kNoRec;
        Error(reply, logical ? 450 : 500, s);
        return;
      }
      reply->status = 201;
      std::string& location = reply->AddHeader("Location");
      location.append("http://localhost:");
      AppendNumber(&location, static_cast<uint64_t>(service.port()));
      location.append(request.target);
      return;
    }
    case HttpMethod::kDelete: {
      c.remove++;
      Status s = db->Remove(key);
      if (!s.ok()) {
        c.remove_misses++;
        Error(reply, s.code() == storage::Code::kNoRec ? 404 : 500, s);
        return;
      }
      reply->status = 204;
      return;
    }
    default:
      reply->status = 501;
      return;
  }
}

}  // namespace ryoan::server
