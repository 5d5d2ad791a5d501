#include "cajal/nn/distributed.h"

#include <chrono>

#include "cajal/autograd/grad_mode.h"
#include "cajal/autograd/node.h"
#include "cajal/dist/dist.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/reduce.h"
#include "cajal/ops/shape.h"

namespace cajal::nn {

// ------------------------------------------------------------------ DistributedDataParallel

// A bucket: some parameters' gradients, flattened one after another into `buffer`.
struct Bucket {
  std::vector<size_t> params;    // indices into State::params
  std::vector<int64_t> offsets;  // where each starts in buffer
  Tensor buffer;                 // 1-D, the parameters' dtype
  int64_t ready = 0;             // parameters whose gradient is in the buffer this step
  std::unique_ptr<dist::Work> work;  // the all-reduce in flight, if started
};

struct DistributedDataParallelImpl::State {
  dist::Communicator* comm = nullptr;
  std::vector<Tensor> params;        // registration order
  std::vector<size_t> bucket_of;     // per parameter
  std::vector<size_t> slot_of;       // its position in its bucket
  std::vector<bool> arrived;         // got its gradient this step
  std::vector<Bucket> buckets;       // in the order they fill: the last parameters first
  bool pending = false;              // gradients of this step arrived (cleared by synchronize)
  bool accumulating = false;         // inside no_sync
  int64_t bytes = 0;
  double wait_seconds = 0;
  int64_t steps = 0, total_bytes = 0;
  double total_wait = 0;

  void reset();  // no gradient has arrived, no reduction runs
  void start(Bucket& bucket) { bucket.work = comm->all_reduce_async(bucket.buffer, dist::ReduceOp::Sum); }

  // The gradient hook of parameter p: its gradient this step is what .grad() already holds
  // (accumulated, e.g. under no_sync) plus `incoming`, which the engine adds right after.
  void arrive(size_t p, const Tensor& incoming) {
    if (accumulating) return;
    pending = true;
    Bucket& bucket = buckets[bucket_of[p]];
    if (arrived[p])
      fail<ValueError>("DistributedDataParallel: parameter ", p, " received a second gradient in one backward (a parameter used "
                       "twice per step); its bucket may already be reducing");
    arrived[p] = true;
    const Tensor& param = params[p];
    Tensor total = param.grad().defined() ? param.grad() + incoming : incoming;
    bucket.buffer.narrow(0, bucket.offsets[slot_of[p]], param.numel()).copy_(total.reshape({-1}));
    if (++bucket.ready == static_cast<int64_t>(bucket.params.size())) start(bucket);
    // Open MPI advances non-blocking reductions only inside MPI calls: poke the ones in flight.
    for (Bucket& b : buckets)
      if (b.work) b.work->test();
  }
};

DistributedDataParallelImpl::DistributedDataParallelImpl(ModulePtr module, DdpOptions options, dist::Communicator* comm)
    : module_(std::move(module)), state_(std::make_shared<State>()) {
  if (!module_) fail<ValueError>("DistributedDataParallel: no module");
  if (!(options.bucket_mb > 0)) fail<ValueError>("DistributedDataParallel: bucket_mb must be positive, got ", options.bucket_mb);
  register_module("module", module_);
  State& s = *state_;
  s.comm = comm ? comm : &dist::world();
  // Every rank starts from rank 0's values.
  {
    NoGradGuard no_grad;
    for (Tensor& p : module_->parameters()) {
      Tensor values = p.detach().contiguous().clone();
      s.comm->broadcast(values, 0);
      p.detach().copy_(values);
    }
    if (options.broadcast_buffers)
      for (Tensor& b : module_->buffers()) {
        Tensor values = b.contiguous().clone();
        s.comm->broadcast(values, 0);
        b.copy_(values);
      }
  }
  for (const Tensor& p : module_->parameters())
    if (p.requires_grad()) s.params.push_back(p);
  // Buckets in reverse registration order, each up to bucket_mb (a larger parameter alone).
  const auto limit = static_cast<int64_t>(options.bucket_mb * 1024 * 1024);
  s.bucket_of.resize(s.params.size());
  s.slot_of.resize(s.params.size());
  s.arrived.assign(s.params.size(), false);
  int64_t filled = limit;
  for (size_t i = s.params.size(); i-- > 0;) {
    const Tensor& p = s.params[i];
    const auto bytes = p.numel() * static_cast<int64_t>(p.element_size());
    if (filled + bytes > limit || s.buckets.back().buffer.dtype() != p.dtype()) {
      s.buckets.emplace_back();
      s.buckets.back().buffer = zeros({0}, {.dtype = p.dtype()});
      filled = 0;
    }
    Bucket& bucket = s.buckets.back();
    s.bucket_of[i] = s.buckets.size() - 1;
    s.slot_of[i] = bucket.params.size();
    bucket.offsets.push_back(bucket.buffer.numel());
    bucket.params.push_back(i);
    bucket.buffer = zeros({bucket.buffer.numel() + p.numel()}, {.dtype = p.dtype()});
    filled += bytes;
  }
  // The hooks hold the state weakly: once the wrapper is gone they do nothing.
  std::weak_ptr<State> weak = state_;
  for (size_t i = 0; i < s.params.size(); ++i) {
    s.params[i].register_hook([weak, i](const Tensor& grad) {
      if (std::shared_ptr<State> state = weak.lock()) state->arrive(i, grad);
      return Tensor();
    });
  }
}

DistributedDataParallelImpl::~DistributedDataParallelImpl() {
  // Reductions still in flight must finish before their buffers go.
  for (Bucket& bucket : state_->buckets)
    if (bucket.work) bucket.work->wait();
}

void DistributedDataParallelImpl::State::reset() {
  for (Bucket& bucket : buckets) {
    if (bucket.work) bucket.work->wait();
    bucket.work.reset();
    bucket.ready = 0;
  }
  arrived.assign(params.size(), false);
  pending = false;
}

Tensor DistributedDataParallelImpl::forward(const Tensor& input) {
  // A step whose gradients were never synchronized (an exception between backward and the
  // step) must not leak into this one.
  if (state_->pending) state_->reset();
  return module_->call(input);
}

void DistributedDataParallelImpl::synchronize() {
  State& s = *state_;
  if (!s.pending) return;  // no backward since the last synchronize, or only under no_sync
  const int world = s.comm->size();
  // Buckets some of whose parameters got no gradient (unused this step) start now, the
  // missing ones as their accumulated gradient or zeros.
  for (Bucket& bucket : s.buckets) {
    if (bucket.work) continue;
    for (size_t k = 0; k < bucket.params.size(); ++k) {
      const size_t p = bucket.params[k];
      if (s.arrived[p]) continue;
      Tensor slot = bucket.buffer.narrow(0, bucket.offsets[k], s.params[p].numel());
      if (s.params[p].grad().defined()) slot.copy_(s.params[p].grad().reshape({-1}));
      else slot.zero_();
    }
    s.start(bucket);
  }
  const auto begin = std::chrono::steady_clock::now();
  s.bytes = 0;
  for (Bucket& bucket : s.buckets) {
    bucket.work->wait();
    bucket.work.reset();
    s.bytes += bucket.buffer.numel() * static_cast<int64_t>(bucket.buffer.element_size());
    Tensor mean = bucket.buffer / static_cast<double>(world);
    for (size_t k = 0; k < bucket.params.size(); ++k) {
      Tensor& param = s.params[bucket.params[k]];
      param.set_grad(mean.narrow(0, bucket.offsets[k], param.numel()).reshape(param.sizes()).contiguous());
    }
  }
  s.wait_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  ++s.steps;
  s.total_bytes += s.bytes;
  s.total_wait += s.wait_seconds;
  s.reset();
}

DistributedDataParallelImpl::NoSync::NoSync(DistributedDataParallelImpl& ddp) : ddp_(ddp) { ddp_.state_->accumulating = true; }
DistributedDataParallelImpl::NoSync::~NoSync() { ddp_.state_->accumulating = false; }

int64_t DistributedDataParallelImpl::bucket_count() const { return static_cast<int64_t>(state_->buckets.size()); }
int64_t DistributedDataParallelImpl::last_bytes_reduced() const { return state_->bytes; }
double DistributedDataParallelImpl::last_wait_seconds() const { return state_->wait_seconds; }
int64_t DistributedDataParallelImpl::steps() const { return state_->steps; }
int64_t DistributedDataParallelImpl::total_bytes_reduced() const { return state_->total_bytes; }
double DistributedDataParallelImpl::total_wait_seconds() const { return state_->total_wait; }

// ------------------------------------------------------------------ SyncBatchNorm

namespace {

// The sum of `local` over every rank, differentiable: the gradient of each rank's input is
// the sum over ranks of the gradients of the output (every rank's output is the same sum).
Tensor all_reduce_sum(const Tensor& local, dist::Communicator& comm) {
  Tensor out = local.detach().contiguous().clone();
  comm.all_reduce(out, dist::ReduceOp::Sum);
  autograd::record("sync_batch_norm_all_reduce", out, {&local}, [&comm](const Tensor& grad) -> TensorList {
    Tensor summed = grad.contiguous().clone();
    comm.all_reduce(summed, dist::ReduceOp::Sum);
    return {summed};
  });
  return out;
}

}  // namespace

SyncBatchNormImpl::SyncBatchNormImpl(int64_t num_features, BatchNormOptions options, dist::Communicator* comm)
    : BatchNormImpl("SyncBatchNorm", num_features, options), comm_(comm ? comm : &dist::world()) {}

void SyncBatchNormImpl::check_input_dim(const Tensor& x) const {
  if (x.dim() < 2) fail<ValueError>("SyncBatchNorm: expected an input [N, C, ...], got shape ", x.sizes());
}

Tensor SyncBatchNormImpl::forward(const Tensor& x) {
  if (!(is_training() || !track_running_stats) || comm_->size() == 1) return BatchNormImpl::forward(x);
  check_input_dim(x);
  check_channels(x);
  // Per channel: the count, sum and sum of squares of the global batch.
  Dims reduce = {0};
  for (int64_t d = 2; d < x.dim(); ++d) reduce.push_back(d);
  Dims shape(static_cast<size_t>(x.dim()), 1);
  shape[1] = num_features;
  const double count_local = static_cast<double>(x.numel() / num_features);
  Tensor count = full({1}, count_local, {.dtype = DType::f64});
  comm_->all_reduce(count, dist::ReduceOp::Sum);
  const double n = count.item();
  // Two passes, as BatchNorm computes them (E[x^2] - E[x]^2 would lose digits).
  Tensor mean = all_reduce_sum(x.sum(reduce), *comm_) / n;
  Tensor centered = x - mean.reshape(shape);
  Tensor var = all_reduce_sum((centered * centered).sum(reduce), *comm_) / n;
  if (track_running_stats && is_training()) {
    NoGradGuard no_grad;
    num_batches_tracked.add_(1);
    const double m = momentum ? *momentum : 1.0 / num_batches_tracked.item();
    running_mean.copy_(running_mean * (1 - m) + mean.detach().to(running_mean.dtype()) * m);
    running_var.copy_(running_var * (1 - m) + (var.detach() * (n / std::max(n - 1, 1.0))).to(running_var.dtype()) * m);
  }
  Tensor y = centered / (var.reshape(shape) + eps).sqrt();
  if (affine) y = y * weight.reshape(shape) + bias.reshape(shape);
  return y;
}

int64_t convert_sync_batchnorm(Module& module, dist::Communicator* comm) {
  int64_t replaced = 0;
  for (const auto& [path, child] : module.named_modules()) {
    auto* norm = dynamic_cast<BatchNormImpl*>(child.get());
    if (!norm || dynamic_cast<SyncBatchNormImpl*>(norm) || path.empty()) continue;
    auto sync = std::make_shared<SyncBatchNormImpl>(
        norm->num_features,
        BatchNormOptions{.eps = norm->eps, .momentum = norm->momentum, .affine = norm->affine,
                         .track_running_stats = norm->track_running_stats},
        comm);
    NoGradGuard no_grad;
    for (const auto& [name, value] : norm->state_dict())
      for (auto& [sync_name, sync_value] : sync->state_dict())
        if (sync_name == name) sync_value.copy_(value);
    module.replace(path, sync);
    ++replaced;
  }
  return replaced;
}

}  // namespace cajal::nn
