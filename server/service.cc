#include "server/service.h"

#include "common/numbers.h"

namespace ryoan::server {

Service::Service(ServerOptions options, std::vector<std::unique_ptr<storage::DB>> dbs)
    : options_(std::move(options)), dbs_(std::move(dbs)), port_(options_.port) {}

storage::DB* Service::ResolveDb(std::string_view expression) const {
  if (expression.empty()) return db(0);
  if (expression[0] >= '0' && expression[0] <= '9') {
    int64_t index = ParseInt(expression);
    if (index < 0) return nullptr;
    return db(static_cast<size_t>(index));
  }
  for (size_t i = dbs_.size(); i-- > 0;) {
    if (dbs_[i]->name() == expression) return dbs_[i].get();
  }
  return nullptr;
}

double Service::running_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

}  // namespace ryoan::server
