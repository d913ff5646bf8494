#pragma once
// What every command shares: the flags --seed, --threads, --quiet, and how a command's
// work is run so that errors print one line and exit with the right code.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <string>

namespace slm::cli {

struct Common {
  uint64_t seed = 1;
  int threads = 0;  // 0: all cores
  bool quiet = false;
  int resolved_threads() const;
};

// Adds --seed, --threads and --quiet to a command.
void add_common(CLI::App* cmd, Common& c);

// Each file of src/cli/ adds its commands here.
void add_data_commands(CLI::App& app);
void add_tokenizer_commands(CLI::App& app);
void add_train_commands(CLI::App& app);
void add_generate_commands(CLI::App& app);
void add_eval_commands(CLI::App& app);
void add_export_commands(CLI::App& app);
void add_quantize_commands(CLI::App& app);

}  // namespace slm::cli
