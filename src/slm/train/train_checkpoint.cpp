#include "slm/train/train_checkpoint.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "slm/dist/comm.h"
#include "slm/model/model_files.h"
#include "slm/model/safetensors.h"
#include "slm/util/atomic_dir.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"

namespace slm::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The tensors the optimizer's moments follow: the adapters', or the model's.
const std::vector<model::TensorInfo>& moment_tensors(const model::Transformer<float>& m, const Adapters* adapters) {
  return adapters ? adapters->tensors() : m.layout().tensors;
}

}  // namespace

void save_checkpoint(const std::string& dir, const model::Transformer<float>& m, AdamW& opt, const TrainConfig& tc,
                     const TrainerState& st, const std::string& tokenizer_json, const std::string& data_dir,
                     const std::function<void(const std::string&)>& add_files, const Adapters* adapters) {
  if (!adapters && (opt.lo() != 0 || opt.hi() != m.num_params()))
    throw Error("a checkpoint needs the whole optimizer state, not one rank's shard (gather it first)", dir);
  AtomicDir out(dir);
  const std::string& tmp = out.path();
  if (adapters)
    adapters->save(tmp);  // the base stays where it is: the adapters are the whole of what was trained
  else
    model::save_model_files(tmp, m);
  if (!tokenizer_json.empty()) fs::copy_file(tokenizer_json, fs::path(tmp) / "tokenizer.json");
  std::vector<model::NamedTensor> moments;
  for (const auto& t : moment_tensors(m, adapters)) {
    moments.push_back({"m." + t.name, t.shape, opt.m().data() + t.offset});
    moments.push_back({"v." + t.name, t.shape, opt.v().data() + t.offset});
  }
  model::write_safetensors((fs::path(tmp) / "optimizer.safetensors").string(), moments);
  json state = {{"step", st.step},
                {"world", st.world},
                {"sampler", st.data},
                {"last_val_loss", st.last_val_loss},
                {"train", tc.to_json()},
                {"model", m.config().to_json()},
                {"data", data_dir}};
  write_file_atomic((fs::path(tmp) / "trainer_state.json").string(), state.dump(2) + "\n");
  if (add_files) add_files(tmp);
  out.commit();
}

namespace {

void load_model_weights(const std::string& dir, model::Transformer<float>& m) {
  // Name the first field in which the checkpoint's model differs from the configured one.
  json have = model::load_model_config(dir).to_json(), want = m.config().to_json();
  for (const auto& [k, v] : want.items())
    if (have[k] != v)
      throw Error("the checkpoint's model." + k + " is " + have[k].dump() + ", the configured model's is " + v.dump() +
                      ": a checkpoint of another architecture",
                  (fs::path(dir) / "config.json").string());
  auto loaded = model::load_model(dir);
  std::copy(loaded->params(), loaded->params() + m.num_params(), m.params());
}

}  // namespace

TrainerState load_checkpoint(const std::string& dir, model::Transformer<float>& m, AdamW& opt, Adapters* adapters) {
  if (!adapters && (opt.lo() != 0 || opt.hi() != m.num_params()))
    throw Error("loading a checkpoint needs an optimizer for the whole model, not one rank's shard", dir);
  if (adapters)
    adapters->load(dir);
  else
    load_model_weights(dir, m);
  std::string opt_path = (fs::path(dir) / "optimizer.safetensors").string();
  auto moments = model::read_safetensors(opt_path);
  for (const auto& t : moment_tensors(m, adapters))
    for (const char* kind : {"m.", "v."}) {
      auto it = moments.find(kind + t.name);
      if (it == moments.end() || int64_t(it->second.data.size()) != t.size)
        throw Error("missing or mis-sized optimizer tensor '" + std::string(kind) + t.name + "'", opt_path);
      auto& dst = kind[0] == 'm' ? opt.m() : opt.v();
      std::copy(it->second.data.begin(), it->second.data.end(), dst.begin() + t.offset);
    }
  std::string state_path = (fs::path(dir) / "trainer_state.json").string();
  json j;
  try {
    j = json::parse(read_file(state_path));
    TrainerState st;
    st.step = j.at("step").get<int64_t>();
    st.data = j.at("sampler");
    st.last_val_loss = j.value("last_val_loss", -1.0);
    st.world = j.value("world", 1);
    return st;
  } catch (const json::exception& e) {
    throw Error(std::string("bad trainer state: ") + e.what(), state_path);
  }
}

std::string resolve_checkpoint(const std::string& path) {
  if (fs::exists(fs::path(path) / "trainer_state.json")) return path;
  auto cps = list_checkpoints(path);
  if (cps.empty()) throw Error("no checkpoint here (expected trainer_state.json or checkpoints/step_*)", path);
  return cps.back();
}

void keep_global_batch(TrainConfig& tc, const std::string& resume, int world, bool quiet) {
  if (resume.empty()) return;
  const std::string state_path = (fs::path(resolve_checkpoint(resume)) / "trainer_state.json").string();
  int then_world = 1, then_accum = 1, then_batch = 0;
  try {
    const json j = json::parse(read_file(state_path));
    then_world = j.value("world", 1);
    then_accum = j.at("train").at("grad_accum").get<int>();
    then_batch = j.at("train").at("batch_size").get<int>();
  } catch (const json::exception& e) {
    throw Error(std::string("bad trainer state: ") + e.what(), state_path);
  }
  if (then_world == world) return;  // the same world: the user's grad_accum stands, as on one process
  const int64_t then_micro = int64_t(then_world) * then_accum;  // micro-batches a step, all ranks
  if (then_batch != tc.batch_size || then_micro % world != 0)
    throw Error(fmt::format("the checkpoint was written by {} rank(s) x {} micro-batch(es) of {} sequences per step; "
                            "{} rank(s) with train.batch_size {} cannot make the same step (keep batch_size {} and "
                            "use a number of ranks that divides {})",
                            then_world, then_accum, then_batch, world, tc.batch_size, then_batch, then_micro),
                state_path);
  tc.grad_accum = int(then_micro / world);
  if (!quiet && dist::is_root())
    fmt::print(stderr, "slm: note: resuming a {}-rank run on {} rank(s): train.grad_accum is now {} so that a step "
                       "still takes {} sequences\n",
               then_world, world, tc.grad_accum, then_micro * then_batch);
}

std::vector<std::string> list_checkpoints(const std::string& run_dir) {
  std::vector<std::string> out;
  fs::path dir = fs::path(run_dir) / "checkpoints";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    auto name = e.path().filename().string();
    if (e.is_directory() && name.rfind("step_", 0) == 0 && name.find('.') == std::string::npos)
      out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace slm::train
