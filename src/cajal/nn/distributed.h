#pragma once
// Data-parallel training: DistributedDataParallel and SyncBatchNorm, as torch.nn's, over a
// dist::Communicator (MPI today; cajal/dist/dist.h).
//
//   dist::init();                                          // under mpirun: one process per rank
//   auto model = nn::DistributedDataParallel(net, {.bucket_mb = 25});
//   loss(model(x), y).backward();                          // buckets reduce while backward runs
//   model->synchronize();                                  // every rank holds the mean gradient
//   optimizer.step();
//
// Every rank starts from rank 0's parameters and buffers (broadcast when the wrapper is made).
// Gradients are averaged over the ranks by all-reduce in buckets of about bucket_mb
// megabytes, filled in reverse registration order (the order backward produces them): a
// gradient hook on each parameter copies its gradient into its bucket, and a full bucket
// starts a non-blocking all-reduce while backward goes on with earlier layers.
// synchronize() waits for them and writes the averages into .grad(); a parameter that got no
// gradient this step contributes zeros. Inside a no_sync() scope gradients only accumulate
// locally (gradient accumulation); the first step after it reduces the accumulated sum.
#include <memory>
#include <vector>

#include "cajal/nn/module.h"
#include "cajal/nn/norm.h"

namespace cajal::dist {
class Communicator;
}

namespace cajal::nn {

struct DdpOptions {
  double bucket_mb = 25;         // bucket size, in megabytes of gradient
  bool broadcast_buffers = true;  // also start every rank from rank 0's buffers (batch-norm statistics)
};

class DistributedDataParallelImpl : public Module {
 public:
  using Options = DdpOptions;
  // `module` is wrapped as the child "module" (torch's names: "module.0.weight"); `comm`
  // defaults to dist::world().
  explicit DistributedDataParallelImpl(ModulePtr module, DdpOptions options = {}, dist::Communicator* comm = nullptr);
  ~DistributedDataParallelImpl() override;
  std::string name() const override { return "DistributedDataParallel"; }
  Tensor forward(const Tensor& input) override;

  // Waits for the gradient reductions of the latest backward and leaves the mean gradient in
  // every parameter's .grad(). Call it after backward, before clipping and the optimizer step
  // (the Trainer does: TrainerOptions::after_backward).
  void synchronize();

  // Gradient accumulation: while the returned guard lives, backward does not reduce.
  class NoSync {
   public:
    explicit NoSync(DistributedDataParallelImpl& ddp);
    ~NoSync();
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;

   private:
    DistributedDataParallelImpl& ddp_;
  };
  [[nodiscard]] NoSync no_sync() { return NoSync(*this); }

  const ModulePtr& module() const { return module_; }
  int64_t bucket_count() const;
  // Bytes all-reduced by the latest synchronize(), and the seconds it waited for reductions
  // still running when backward had finished (communication that did not overlap).
  int64_t last_bytes_reduced() const;
  double last_wait_seconds() const;
  // Totals over every synchronize() so far: steps, bytes and seconds waited.
  int64_t steps() const;
  int64_t total_bytes_reduced() const;
  double total_wait_seconds() const;

 private:
  struct State;
  ModulePtr module_;
  std::shared_ptr<State> state_;  // shared with the parameters' gradient hooks, which hold it weakly
};
CAJAL_MODULE(DistributedDataParallel);

// Batch normalization whose training statistics are those of the whole global batch: each
// rank's sums are all-reduced (differentiably, so the backward pass sums across ranks too),
// as torch.nn.SyncBatchNorm. With one process it is BatchNorm. Inputs [N, C, ...].
class SyncBatchNormImpl : public BatchNormImpl {
 public:
  explicit SyncBatchNormImpl(int64_t num_features, BatchNormOptions options = {}, dist::Communicator* comm = nullptr);
  Tensor forward(const Tensor& input) override;

 protected:
  void check_input_dim(const Tensor& x) const override;

 private:
  dist::Communicator* comm_;
};
CAJAL_MODULE(SyncBatchNorm);

// Replaces every BatchNorm1d/2d in `module` by a SyncBatchNorm with the same parameters and
// statistics (torch's convert_sync_batchnorm); returns how many it replaced.
int64_t convert_sync_batchnorm(Module& module, dist::Communicator* comm = nullptr);

}  // namespace cajal::nn
