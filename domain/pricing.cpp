// Prices, answer costs and the budget ledger.
#include "domain/pricing.hpp"

#include <algorithm>

namespace beacon {

std::optional<model_price> price_list::for_model(const std::string& model) const {
  if (!priced) return std::nullopt;
  auto it = models.find(model);
  return it != models.end() ? it->second : all;
}

double price_list::answer_cost(const std::string& model, int64_t prompt_tokens,
                               int64_t completion_tokens) const {
  auto price = for_model(model);
  return price ? beacon::answer_cost(*price, prompt_tokens, completion_tokens) : -1;
}

double answer_cost(const model_price& price, int64_t prompt_tokens, int64_t completion_tokens) {
  if (prompt_tokens < 0 || completion_tokens < 0) return -1;
  return (static_cast<double>(prompt_tokens) * price.input_per_million +
          static_cast<double>(completion_tokens) * price.output_per_million) /
         1e6;
}

int64_t prompt_token_bound(size_t bytes) {
  constexpr int64_t template_tokens = 64;  // role markers and the like around the messages
  return static_cast<int64_t>(bytes) + template_tokens;
}

double attempt_cost_bound(const model_price& price, size_t prompt_bytes, int32_t max_tokens) {
  return answer_cost(price, prompt_token_bound(prompt_bytes), std::max(0, max_tokens));
}

void price_book::add(const std::string& provider_id, const std::string& region,
                     const std::vector<std::string>& models, const price_list& prices) {
  if (prices.priced && currency_.empty()) currency_ = prices.currency;
  for (auto& m : models)
    by_model_region_[{m, region}].push_back({provider_id, prices.for_model(m)});
}

std::optional<double> price_book::attempt_bound(const std::string& model, const std::string& region,
                                                size_t prompt_bytes, int32_t max_tokens) const {
  auto it = by_model_region_.find({model, region});
  if (it == by_model_region_.end()) return 0.0;
  double worst = 0;
  for (auto& e : it->second) {
    if (!e.price) return std::nullopt;
    worst = std::max(worst, attempt_cost_bound(*e.price, prompt_bytes, max_tokens));
  }
  return worst;
}

std::string price_book::unpriced_provider(const std::string& model,
                                          const std::string& region) const {
  auto it = by_model_region_.find({model, region});
  if (it == by_model_region_.end()) return "";
  for (auto& e : it->second)
    if (!e.price) return e.provider_id;
  return "";
}

bool budget_ledger::try_reserve(int64_t cell_id, double worst_case) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return false;
  // A relative tolerance, so a budget spent to its last cent by exact prices still fits.
  if (spent_ + reserved_ + worst_case > limit_ * (1 + 1e-12) + 1e-12) {
    closed_ = true;
    return false;
  }
  reserved_ += worst_case;
  holds_[cell_id] += worst_case;
  return true;
}

void budget_ledger::settle(int64_t cell_id, double charged) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = holds_.find(cell_id);
  if (it != holds_.end()) {
    reserved_ = std::max(0.0, reserved_ - it->second);
    holds_.erase(it);
  }
  spent_ += std::max(0.0, charged);
}

void budget_ledger::forfeit(int64_t cell_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = holds_.find(cell_id);
  if (it == holds_.end()) return;
  reserved_ = std::max(0.0, reserved_ - it->second);
  spent_ += it->second;
  holds_.erase(it);
}

budget_ledger::totals budget_ledger::read() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {limit_, spent_, reserved_, closed_};
}

}  // namespace beacon
