// ONNX inference throughput (bench/README.md, "ONNX inference"): models imported with
// cajal::onnx::load run on fixed inputs, timed like every other bench (timing.h: median
// seconds per call of 7 runs after a warm-up), with recording off (NoGradGuard). The same
// models and inputs run in ONNX Runtime (onnx_inference.js) and PyTorch eager
// (onnx_inference.py); bench/onnx_inference.sh drives all three and compares.
//
//   bench_onnx_inference --export-cnn DIR   writes DIR/cnn.onnx: the cnn preset (1x28x28,
//                                           10 classes), seeded weights, non-trivial BN stats
//   bench_onnx_inference DIR [ROW...]       times each row (default: all) and writes
//                                           DIR/out_cajal_<row>.npy for the comparison
//   bench_onnx_inference --peak             the FMA peak on the OpenMP threads (INFO lines)
// A row is MODEL_bBATCH: its model is DIR/MODEL.onnx, its input DIR/x_MODEL_bBATCH.npy.
#include <cajal/onnx/export.h>
#include <cajal/onnx/import.h>
#include <cajal/models/models.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "data.h"
#include "fma_peak.h"
#include "timing.h"

using namespace cajal;

namespace {

const std::vector<std::string> kRows = {"resnet18_b1", "resnet18_b32", "mobilenet_v2_b1", "mobilenet_v2_b32", "cnn_b1000"};

int export_cnn(const std::string& dir) {
  manual_seed(0);
  auto model = models::cnn({.in_channels = 1, .image_size = {28, 28}, .num_classes = 10});
  // Running statistics other than 0 and 1, so batch norm does something.
  uint32_t seed = 7;
  for (auto& [name, t] : model->named_buffers()) {
    if (t.dtype() != DType::f32) continue;
    Tensor u = bench::uniform_tensor(t.sizes(), seed++);
    float* p = t.data_ptr<float>();
    const float* q = u.data_ptr<float>();
    bool var = name.ends_with("running_var");
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = var ? 1.0f + 0.5f * q[i] : 0.2f * q[i];
  }
  model->eval();
  onnx::export_model(*model, zeros({1, 1, 28, 28}), dir + "/cnn.onnx", {.opset = 17, .dynamic_batch = true});
  std::printf("wrote %s/cnn.onnx\n", dir.c_str());
  return 0;
}

std::string model_of(const std::string& row) { return row.substr(0, row.rfind("_b")); }

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 2 && args[0] == "--export-cnn") return export_cnn(args[1]);
  if (args.size() == 1 && args[0] == "--peak") {
    bench::info("threads", num_threads());
    bench::report_fma_peaks(500);
    return 0;
  }
  if (args.empty()) {
    std::fprintf(stderr, "usage: bench_onnx_inference --peak | --export-cnn DIR | DIR [ROW...]\n");
    return 2;
  }
  std::string dir = args[0];
  std::vector<std::string> rows(args.begin() + 1, args.end());
  if (rows.empty()) rows = kRows;
  NoGradGuard no_grad;
  for (const std::string& row : rows) {
    auto model = onnx::load(dir + "/" + model_of(row) + ".onnx");
    model->eval();
    Tensor x = load_npy(dir + "/x_" + row + ".npy");
    Tensor y = model->forward(x);
    save_npy(y.contiguous(), dir + "/out_cajal_" + row + ".npy");
    double s = bench::seconds_per_call([&] { model->forward(x); });
    bench::report(("onnx." + row).c_str(), s);
    std::fflush(stdout);
  }
  return 0;
}
