// What answers cost: provider prices per million tokens, the cost of one answer from its usage,
// the most one attempt can cost (for budgets), and the job's budget ledger. Pure policy: no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace beacon {

// A price per million input (prompt) and output (completion) tokens.
struct model_price {
  double input_per_million = 0;
  double output_per_million = 0;
};

// One provider's prices: one for all its models, or per model. Unpriced: cost unknown.
struct price_list {
  bool priced = false;
  std::string currency;  // e.g. USD; one currency per node
  model_price all;
  std::map<std::string, model_price> models;

  std::optional<model_price> for_model(const std::string& model) const;
  // The cost of an answer of `model` from its reported usage; -1 when unpriced or not reported.
  double answer_cost(const std::string& model, int64_t prompt_tokens,
                     int64_t completion_tokens) const;
};

// The cost of an answer from its reported usage; -1 when a count is unknown (never estimated).
double answer_cost(const model_price& price, int64_t prompt_tokens, int64_t completion_tokens);

// An upper bound of the tokens a prompt of `bytes` UTF-8 bytes (system prompt included) is sent
// as: byte-level tokenizers make at most one token per byte, plus a chat template's markers.
int64_t prompt_token_bound(size_t bytes);

// The most one attempt can cost: every prompt byte a token and max_tokens generated.
double attempt_cost_bound(const model_price& price, size_t prompt_bytes, int32_t max_tokens);

// Every configured provider's region, models and prices: where a budget finds the most a cell
// may cost, whichever provider of its region serves it.
class price_book {
 public:
  void add(const std::string& provider_id, const std::string& region,
           const std::vector<std::string>& models, const price_list& prices);

  // The most one attempt of `model` in `region` can cost at the dearest provider that serves
  // it; 0 when none does (the cell fails without a call); nullopt when one of them has no price.
  std::optional<double> attempt_bound(const std::string& model, const std::string& region,
                                      size_t prompt_bytes, int32_t max_tokens) const;
  // A provider serving `model` in `region` without a price ("" when all have one).
  std::string unpriced_provider(const std::string& model, const std::string& region) const;
  // The currency of the prices ("" when no provider has one).
  const std::string& currency() const { return currency_; }

 private:
  struct entry {
    std::string provider_id;
    std::optional<model_price> price;
  };
  std::map<std::pair<std::string, std::string>, std::vector<entry>> by_model_region_;
  std::string currency_;
};

// A job's budget: what its cells were charged, and what the cells in flight may still cost.
// A cell is dispatched only when the charges so far plus every in-flight cell's worst case plus
// its own stay within the limit; the first cell that does not fit closes the ledger, so nothing
// is dispatched after it. Shared by the job's batches and executions (thread-safe).
class budget_ledger {
 public:
  budget_ledger(double limit, double spent_before) : limit_(limit), spent_(spent_before) {}

  // Holds `worst_case` for cell `cell_id`: true when it fits, else closes the ledger.
  bool try_reserve(int64_t cell_id, double worst_case);
  // The cell ended and was charged `charged`: its hold is replaced by the charge.
  void settle(int64_t cell_id, double charged);
  // The cell's actor died without a charge: its hold stays charged (it may have been spent).
  void forfeit(int64_t cell_id);

  struct totals {
    double limit = 0;
    double spent = 0;     // charged for ended cells
    double reserved = 0;  // held for cells in flight
    bool closed = false;  // a cell did not fit: nothing more is dispatched
  };
  totals read() const;

 private:
  mutable std::mutex mutex_;
  double limit_;
  double spent_;
  double reserved_ = 0;
  bool closed_ = false;
  std::unordered_map<int64_t, double> holds_;
};

}  // namespace beacon
