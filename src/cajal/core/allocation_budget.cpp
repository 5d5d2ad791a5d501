#include "cajal/core/allocation_budget.h"

#include "cajal/core/error.h"

namespace cajal {

namespace {
thread_local AllocationBudget* innermost = nullptr;
}  // namespace

AllocationBudget::AllocationBudget(size_t bytes, std::string exceeded)
    : left_(bytes), exceeded_(std::move(exceeded)), outer_(innermost) {
  innermost = this;
}

AllocationBudget::~AllocationBudget() { innermost = outer_; }

void AllocationBudget::spend(size_t nbytes) {
  if (!innermost) return;
  if (nbytes > innermost->left_) fail<Error>(innermost->exceeded_);
  innermost->left_ -= nbytes;
}

}  // namespace cajal
