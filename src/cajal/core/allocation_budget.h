#pragma once
// A cap on the bytes Storage::allocate hands out on one thread, for building something whose
// size an untrusted file decides:
//
//   AllocationBudget budget(4 * file_size, path + ": the model is larger than its weights");
//   model = build(...);
//
// While the budget lives, the allocation that would pass it throws an Error with `exceeded`
// as message, before any memory is taken. Budgets nest: the innermost one counts.
#include <cstddef>
#include <string>

namespace cajal {

class AllocationBudget {
 public:
  AllocationBudget(size_t bytes, std::string exceeded);
  ~AllocationBudget();
  AllocationBudget(const AllocationBudget&) = delete;
  AllocationBudget& operator=(const AllocationBudget&) = delete;

  // Takes nbytes from the innermost budget of this thread, if there is one, or throws.
  static void spend(size_t nbytes);

 private:
  size_t left_;
  std::string exceeded_;
  AllocationBudget* outer_;  // the budget this one replaced on this thread
};

}  // namespace cajal
