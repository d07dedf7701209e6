#include "generate.h"

#include <cstdio>

#include "soma/data/datasets/text.h"
#include "soma/io/safetensors.h"
#include "soma/models/char_lstm.h"
#include "soma/run/build.h"
#include "soma/run/config.h"
#include "soma/train/checkpoint.h"

namespace soma::cli {

using namespace soma::run;

int run_generate(const GenerateArgs& args) {
  const io::Safetensors file = io::load_safetensors(args.weights);
  auto metadata = [&](const char* key) {
    const auto found = file.metadata.find(key);
    SOMA_CHECK(found != file.metadata.end(), args.weights, ": no \"", key,
               "\" in the metadata; generate takes the weights `soma train --save` writes for a "
               "text model");
    return found->second;
  };
  const Config config = parse_config(metadata("soma.config"), args.weights + " (its config)");
  const data::CharVocabulary vocabulary(metadata("soma.vocabulary"));
  const nn::ModulePtr model = build_model(config, {config.sequence_length});
  auto* language_model = dynamic_cast<models::CharLstm*>(model.get());
  SOMA_CHECK(language_model, args.weights, ": generate needs a char_lstm model, found \"",
             model->kind(), "\"");
  try {
    model->load_state_dict(train::model_weights(file));
  } catch (const Error& e) {
    fail(args.weights, ": ", e.what());
  }
  SOMA_CHECK(!args.prime.empty(), "--prime must have at least one character");
  Tensor prime;
  try {
    prime = vocabulary.encode(args.prime);
  } catch (const Error& e) {
    fail("--prime: ", e.what());
  }
  const Autocast autocast(args.precision.empty() ? config.precision
                                                 : parse_precision(args.precision, "--precision"));
  Rng rng(uint64_t(args.seed));
  const std::vector<int64_t> text =
      language_model->generate(prime.to_vector<int64_t>(), args.length,
                               {.temperature = args.temperature, .top_k = args.top_k}, rng);
  const std::string written = vocabulary.decode(Tensor::from(text, {int64_t(text.size())}));
  std::printf("%s%s\n", args.prime.c_str(), written.c_str());
  return 0;
}

}  // namespace soma::cli
