// mean_with_ci95 against NumPy's mean and sample standard deviation (ddof=1) of the same values:
// numpy.mean([1, 2, 3, 4, 10]) = 4.0, numpy.std(..., ddof=1) = 3.5355339059327378.
#include "cajal/metrics/confidence.h"
#include "support/test_support.h"

namespace cajal {
namespace {

TEST(Confidence, MeanAndNormalInterval) {
  const metrics::MeanEstimate e = metrics::mean_with_ci95({1, 2, 3, 4, 10});
  EXPECT_DOUBLE_EQ(e.mean, 4.0);
  EXPECT_NEAR(e.ci95, 1.96 * 3.5355339059327378 / std::sqrt(5.0), 1e-12);
  EXPECT_EQ(metrics::mean_with_ci95({7}).ci95, 0);
  test::expect_error<ValueError>([] { metrics::mean_with_ci95({}); }, {"no values"});
}

}  // namespace
}  // namespace cajal
