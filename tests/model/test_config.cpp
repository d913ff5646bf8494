// config.json and the configs/*.json model section: every way a file can be wrong is an
// slm::Error naming the field, never a crash, a wrapped size or a silent default.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "slm/model/config.h"
#include "slm/util/error.h"
#include "slm/util/field_names.h"

using namespace slm;
using namespace slm::model;
using nlohmann::json;

namespace {

ModelConfig small() {
  ModelConfig c;
  c.vocab_size = 300, c.dim = 32, c.n_layers = 2, c.n_heads = 4, c.n_kv_heads = 2, c.hidden_dim = 64, c.context = 16;
  c.norm_eps = 1e-5f, c.tie_embeddings = false;
  return c;
}

// The message of the slm::Error that fn throws, or "" when it throws none.
template <class F>
std::string error_of(F&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.message();
  }
  return "";
}

std::string hf_error(const std::function<void(json&)>& edit) {
  json j = small().to_hf_config();
  edit(j);
  return error_of([&] { ModelConfig::from_hf_config(j, "m/config.json"); });
}

TEST(ModelConfig, HfConfigRoundTripsEveryField) {
  ModelConfig c = small();
  json j = c.to_hf_config();
  EXPECT_EQ(j["num_hidden_layers"], 2);
  EXPECT_EQ(j["rms_norm_eps"], 1e-5);  // the shortest decimal, not float noise
  EXPECT_EQ(ModelConfig::from_hf_config(j, "x").to_json(), c.to_json());
  EXPECT_EQ(ModelConfig::from_json(c.to_json(), "x").to_json(), c.to_json());
}

TEST(ModelConfig, HfConfigRefusesBadFieldsNamingThem) {
  EXPECT_EQ(hf_error([](json& j) { j.erase("hidden_size"); }), "missing field 'hidden_size' (m/config.json)");
  EXPECT_NE(hf_error([](json& j) { j["num_hidden_layers"] = "six"; }).find("'num_hidden_layers' must be an integer"),
            std::string::npos);
  EXPECT_NE(hf_error([](json& j) { j["hidden_size"] = int64_t(1) << 40; }).find("'hidden_size' is 1099511627776"),
            std::string::npos);
  EXPECT_NE(hf_error([](json& j) { j["vocab_size"] = -3; }).find("vocab_size must be in"), std::string::npos);
  EXPECT_NE(hf_error([](json& j) { j["num_attention_heads"] = 3; }).find("num_attention_heads must divide hidden_size"),
            std::string::npos);
  EXPECT_NE(hf_error([](json& j) { j["rms_norm_eps"] = 1e300; }).find("rms_norm_eps"), std::string::npos);
  EXPECT_NE(hf_error([](json& j) { j["tie_word_embeddings"] = 1; }).find("must be true or false"), std::string::npos);
  EXPECT_NE(hf_error([](json& j) { j["model_type"] = "gpt2"; }).find("model_type"), std::string::npos);
  EXPECT_NE(hf_error([](json& j) { j["attention_bias"] = true; }).find("attention_bias"), std::string::npos);
  EXPECT_NE(hf_error([](json& j) { j["head_dim"] = 4; }).find("head_dim"), std::string::npos);
  EXPECT_NE(hf_error([](json& j) { j = json::array(); }).find("must be a JSON object"), std::string::npos);
}

TEST(ModelConfig, SizesThatFitAnIntButNotMemoryAreRefused) {
  // Each alone fits an int; together they would ask for about 2^46 parameters.
  EXPECT_NE(hf_error([](json& j) {
              j["vocab_size"] = 1 << 24, j["hidden_size"] = 1 << 16, j["head_dim"] = nullptr;
            }).find("more than slm handles"),
            std::string::npos);
}

TEST(ModelConfig, MissingKvHeadsDefaultToHeadsAndTiedToFalse) {
  json j = small().to_hf_config();
  j.erase("num_key_value_heads");
  j.erase("tie_word_embeddings");
  ModelConfig c = ModelConfig::from_hf_config(j, "x");
  EXPECT_EQ(c.n_kv_heads, c.n_heads);
  EXPECT_FALSE(c.tie_embeddings);
}

TEST(ModelConfig, OwnJsonNamesUnknownKeysWithTheNearestName) {
  EXPECT_EQ(error_of([] { ModelConfig::from_json({{"n_layer", 6}}, "c.json"); }),
            "unknown field 'model.n_layer'; did you mean 'model.n_layers'? (c.json)");
  EXPECT_EQ(error_of([] { ModelConfig::from_json({{"zzzzzzzz", 6}}, "c.json"); }),
            "unknown field 'model.zzzzzzzz' (c.json)");
  EXPECT_EQ(error_of([] { ModelConfig::from_json({{"n_layers", "six"}}, "c.json"); }),
            "field 'model.n_layers' must be an integer, not \"six\" (c.json)");
}

TEST(ModelConfig, NearestNameTakesTyposAndPrefixesOnly) {
  const std::vector<std::string> names = {"lr", "min_lr", "warmup_steps", "batch_size"};
  EXPECT_EQ(nearest_name("lrr", names), "lr");
  EXPECT_EQ(nearest_name("batch_sise", names), "batch_size");
  EXPECT_EQ(nearest_name("warmup", names), "warmup_steps");
  EXPECT_EQ(nearest_name("temperature", names), "");
}

// Every field of a config.json set to every kind of wrong value, one and two at a time:
// each load either succeeds with a valid config or throws slm::Error naming config.json,
// never another exception (nlohmann's type_error, std::bad_alloc) or a silent wrap.
TEST(ModelConfig, EveryWrongValueOfEveryFieldIsACleanError) {
  const std::vector<json> values = {"six", -1, 0, 1, 3, int64_t(1) << 31, int64_t(1) << 40, uint64_t(-1), -1e300,
                                    1.5, 1e300, true, nullptr, json::array(), json::object()};
  const json good = small().to_hf_config();
  std::vector<std::string> keys;
  for (const auto& [k, v] : good.items()) keys.push_back(k);
  size_t loads = 0, refused = 0;
  auto load = [&](const json& j) {
    ++loads;
    try {
      ModelConfig c = ModelConfig::from_hf_config(j, "m/config.json");
      c.validate("again");  // what loaded is in range
    } catch (const Error& e) {
      ++refused;
      EXPECT_EQ(e.where(), "m/config.json");
    }
  };
  for (size_t a = 0; a < keys.size(); ++a)
    for (const auto& va : values) {
      json j = good;
      j[keys[a]] = va;
      load(j);
      for (size_t b = a + 1; b < keys.size(); b += 3) {
        j[keys[b]] = values[(a + b) % values.size()];
        load(j);
      }
    }
  EXPECT_GT(loads, 1000u);
  EXPECT_GT(refused, loads / 2);  // most of these are wrong; the test would notice if none were refused
}

}  // namespace
