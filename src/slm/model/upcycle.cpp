#include "slm/model/upcycle.h"

#include <cmath>
#include <filesystem>

#include "slm/model/model_files.h"
#include "slm/util/atomic_dir.h"
#include "slm/util/error.h"
#include "slm/util/rng.h"

namespace slm::model {

namespace fs = std::filesystem;

int64_t upcycle_model(const std::string& model_dir, const std::string& out, const UpcycleOptions& opt) {
  auto dense = load_model(model_dir);
  const ModelConfig& dc = dense->config();
  if (dc.is_moe()) throw Error("the model already has " + std::to_string(dc.n_experts) + " experts", model_dir);
  if (opt.experts < 2 || opt.experts > 1024)
    throw Error("--experts is " + std::to_string(opt.experts) + "; it must be in [2, 1024]");
  if (opt.experts_per_token < 1 || opt.experts_per_token > opt.experts)
    throw Error("--top-k is " + std::to_string(opt.experts_per_token) + "; it must be in [1, " +
                std::to_string(opt.experts) + "] (--experts)");
  ModelConfig c = dc;
  c.n_experts = opt.experts;
  c.experts_per_token = opt.experts_per_token;
  c.moe_every = 1;
  c.expert_hidden_dim = 0;  // each expert as wide as the dense MLP it copies
  Transformer<float> m(c);
  const auto& L = m.layout();
  auto copy = [&](int from, int to) {
    const auto& s = dense->layout().tensors[size_t(from)];
    std::copy_n(dense->params() + s.offset, s.size, m.params() + L.tensors[size_t(to)].offset);
  };
  // Every tensor both models have keeps its weights (attention, norms, embeddings).
  for (size_t i = 0; i < L.tensors.size(); ++i)
    if (int j = dense->layout().find(L.tensors[i].name); j >= 0) copy(j, int(i));
  Rng rng(opt.seed);
  for (int l = 0; l < c.n_layers; ++l) {
    const auto& D = dense->layout().layers[size_t(l)];
    const auto& M = L.moe[size_t(l)];
    for (int e = 0; e < c.n_experts; ++e) {
      copy(D.w_gate, M.w_gate[size_t(e)]);
      copy(D.w_up, M.w_up[size_t(e)]);
      copy(D.w_down, M.w_down[size_t(e)]);
    }
    const auto& r = L.tensors[size_t(M.router)];
    float* w = m.params() + r.offset;
    for (int64_t i = 0; i < r.size; ++i) {  // Box-Muller
      const double u1 = rng.uniform() + 1e-300, u2 = rng.uniform();
      w[i] = float(opt.router_std * std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * M_PI * u2));
    }
  }
  AtomicDir dir(out);
  // The folder's other files (tokenizer.json, the prompt template) come along unchanged.
  for (const auto& f : fs::directory_iterator(model_dir)) {
    const std::string name = f.path().filename().string();
    if (f.is_regular_file() && name != "config.json" && name.find(".safetensors") == std::string::npos)
      fs::copy_file(f.path(), dir.file(name));
  }
  save_model_files(dir.path(), m);
  dir.commit();
  return m.num_params();
}

}  // namespace slm::model
