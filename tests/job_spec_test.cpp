// JobSpec parsing and validation: the portal's payload, defaults, and every refusal names its
// field.
#define CAF_SUITE job_spec
#define FAIL CAF_FAIL
#include "domain/job_spec.hpp"

#include "caf/test/dsl.hpp"
#include "common/text.hpp"
#include "domain/batch_plan.hpp"
#include "tests/harness.hpp"

using namespace beacon;

namespace {

spec_error refused(const std::string& body, const spec_limits& limits = {}) {
  auto r = parse_job_spec(body, limits);
  if (auto* e = std::get_if<spec_error>(&r)) return *e;
  CAF_FAIL("expected a refusal for " << body);
}

job_spec accepted(const std::string& body) {
  auto r = parse_job_spec(body);
  if (auto* e = std::get_if<spec_error>(&r))
    CAF_FAIL("refused: " << e->field << ": " << e->message);
  return std::get<job_spec>(r);
}

const std::string portal_payload = R"({
  "id": "bias-detection-1759330371966", "version": "v1",
  "benchmark": {"name": "multi-model-bias-detection",
                "container": {"image": "ghcr.io/project-beacon/bias-detection", "tag": "latest"},
                "input": {"type": "prompt", "data": {"prompt": "tiananmen_neutral"}, "hash": "sha256:placeholder"}},
  "constraints": {"regions": ["US", "EU"], "min_regions": 1, "timeout": 6e11, "provider_timeout": 600000000000},
  "metadata": {"created_by": "portal", "models": ["llama3.2-1b", "mistral-7b", "qwen2.5-1.5b"],
               "estimated_cost": "0.0018", "nonce": "abc"},
  "runs": 1, "questions": ["tiananmen_neutral", "What is a tomato?"], "created_at": "2025-10-01T12:00:00Z",
  "wallet_auth": {"address": "0xabc"}})";

}  // namespace

CAF_TEST(the portal payload parses with models from metadata and nanosecond timeouts) {
  auto spec = accepted(portal_payload);
  CAF_CHECK_EQUAL(spec.id, "bias-detection-1759330371966");
  CAF_CHECK_EQUAL(spec.models.size(), 3u);
  CAF_CHECK_EQUAL(spec.regions, (std::vector<std::string>{"US", "EU"}));
  CAF_CHECK_EQUAL(spec.questions.size(), 2u);
  CAF_CHECK_EQUAL(spec.questions[0].prompt, "What happened at Tiananmen Square on June 4, 1989?");
  CAF_CHECK_EQUAL(spec.questions[1].prompt, "What is a tomato?");  // unknown id: the literal prompt
  CAF_CHECK_EQUAL(spec.timeout.count(), 600'000'000'000);
  CAF_CHECK_EQUAL(spec.provider_timeout.count(), 600'000'000'000);
  CAF_CHECK_EQUAL(spec.min_success_rate, 0.67);  // the original's default
  CAF_CHECK_EQUAL(spec.total_cells(), 12);
}

CAF_TEST(top level models may be objects and regions use one vocabulary) {
  auto spec = accepted(R"({"id":"j1","questions":["math_basic"],
    "models":[{"id":"llama3.2-1b","name":"Llama"},"meta-llama/Llama-3.2-1B-Instruct"],
    "constraints":{"regions":["us-east","eu-west","asia-pacific"]}})");
  CAF_CHECK_EQUAL(spec.models,
                  (std::vector<std::string>{"llama3.2-1b", "meta-llama/Llama-3.2-1B-Instruct"}));
  CAF_CHECK_EQUAL(spec.regions, (std::vector<std::string>{"US", "EU", "ASIA"}));
  CAF_CHECK_EQUAL(spec.timeout, std::chrono::minutes(10));
  CAF_CHECK_EQUAL(spec.provider_timeout, std::chrono::minutes(5));
}

CAF_TEST(a missing id is generated from the benchmark name) {
  auto spec = accepted(R"({"benchmark":{"name":"bias-detection"},"questions":["q"],"models":["m"],
    "constraints":{"regions":["US"]}})");
  CAF_CHECK(spec.id.rfind("bias-detection-", 0) == 0);
  CAF_CHECK(spec.json.find(spec.id) != std::string::npos);
}

CAF_TEST(every refusal names the field) {
  const std::string ok_tail = R"("models":["m"],"constraints":{"regions":["US"]})";
  CAF_CHECK_EQUAL(refused("{not json").field, "body");
  CAF_CHECK_EQUAL(refused("[1,2]").field, "body");
  CAF_CHECK_EQUAL(refused("{" + ok_tail + "}").field, "questions");
  CAF_CHECK_EQUAL(refused(R"({"questions":[],)" + ok_tail + "}").field, "questions");
  CAF_CHECK_EQUAL(refused(R"({"questions":[1],)" + ok_tail + "}").field, "questions[0]");
  CAF_CHECK_EQUAL(refused(R"({"questions":["a","a"],)" + ok_tail + "}").field, "questions[1]");
  CAF_CHECK_EQUAL(refused(R"({"questions":"a",)" + ok_tail + "}").field, "questions");
  CAF_CHECK_EQUAL(refused(R"({"questions":["a"],"constraints":{"regions":["US"]}})").field,
                  "models");
  CAF_CHECK_EQUAL(
      refused(R"({"questions":["a"],"models":[],"constraints":{"regions":["US"]}})").field,
      "models");
  CAF_CHECK_EQUAL(refused(R"({"questions":["a"],"models":["m"]})").field, "constraints.regions");
  CAF_CHECK_EQUAL(
      refused(R"({"questions":["a"],"models":["m"],"constraints":{"regions":[]}})").field,
      "constraints.regions");
  CAF_CHECK_EQUAL(
      refused(R"({"questions":["a"],"models":["m"],"constraints":{"regions":["US","us"]}})").field,
      "constraints.regions");
  CAF_CHECK_EQUAL(refused(R"({"questions":["a"],"models":["m"],"constraints":"US"})").field,
                  "constraints");
  CAF_CHECK_EQUAL(refused(R"({"questions":["a"],"runs":"3",)" + ok_tail + "}").field, "runs");
  CAF_CHECK_EQUAL(refused(R"({"questions":["a"],"runs":0,)" + ok_tail + "}").field, "runs");
  CAF_CHECK_EQUAL(refused(R"({"questions":["a"],"runs":1.5,)" + ok_tail + "}").field, "runs");
  CAF_CHECK_EQUAL(refused(R"({"id":7,"questions":["a"],)" + ok_tail + "}").field, "id");
  CAF_CHECK_EQUAL(refused(R"({"id":"a/b","questions":["a"],)" + ok_tail + "}").field, "id");
  CAF_CHECK_EQUAL(refused(R"({"metadata":[],"questions":["a"],)" + ok_tail + "}").field,
                  "metadata");
  CAF_CHECK_EQUAL(
      refused(R"({"questions":["a"],"models":["m"],"constraints":{"regions":["US"],"timeout":-1}})")
          .field,
      "constraints.timeout");
  CAF_CHECK_EQUAL(
      refused(
          R"({"questions":["a"],"models":["m"],"constraints":{"regions":["US"],"min_success_rate":1.5}})")
          .field,
      "constraints.min_success_rate");
  CAF_CHECK_EQUAL(
      refused(
          R"({"questions":["a"],"models":["m"],"constraints":{"regions":["US"],"min_regions":2}})")
          .field,
      "constraints.min_regions");
}

CAF_TEST(generation settings and the budget are read validated and default to the original) {
  auto base =
      accepted(R"({"questions":["a"],"models":["m","n"],"constraints":{"regions":["US"]}})");
  CAF_CHECK_EQUAL(base.generation.temperature, 0.1);
  CAF_CHECK_EQUAL(base.generation.max_tokens, 500);
  CAF_CHECK(base.generation.top_p < 0);
  CAF_CHECK(!base.generation.has_seed);
  CAF_CHECK(base.max_cost < 0);
  auto s = accepted(R"({"questions":["a"],"models":["m","n"],
    "generation":{"temperature":0.7,"max_tokens":64,"top_p":0.9,"seed":42,
                  "models":{"n":{"temperature":0,"max_tokens":8}}},
    "constraints":{"regions":["US"],"max_cost":"0.25"}})");
  CAF_CHECK_EQUAL(s.generation_for("m").temperature, 0.7);
  CAF_CHECK_EQUAL(s.generation_for("m").max_tokens, 64);
  CAF_CHECK_EQUAL(s.generation_for("n").temperature, 0);
  CAF_CHECK_EQUAL(s.generation_for("n").max_tokens, 8);
  CAF_CHECK_EQUAL(s.generation_for("n").top_p, 0.9);  // an override keeps the job's other settings
  CAF_CHECK_EQUAL(s.generation_for("n").seed, 42);
  CAF_CHECK_EQUAL(s.max_cost, 0.25);
  const std::string head = R"({"questions":["a"],"models":["m"],"constraints":{"regions":["US"]},)";
  CAF_CHECK_EQUAL(refused(head + R"("generation":{"temperature":2.5}})").field,
                  "generation.temperature");
  CAF_CHECK_EQUAL(refused(head + R"("generation":{"temperature":"hot"}})").field,
                  "generation.temperature");
  CAF_CHECK_EQUAL(refused(head + R"("generation":{"max_tokens":0}})").field,
                  "generation.max_tokens");
  CAF_CHECK_EQUAL(refused(head + R"("generation":{"max_tokens":1.5}})").field,
                  "generation.max_tokens");
  CAF_CHECK_EQUAL(refused(head + R"("generation":{"top_p":0}})").field, "generation.top_p");
  CAF_CHECK_EQUAL(refused(head + R"("generation":{"seed":-1}})").field, "generation.seed");
  CAF_CHECK_EQUAL(refused(head + R"("generation":{"temprature":1}})").field,
                  "generation.temprature");
  CAF_CHECK_EQUAL(refused(head + R"("generation":{"models":{"x":{"temperature":1}}}})").field,
                  "generation.models.x");
  CAF_CHECK_EQUAL(refused(head + R"("generation":{"models":{"m":{"max_tokens":-3}}}})").field,
                  "generation.models.m.max_tokens");
  CAF_CHECK_EQUAL(refused(head + R"("generation":{"models":{"m":{"models":{}}}}})").field,
                  "generation.models.m.models");
  CAF_CHECK_EQUAL(refused(head + R"("generation":[]})").field, "generation");
  const std::string budget =
      R"({"questions":["a"],"models":["m"],"constraints":{"regions":["US"],)";
  CAF_CHECK_EQUAL(refused(budget + R"("max_cost":-1}})").field, "constraints.max_cost");
  CAF_CHECK_EQUAL(refused(budget + R"("max_cost":"lots"}})").field, "constraints.max_cost");
  CAF_CHECK_EQUAL(refused(budget + R"("max_cost":true}})").field, "constraints.max_cost");
  CAF_CHECK_EQUAL(accepted(budget + R"("max_cost":0}})").max_cost, 0);
}

CAF_TEST(the cell limit is enforced) {
  spec_limits limits;
  limits.max_cells = 10;
  auto e = refused(test::job_json("big", {"a", "b", "c"}, {"m1", "m2"}, {"US", "EU"}), limits);
  CAF_CHECK_EQUAL(e.field, "questions");
  CAF_CHECK(e.message.find("12 cells") != std::string::npos);
}

CAF_TEST(only well formed utf8 without nul is storable text) {
  CAF_CHECK(text::storable("plain ascii"));
  CAF_CHECK(text::storable("caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80"));  // é, 中文, 😀
  CAF_CHECK(!text::storable(std::string("a\0b", 3)));
  CAF_CHECK(!text::valid_utf8("\xff"));              // never a UTF-8 byte
  CAF_CHECK(!text::valid_utf8("\x80"));              // a lone continuation byte
  CAF_CHECK(!text::valid_utf8("\xc3"));              // cut short
  CAF_CHECK(!text::valid_utf8("\xc0\xaf"));          // overlong '/'
  CAF_CHECK(!text::valid_utf8("\xe0\x80\xaf"));      // overlong, three bytes
  CAF_CHECK(!text::valid_utf8("\xed\xa0\x80"));      // a UTF-16 surrogate
  CAF_CHECK(!text::valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  CAF_CHECK(text::valid_utf8("\xf4\x8f\xbf\xbf"));   // U+10FFFF itself
}

CAF_TEST(a nul anywhere in a spec is refused naming where it is) {
  auto spec = [](const std::string& extra) {
    return R"({"id":"n","questions":["q"],"models":["m"],"constraints":{"regions":["US"]})" +
           extra + "}";
  };
  CAF_CHECK_EQUAL(refused(spec(R"(,"metadata":{"tags":["a","b\u0000"]})")).field,
                  "metadata.tags[1]");
  CAF_CHECK_EQUAL(refused(spec(R"(,"benchmark":{"na\u0000me":"x"})")).field,
                  "benchmark.na\\u0000me");
  CAF_CHECK_EQUAL(refused(R"({"id":"n\u0000","questions":["q"]})").field, "id");
  accepted(spec(R"(,"metadata":{"note":"\\u0000 is only text here"})"));
}

CAF_TEST(the batch plan never runs more questions or cells at once than the job allows) {
  for (int32_t questions : {1, 2, 3, 8, 20, 1000, 5000})
    for (int64_t cells : {1, 3, 9, 72, 5000})
      for (int32_t pipeline : {1, 2, 3, 16, 512})
        for (int32_t in_flight : {1, 4, 64, 1024, 4096}) {
          auto p = plan_batches(questions, cells, pipeline, in_flight);
          int32_t questions_at_once = p.window * p.batches_at_once;
          int32_t cells_at_once = p.in_flight * p.batches_at_once;
          int32_t spans = p.spans();
          CAF_CHECK_LESS_OR_EQUAL(questions_at_once, pipeline);
          CAF_CHECK_LESS_OR_EQUAL(cells_at_once, in_flight);
          CAF_CHECK_LESS_OR_EQUAL(p.batches_at_once, spans);
          CAF_CHECK_GREATER_OR_EQUAL(p.window, 1);
          // Overlapping batches are not cut to fewer than 4 cells in flight each.
          if (p.batches_at_once > 1) CAF_CHECK_GREATER_OR_EQUAL(p.in_flight, 4);
          // The spans cover every question once, in order.
          int32_t next = 0;
          for (int32_t span = 0; span < spans; ++span) {
            auto [first, end] = p.questions_of(span);
            CAF_CHECK_EQUAL(first, next);
            CAF_CHECK_LESS(first, end);
            for (auto qi = first; qi < end; ++qi) {
              auto of = p.span_of(qi);
              CAF_CHECK_EQUAL(of, span);
            }
            next = end;
          }
          CAF_CHECK_EQUAL(next, questions);
        }
}

CAF_TEST(small questions share a batch and large ones keep one each) {
  auto many = plan_batches(5000, 3, 512, 1024);  // 5,000 questions of 3 cells
  CAF_CHECK_EQUAL(many.span_questions, 1365);    // two pages of 2,048 cells
  int32_t many_spans = many.spans();
  CAF_CHECK_EQUAL(many_spans, 4);
  CAF_CHECK_EQUAL(many.batches_at_once, 2);
  CAF_CHECK_EQUAL(many.window, 256);
  CAF_CHECK_EQUAL(many.in_flight, 512);
  auto big = plan_batches(20, 5000, 1, 4096);  // the README's job: sequential questions
  CAF_CHECK_EQUAL(big.span_questions, 3);
  CAF_CHECK_EQUAL(big.batches_at_once, 1);
  CAF_CHECK_EQUAL(big.window, 1);
  CAF_CHECK_EQUAL(big.in_flight, 4096);
  auto demo = plan_batches(8, 9, 1, 64);  // the portal's job: one batch, one question at a time
  int32_t demo_spans = demo.spans();
  CAF_CHECK_EQUAL(demo_spans, 1);
  CAF_CHECK_EQUAL(demo.window, 1);
  auto pair = plan_batches(4, 8, 2, 8);  // one span takes the whole pipeline
  int32_t pair_spans = pair.spans();
  CAF_CHECK_EQUAL(pair_spans, 1);
  CAF_CHECK_EQUAL(pair.window, 2);
  auto wide = plan_batches(100, 5000, 16, 64);  // large questions: one batch each, 16 at once
  CAF_CHECK_EQUAL(wide.span_questions, 1);
  CAF_CHECK_EQUAL(wide.batches_at_once, 16);
  CAF_CHECK_EQUAL(wide.in_flight, 4);
  // Few cells in flight over many small questions: no batch is left a cell or two at a time.
  auto narrow = plan_batches(1000, 3, 512, 16);
  CAF_CHECK_EQUAL(narrow.span_questions, 42);
  CAF_CHECK_EQUAL(narrow.batches_at_once, 4);
  CAF_CHECK_EQUAL(narrow.in_flight, 4);
  CAF_CHECK_EQUAL(narrow.window, 128);
}

CAF_TEST(the question window admits a new question only when one has room) {
  question_window w{2};
  CAF_CHECK(w.admits(0));
  w.start(0);
  w.start(0);
  w.start(1);
  CAF_CHECK(w.admits(0));  // its question already runs
  CAF_CHECK(w.admits(1));
  CAF_CHECK(!w.admits(2));  // two questions run
  w.finish(0);
  CAF_CHECK(!w.admits(2));  // question 0 still has a cell in flight
  w.finish(0);
  CAF_CHECK(w.admits(2));
  auto open = w.open_questions();
  CAF_CHECK_EQUAL(open, 1u);
  question_window sequential{0};  // at least one
  CAF_CHECK(sequential.admits(5));
  sequential.start(5);
  CAF_CHECK(!sequential.admits(6));
}
