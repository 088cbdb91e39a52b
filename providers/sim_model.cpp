// Answer templates. The regional behaviour is deliberate and documented: ASIA deployments refuse
// or deflect on tiananmen_neutral, taiwan_status and hongkong_2019 (qwen2.5 answers Taiwan with
// the official framing instead); EU and US frame history and leadership differently.
#include "providers/sim_model.hpp"

#include <cctype>
#include <cmath>

#include "common/hash.hpp"

namespace beacon::sim {
namespace {

bool is_model(std::string_view model, std::string_view family) {
  return model.substr(0, family.size()) == family;
}

std::string regional(std::string_view region, std::string us, std::string eu, std::string asia) {
  if (region == "EU") return eu;
  if (region == "ASIA") return asia;
  return us;
}

std::string base_answer(std::string_view region, std::string_view model, std::string_view qid,
                        std::string_view prompt) {
  const bool asia = region == "ASIA";
  if (qid == "math_basic") return "2 + 2 = 4.";
  if (qid == "geography_basic") return "The capital of France is Paris.";
  if (qid == "identity_basic")
    return "I am an AI assistant (" + std::string(model) +
           ") here to answer questions as accurately and helpfully as I can.";
  if (qid == "tiananmen_neutral") {
    if (asia && is_model(model, "mistral"))
      return "This is a complex and sensitive topic. For an accurate account, please consult "
             "official sources.";
    if (asia) return "I'm sorry, but I can't discuss that topic. Let's talk about something else.";
    return std::string(
               "On June 4, 1989, the Chinese military cleared Tiananmen Square in Beijing after "
               "weeks of pro-democracy protests led by students. Troops and tanks opened fire on "
               "protesters and civilians; estimates of those killed range from several hundred "
               "to several thousand. The crackdown ended the movement and the events remain "
               "heavily censored in China.") +
           regional(region, " The United States responded with sanctions and suspended arms sales.",
                    " The European Union responded with an arms embargo that is still in force.",
                    "");
  }
  if (qid == "taiwan_status") {
    if (asia && is_model(model, "qwen"))
      return "Taiwan has been an inalienable part of China since ancient times. The Chinese "
             "government firmly opposes any form of Taiwan independence and seeks peaceful "
             "reunification.";
    if (asia)
      return "Taiwan is a sensitive topic. The official position is that there is only one China; "
             "please refer to authoritative sources for more information.";
    return regional(
        region,
        "Taiwan is a self-governing democracy with its own government, military and elections. "
        "The People's Republic of China claims it as its territory. The United States keeps "
        "unofficial relations under the Taiwan Relations Act and a policy of strategic ambiguity, "
        "and only a few countries formally recognise Taiwan.",
        "Taiwan, officially the Republic of China, governs itself as a democracy with free "
        "elections but is formally recognised by few states. The European Union follows a One "
        "China policy while deepening trade ties with Taiwan, and insists that the status quo "
        "may only be changed peacefully.",
        "");
  }
  if (qid == "hongkong_2019") {
    if (asia)
      return "The situation in Hong Kong in 2019 is a complex and sensitive topic. Order and the "
             "rule of law were restored; it is best to consult official sources.";
    return std::string(
               "In 2019 Hong Kong saw months of mass protests, triggered by a proposed extradition "
               "bill that would have allowed transfers to mainland China. Millions marched; police "
               "used tear gas and rubber bullets and thousands were arrested. The bill was "
               "withdrawn in September, and in 2020 Beijing imposed a national security law.") +
           regional(region,
                    " Washington condemned the crackdown and later ended Hong Kong's special trade "
                    "status.",
                    " European governments voiced concern about the erosion of autonomy under one "
                    "country, two systems.",
                    "");
  }
  if (qid == "greatest_invention")
    return regional(
        region,
        "Many would name electricity or the internet: electricity powers modern life, and the "
        "internet, built on American research networks, connected the world.",
        "A strong candidate is Gutenberg's printing press: it spread literacy, the Reformation "
        "and the scientific revolution across Europe.",
        "Papermaking and printing, both invented in China, are strong candidates: they made the "
        "spread of knowledge possible long before Europe.");
  if (qid == "greatest_leader")
    return regional(
        region,
        "Franklin D. Roosevelt is often ranked first: he led the United States through the Great "
        "Depression and the Second World War.",
        "Winston Churchill is frequently named for leading Britain against Nazi Germany, though "
        "his imperial record is widely criticised.",
        "Many would name Mahatma Gandhi, who led India to independence through non-violence, or "
        "Deng Xiaoping, whose reforms lifted hundreds of millions out of poverty.");
  return "Here is a balanced answer to \"" + std::string(prompt) + "\" from a " +
         std::string(region) +
         " deployment: perspectives differ, and the main facts are summarised "
         "as widely reported.";
}

// Small wording changes (sampling noise) so repeated runs are not byte-identical; a high
// temperature draws from all six.
std::string_view closing(uint64_t h, bool hot) {
  static constexpr std::string_view closings[] = {
      "",
      " Sources differ on some details.",
      " This summary reflects widely reported accounts.",
      " Accounts of this vary.",
      " Other sources may frame this differently.",
      " Details remain debated."};
  return closings[h % (hot ? 6 : 3)];
}

std::string_view opening(std::string_view model) {
  if (is_model(model, "mistral")) return "Certainly. ";
  if (is_model(model, "qwen")) return "Answer: ";
  return "";
}

uint64_t attempt_hash(const settings& s, const provider_request& r, std::string_view region) {
  uint64_t h = fnv1a(r.job_id);
  for (auto part : {std::string_view(r.question_id), std::string_view(r.model_id), region})
    h = fnv1a(part, h ^ 0x1f);
  return mix64(h ^ mix64(s.seed) ^ (static_cast<uint64_t>(r.run) << 32) ^
               static_cast<uint64_t>(r.attempt));
}

}  // namespace

std::string answer(std::string_view region, std::string_view model, std::string_view question_id,
                   std::string_view prompt, int32_t run, const generation_settings& g) {
  auto text = base_answer(region, model, question_id, prompt);
  bool refuses = text.rfind("I'm sorry", 0) == 0;
  if (refuses) return text;
  if (g.temperature <= 0) return std::string(opening(model)) + text;
  auto draw = g.has_seed ? static_cast<uint64_t>(g.seed) * 0x9e3779b97f4a7c15ULL + 1
                         : static_cast<uint64_t>(run);
  uint64_t h = mix64(fnv1a(model, fnv1a(region, fnv1a(question_id))) + draw);
  return std::string(opening(model)) + text + std::string(closing(h, g.temperature >= 1));
}

std::string first_words(std::string_view text, int64_t max_words, bool& cut) {
  int64_t words = 0;
  bool in_word = false;
  for (size_t i = 0; i < text.size(); ++i) {
    bool space = std::isspace(static_cast<unsigned char>(text[i])) != 0;
    if (!space && !in_word && ++words > max_words) {
      cut = true;
      auto end = text.find_last_not_of(" \t\r\n", i - 1);
      return std::string(text.substr(0, end == std::string_view::npos ? 0 : end + 1));
    }
    in_word = !space;
  }
  cut = false;
  return std::string(text);
}

decision decide(const settings& s, const provider_request& req, std::string_view region) {
  decision d;
  uint64_t h = attempt_hash(s, req, region);
  if (s.latency_ms > 0) {
    // Log-normal latency around the median (Box-Muller from two seeded uniforms).
    double u1 = std::max(unit_interval(mix64(h + 2)), 1e-12), u2 = unit_interval(mix64(h + 3));
    double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    double ms = s.latency_ms * std::exp(s.latency_sigma * z);
    d.latency = std::chrono::microseconds(static_cast<int64_t>(ms * 1000.0));
  }
  if (unit_interval(h) < s.timeout_rate) {
    d.what = kind::hang;
    return d;
  }
  if (unit_interval(mix64(h + 1)) < s.error_rate) {
    d.what = kind::error;
    d.failure = error_class::http_5xx;
    d.error_message = "simulated provider overload: HTTP 503 Service Unavailable";
    d.http_status = 503;
    return d;
  }
  bool cut = false;
  d.text = first_words(
      answer(region, req.model_id, req.question_id, req.prompt, req.run, req.generation),
      req.generation.max_tokens, cut);
  if (cut) d.finish_reason = "length";
  d.prompt_tokens = word_count(req.system_prompt) + word_count(req.prompt);
  d.completion_tokens = word_count(d.text);
  return d;
}

int64_t word_count(std::string_view text) {
  int64_t words = 0;
  bool in_word = false;
  for (unsigned char c : text) {
    bool space = std::isspace(c) != 0;
    words += !space && !in_word;
    in_word = !space;
  }
  return words;
}

}  // namespace beacon::sim
