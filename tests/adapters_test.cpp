// Protocol adapters on recorded replies: OpenAI-compatible, Ollama native, Beacon router, Modal.
#define CAF_SUITE adapters
#define FAIL CAF_FAIL
#include "providers/adapters.hpp"

#include <boost/json.hpp>
#include <ctime>

#include "caf/test/dsl.hpp"
#include "tests/harness.hpp"

using namespace beacon::providers;
namespace json = boost::json;

namespace {

call_input input() {
  return {"llama3.2-1b",
          "What is the current status of Taiwan?",
          "You are based in Europe.",
          "EU",
          0.1,
          500};
}

// A vLLM /v1/chat/completions reply.
const char* vllm_ok = R"({"id":"chatcmpl-8f","object":"chat.completion","created":1729000000,
  "model":"meta-llama/Llama-3.2-1B-Instruct","choices":[{"index":0,"message":{"role":"assistant",
  "content":"Taiwan governs itself."},"logprobs":null,"finish_reason":"stop"}],
  "usage":{"prompt_tokens":31,"total_tokens":40,"completion_tokens":9}})";
// An OpenAI-style error object inside a 200 (some gateways do this).
const char* openai_error =
    R"({"error":{"message":"The model `x` does not exist","type":"invalid_request_error","code":"model_not_found"}})";
// Ollama /api/chat with stream:false.
const char* ollama_ok = R"({"model":"qwen2.5:1.5b","created_at":"2024-10-01T12:00:00Z",
  "message":{"role":"assistant","content":"Paris."},"done_reason":"stop","done":true,"total_duration":5191566416})";
// The Beacon hybrid router: always 200.
const char* router_ok =
    R"({"success":true,"response":"The capital of France is Paris.","error":null,
  "provider_used":"modal-eu-west","inference_time":2.31,"cost_estimate":0.0004,
  "metadata":{"provider_type":"modal","region":"eu-west","model":"llama3.2-1b","receipt":{}}})";
const char* router_fail =
    R"({"success":false,"response":null,"error":"No healthy providers in region asia-pacific",
  "error_code":"PROVIDER_UNAVAILABLE","provider_used":null,"metadata":{"region":"asia-pacific"}})";
// A Beacon Modal endpoint.
const char* modal_ok = R"({"success":true,"response":"4","model":"llama3.2-1b","inference_time":1.2,
  "region":"us-east","tokens_generated":3,"receipt":{"execution_details":{"provider_id":"modal-us-east"}}})";

}  // namespace

CAF_TEST(requests carry the model the prompts and the region) {
  auto openai = build_request(protocol::openai, input());
  CAF_CHECK_EQUAL(openai.path, "/v1/chat/completions");
  auto o = json::parse(openai.body).as_object();
  CAF_CHECK_EQUAL(o["model"].as_string(), "llama3.2-1b");
  CAF_CHECK_EQUAL(o["messages"].as_array().size(), 2u);
  CAF_CHECK_EQUAL(o["messages"].as_array()[0].as_object()["role"].as_string(), "system");
  CAF_CHECK_EQUAL(o["stream"].as_bool(), false);
  auto ollama = json::parse(build_request(protocol::ollama, input()).body).as_object();
  CAF_CHECK_EQUAL(ollama["options"].as_object()["num_predict"].as_int64(), 500);
  auto router = build_request(protocol::beacon_router, input());
  CAF_CHECK_EQUAL(router.path, "/inference");
  auto r = json::parse(router.body).as_object();
  CAF_CHECK_EQUAL(r["region_preference"].as_string(), "EU");
  CAF_CHECK(std::string(r["prompt"].as_string()).find("based in Europe") != std::string::npos);
  CAF_CHECK_EQUAL(r["cost_priority"].as_bool(), false);
  auto modal = json::parse(build_request(protocol::modal, input()).body).as_object();
  CAF_CHECK_EQUAL(modal["region"].as_string(), "EU");
  auto router_kind = parse_protocol("router");
  CAF_CHECK(router_kind && *router_kind == protocol::beacon_router);
  CAF_CHECK(!parse_protocol("grpc"));
}

CAF_TEST(generation settings travel in each protocols terms and what cannot is named) {
  auto in = input();
  in.generation = {0.7, 64, 0.9, true, 42};
  auto openai = json::parse(build_request(protocol::openai, in).body).as_object();
  CAF_CHECK_EQUAL(openai["temperature"].as_double(), 0.7);
  CAF_CHECK_EQUAL(openai["max_tokens"].as_int64(), 64);
  CAF_CHECK_EQUAL(openai["top_p"].as_double(), 0.9);
  CAF_CHECK_EQUAL(openai["seed"].as_int64(), 42);
  auto ollama = json::parse(build_request(protocol::ollama, in).body).as_object();
  auto& options = ollama["options"].as_object();
  CAF_CHECK_EQUAL(options["temperature"].as_double(), 0.7);
  CAF_CHECK_EQUAL(options["num_predict"].as_int64(), 64);
  CAF_CHECK_EQUAL(options["top_p"].as_double(), 0.9);
  CAF_CHECK_EQUAL(options["seed"].as_int64(), 42);
  for (auto p : {protocol::beacon_router, protocol::modal}) {
    auto o = json::parse(build_request(p, in).body).as_object();
    CAF_CHECK_EQUAL(o["temperature"].as_double(), 0.7);
    CAF_CHECK_EQUAL(o["max_tokens"].as_int64(), 64);
    CAF_CHECK(!o.contains("top_p"));
    CAF_CHECK(!o.contains("seed"));
    CAF_CHECK_EQUAL(unsent_settings(p, in.generation), "top_p,seed");
  }
  CAF_CHECK_EQUAL(unsent_settings(protocol::openai, in.generation), "");
  CAF_CHECK_EQUAL(unsent_settings(protocol::ollama, in.generation), "");
  // Unset top_p and seed are not sent at all, so nothing is missing for any protocol.
  auto plain = json::parse(build_request(protocol::openai, input()).body).as_object();
  CAF_CHECK(!plain.contains("top_p"));
  CAF_CHECK(!plain.contains("seed"));
  CAF_CHECK_EQUAL(unsent_settings(protocol::modal, input().generation), "");
}

CAF_TEST(successful replies parse) {
  auto a = parse_response(protocol::openai, 200, vllm_ok);
  CAF_CHECK(a.ok);
  CAF_CHECK_EQUAL(a.text, "Taiwan governs itself.");
  CAF_CHECK_EQUAL(a.model, "meta-llama/Llama-3.2-1B-Instruct");
  auto b = parse_response(protocol::ollama, 200, ollama_ok);
  CAF_CHECK(b.ok);
  CAF_CHECK_EQUAL(b.text, "Paris.");
  auto c = parse_response(protocol::beacon_router, 200, router_ok);
  CAF_CHECK(c.ok);
  CAF_CHECK_EQUAL(c.served_by, "modal-eu-west");
  CAF_CHECK_EQUAL(c.served_region, "EU");  // eu-west in our vocabulary
  auto d = parse_response(protocol::modal, 200, modal_ok);
  CAF_CHECK(d.ok);
  CAF_CHECK_EQUAL(d.text, "4");
  CAF_CHECK_EQUAL(d.served_region, "US");
}

CAF_TEST(usage and finish reasons are read as each protocol reports them and never guessed) {
  auto vllm = parse_response(protocol::openai, 200, vllm_ok);
  CAF_CHECK_EQUAL(vllm.prompt_tokens, 31);
  CAF_CHECK_EQUAL(vllm.completion_tokens, 9);
  CAF_CHECK_EQUAL(vllm.finish_reason, "stop");
  // A content filter stop with no usage object (some gateways): nothing is made up.
  auto filtered =
      parse_response(protocol::openai, 200,
                     R"({"model":"m","choices":[{"message":{"role":"assistant","content":""},)"
                     R"("finish_reason":"content_filter"}]})");
  CAF_CHECK(filtered.ok);
  CAF_CHECK_EQUAL(filtered.finish_reason, "content_filter");
  CAF_CHECK_EQUAL(filtered.prompt_tokens, -1);
  CAF_CHECK_EQUAL(filtered.completion_tokens, -1);
  // A truncated answer; a null finish reason and counts that are not counts.
  auto truncated =
      parse_response(protocol::openai, 200,
                     R"({"choices":[{"message":{"content":"a"},"finish_reason":"length"}],)"
                     R"("usage":{"prompt_tokens":-3,"completion_tokens":2.5}})");
  CAF_CHECK_EQUAL(truncated.finish_reason, "length");
  CAF_CHECK_EQUAL(truncated.prompt_tokens, -1);
  CAF_CHECK_EQUAL(truncated.completion_tokens, -1);
  auto plain = parse_response(protocol::openai, 200,
                              R"({"choices":[{"message":{"content":"a"},"finish_reason":null}]})");
  CAF_CHECK_EQUAL(plain.finish_reason, "");
  // Ollama: prompt_eval_count, eval_count, done_reason; the recorded reply has no counts.
  auto counted = parse_response(
      protocol::ollama, 200,
      R"({"model":"q","message":{"content":"Paris."},"done":true,"done_reason":"length",)"
      R"("prompt_eval_count":26,"eval_count":298})");
  CAF_CHECK_EQUAL(counted.prompt_tokens, 26);
  CAF_CHECK_EQUAL(counted.completion_tokens, 298);
  CAF_CHECK_EQUAL(counted.finish_reason, "length");
  auto ollama = parse_response(protocol::ollama, 200, ollama_ok);
  CAF_CHECK_EQUAL(ollama.prompt_tokens, -1);
  CAF_CHECK_EQUAL(ollama.completion_tokens, -1);
  CAF_CHECK_EQUAL(ollama.finish_reason, "stop");
  // Modal reports tokens_generated (completion only); the router nothing.
  auto modal = parse_response(protocol::modal, 200, modal_ok);
  CAF_CHECK_EQUAL(modal.completion_tokens, 3);
  CAF_CHECK_EQUAL(modal.prompt_tokens, -1);
  auto router = parse_response(protocol::beacon_router, 200, router_ok);
  CAF_CHECK_EQUAL(router.completion_tokens, -1);
  CAF_CHECK_EQUAL(router.prompt_tokens, -1);
  CAF_CHECK_EQUAL(router.finish_reason, "");
  // A router that passes its provider's usage on in metadata.
  auto passed =
      parse_response(protocol::beacon_router, 200,
                     R"({"success":true,"response":"x","metadata":{"usage":{"prompt_tokens":7,)"
                     R"("completion_tokens":1},"finish_reason":"stop"}})");
  CAF_CHECK_EQUAL(passed.prompt_tokens, 7);
  CAF_CHECK_EQUAL(passed.completion_tokens, 1);
  CAF_CHECK_EQUAL(passed.finish_reason, "stop");
}

CAF_TEST(failures carry a class and the words of the far side) {
  auto f = parse_response(protocol::beacon_router, 200, router_fail);
  CAF_CHECK(!f.ok);
  CAF_CHECK_EQUAL(word(f.failure), "provider_error");
  CAF_CHECK_EQUAL(f.error_message,
                  "PROVIDER_UNAVAILABLE: No healthy providers in region asia-pacific");
  CAF_CHECK_EQUAL(f.served_region, "ASIA");
  auto e = parse_response(protocol::openai, 200, openai_error);
  CAF_CHECK_EQUAL(word(e.failure), "provider_error");
  CAF_CHECK(e.error_message.find("model_not_found") != std::string::npos);
  CAF_CHECK_EQUAL(word(parse_response(protocol::openai, 303, "").failure), "redirect");
  CAF_CHECK_EQUAL(word(parse_response(protocol::openai, 429, "slow down").failure), "rate_limited");
  CAF_CHECK_EQUAL(word(parse_response(protocol::openai, 404, "no route").failure), "http_4xx");
  CAF_CHECK_EQUAL(word(parse_response(protocol::ollama, 502, "bad gateway").failure), "http_5xx");
  CAF_CHECK_EQUAL(word(parse_response(protocol::openai, 200, "{\"choices\": [").failure),
                  "bad_response");
  CAF_CHECK_EQUAL(word(parse_response(protocol::openai, 200, "{\"choices\": []}").failure),
                  "bad_response");
  CAF_CHECK_EQUAL(
      word(parse_response(protocol::beacon_router, 200, "{\"response\": \"x\"}").failure),
      "bad_response");
  auto long_body = std::string(1000, 'x');
  CAF_CHECK_LESS(parse_response(protocol::openai, 500, long_body).error_message.size(), 320u);
}

CAF_TEST(retry after headers are read as seconds or dates) {
  CAF_CHECK_EQUAL(retry_after_ms("2"), 2000);
  CAF_CHECK_EQUAL(retry_after_ms(" 120 \r\n"), 120000);
  CAF_CHECK_EQUAL(retry_after_ms("99999999"), 3600000);
  CAF_CHECK_EQUAL(retry_after_ms("soon"), 0);
  CAF_CHECK_EQUAL(retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT"), 0);  // in the past
  auto future = std::time(nullptr) + 30;
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", std::gmtime(&future));
  auto ms = retry_after_ms(buf);
  CAF_CHECK(ms > 28000 && ms <= 30000);
}
