#include "client/rest_client.h"

#include "common/codec.h"

namespace ryoan::client {

bool RestClient::Open(const std::string& host, int port, double timeout) {
  return session_.Open(host, port, timeout);
}

void RestClient::Close() { session_.Close(); }

std::string RestClient::Path(std::string_view key, std::string_view db) {
  std::string path = "/";
  if (!db.empty()) path.append(UrlEncode(db)).append("/");
  path.append(UrlEncode(key));
  return path;
}

HttpResponse RestClient::Request(std::string_view method, std::string_view target,
                                 const std::vector<HttpResponse::Header>& headers,
                                 std::string_view body) {
  HttpResponse r;
  if (session_.Exchange(method, target, headers, body, &r) != ReadResult::kOk) r.status = -1;
  return r;
}

HttpResponse RestClient::Get(std::string_view key, std::string_view db) {
  return Request("GET", Path(key, db));
}

HttpResponse RestClient::Head(std::string_view key, std::string_view db) {
  return Request("HEAD", Path(key, db));
}

HttpResponse RestClient::Put(std::string_view key, std::string_view value, std::string_view db,
                             std::string_view mode, std::optional<std::string> xt) {
  std::vector<HttpResponse::Header> headers;
  if (!mode.empty()) headers.emplace_back("X-Kt-Mode", std::string(mode));
  if (xt) headers.emplace_back("X-Kt-Xt", *xt);
  return Request("PUT", Path(key, db), headers, value);
}

HttpResponse RestClient::Delete(std::string_view key, std::string_view db) {
  return Request("DELETE", Path(key, db));
}

}  // namespace ryoan::client
