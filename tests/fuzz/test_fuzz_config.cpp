// config.json of a model folder (model::load_model_config): mutated files load or are
// refused with slm::Error.
//
// DISABLED_ until src/slm/model/config.cpp and model_files.cpp (another engineer's, being
// reworked for unknown keys) refuse the inputs listed in DISABLED_KnownBadInputsAreRefused;
// enable both then (the lead's note for issue 21 lists the fix).
#include <gtest/gtest.h>

#include "fuzz.h"
#include "slm/model/config.h"
#include "slm/model/model_files.h"
#include "slm/util/error.h"
#include "test_util.h"

using namespace slm;
using namespace slm::model;

namespace {

// config.json as save_model_files writes it: Hugging Face's fields and slm's own section.
nlohmann::json tiny_config(bool slm_section) {
  ModelConfig c;
  c.vocab_size = 300, c.dim = 32, c.n_layers = 1, c.n_heads = 2, c.n_kv_heads = 1, c.hidden_dim = 64, c.context = 16;
  auto j = c.to_hf_config();
  if (slm_section) j["slm"] = c.to_json();
  return j;
}

std::string config_error(const test::TempDir& dir, const std::string& text) {
  test::spit(dir / "config.json", text);
  return fuzz::error_of([&] { load_model_config(dir.path().string()); });
}

}  // namespace

TEST(FuzzConfig, DISABLED_MutatedConfigJsonLoadsOrIsRefused) {
  test::TempDir dir;
  const nlohmann::json trees[] = {tiny_config(true), tiny_config(false)};
  fuzz::Mutator mut(2107);
  const int n = fuzz::inputs_per_format();
  const auto o = fuzz::run(
      dir / "config.json", n,
      [&](int i, std::string& what) {
        const auto& tree = trees[i % 2];
        if (i < 100) return fuzz::Mutator::truncated(tree.dump(2), i / 2, 50, what);
        return i % 5 ? mut.json(tree, what) : mut.bytes(tree.dump(2), what);
      },
      [&](const std::string&) {
        const ModelConfig c = load_model_config(dir.path().string());
        // What loads must be a model slm can build without believing absurd sizes.
        if (count_params(c) > (int64_t(1) << 34)) throw std::logic_error("accepted a config of absurd size");
      });
  EXPECT_GT(o.parsed, n / 50);
  EXPECT_GT(o.refused, n / 50);
  EXPECT_LT(o.seconds, 10 * fuzz::slowdown());
  std::printf("config.json: %d loaded, %d refused, %.2f CPU s (slowest input %.3f s)\n", o.parsed, o.refused, o.seconds,
              o.slowest);
}

TEST(FuzzConfig, HandMadeBadFieldsAreNamed) {
  test::TempDir dir;
  auto hf = tiny_config(false);
  EXPECT_EQ(config_error(dir, hf.dump()), "(no error)");
  auto set = [&](const char* key, const nlohmann::json& v) {
    auto j = hf;
    j[key] = v;
    return config_error(dir, j.dump());
  };
  EXPECT_NE(set("hidden_size", "32").find("hidden_size"), std::string::npos);
  EXPECT_NE(set("num_attention_heads", 3).find("n_heads"), std::string::npos);
  EXPECT_NE(config_error(dir, "{").find("malformed JSON"), std::string::npos);
}

// Each input here is accepted silently, or refused with an exception that is not
// slm::Error, by config.cpp / model_files.cpp today (the message each gives is printed).
TEST(FuzzConfig, DISABLED_KnownBadInputsAreRefused) {
  test::TempDir dir;
  auto set = [&](const char* key, const nlohmann::json& v) {
    auto j = tiny_config(false);
    j[key] = v;
    return j.dump();
  };
  auto slm_dim = tiny_config(true);
  slm_dim["slm"]["dim"] = uint64_t(1) << 32 | 32;  // wraps to 32 today
  const std::pair<std::string, const char*> cases[] = {
      {set("model_type", 5), "model_type"},
      {set("rms_norm_eps", "small"), "rms_norm_eps"},
      {set("rope_theta", nlohmann::json::array()), "rope_theta"},
      {set("tie_word_embeddings", "yes"), "tie_word_embeddings"},
      {set("num_key_value_heads", "1"), "num_key_value_heads"},
      {set("hidden_size", 32.5), "hidden_size"},
      {set("hidden_size", 1e30), "hidden_size"},  // refused today only through undefined behaviour (1e30 to int)
      {set("hidden_size", uint64_t(1) << 32 | 32), "hidden_size"},  // wraps to 32 today
      {set("intermediate_size", 1 << 30), "intermediate_size"},     // 2^30 * 32 * 3 floats
      {set("vocab_size", 2000000000), "vocab_size"},
      {set("num_hidden_layers", 2000000000), "num_hidden_layers"},
      {set("max_position_embeddings", 2000000000), "max_position_embeddings"},  // KV cache of 2e9 positions
      {R"({"vocab_size": 1e999})", "config.json"},  // json out_of_range 406, not parse_error
      {"[1]", "config.json"},
      {slm_dim.dump(), "dim"},
  };
  for (const auto& [text, field] : cases) {
    const std::string msg = config_error(dir, text);
    EXPECT_TRUE(msg.find(field) != std::string::npos && msg.find("not slm::Error") == std::string::npos &&
                msg != "(no error)")
        << "config.json " << text.substr(0, 200) << "\n  gives: " << msg;
  }
}
