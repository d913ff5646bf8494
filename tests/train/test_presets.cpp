// The presets shipped in configs/: each one loads as `slm pretrain --config NAME` reads it
// (every key checked, the model validated), and the list that an unknown --config prints
// (read from the preset folders) names every one of them.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "slm/train/config_file.h"
#include "slm/util/error.h"

using namespace slm;
namespace fs = std::filesystem;

TEST(Presets, EveryPresetLoadsAndItsModelIsValid) {
  int presets = 0;
  for (const auto& entry : fs::directory_iterator(SLM_CONFIGS)) {
    if (entry.path().extension() != ".json") continue;
    const std::string name = entry.path().stem().string();
    SCOPED_TRACE(name);
    const auto run = train::load_run_config(name, {}, {SLM_CONFIGS});
    if (run.model) {  // the vocabulary comes from the data's tokenizer: any size will do here
      auto m = *run.model;
      m.vocab_size = 4096;
      EXPECT_NO_THROW(m.validate(run.path));
    }
    ++presets;
  }
  EXPECT_GE(presets, 5);
}

TEST(Presets, AnUnknownConfigNamesEveryModelPreset) {
  std::string message;
  try {
    train::find_config("no-such-preset", {SLM_CONFIGS});
  } catch (const Error& e) {
    message = e.what();
  }
  ASSERT_FALSE(message.empty());
  for (const auto& entry : fs::directory_iterator(SLM_CONFIGS)) {
    if (entry.path().extension() != ".json") continue;
    const auto run = train::load_run_config(entry.path().string(), {}, {});
    const std::string name = entry.path().stem().string();
    // Model presets and the fine-tuning one; dpo/grpo are found by their commands.
    if (run.model || name == "sft") {
      EXPECT_NE(message.find(name), std::string::npos) << name << ": " << message;
    }
  }
}
