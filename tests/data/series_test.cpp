// Windowed time series: the CSV column, the chronological split, normalization by the
// training part and the naive forecast, against NumPy (tests/reference/series_reference.py)
// on the sunspot and CO2 tables Debian's python3-statsmodels ships.
#include <filesystem>
#include <fstream>

#include "cajal/data/series.h"
#include "cajal/io/npy.h"
#include "support/test_support.h"

namespace fs = std::filesystem;

namespace cajal {
namespace {

const std::string kDatasets = "/usr/lib/python3/dist-packages/statsmodels/datasets/";

// Compares cajal's windows of `column` with the reference script's.
void expect_matches_numpy(const std::string& csv, const std::string& column, data::MissingValues missing,
                          const data::SeriesWindowOptions& options) {
  if (!fs::exists(csv)) GTEST_SKIP() << csv << " is missing (python3-statsmodels)";
  std::string dir = test::temp_dir();
  ASSERT_TRUE(test::run_reference("series_reference.py", dir + " " + csv + " " + column + " " +
                                                            std::to_string(options.window) + " " +
                                                            std::to_string(options.horizon) + " " +
                                                            std::to_string(options.validation) + " " +
                                                            std::to_string(options.test)));
  auto expected = [&](const std::string& name) { return load_npy(dir + "/" + name + ".npy"); };
  std::vector<double> values = data::read_series(csv, column, missing);
  EXPECT_TRUE(test::all_close(from_vector(values), expected("values"), 1e-12));
  data::SeriesWindows w = data::series_windows(values, options);
  std::vector<double> stats = expected("stats").to_vector<double>();
  EXPECT_NEAR(w.mean, stats[0], 1e-9 * std::abs(stats[0]));
  EXPECT_NEAR(w.std, stats[1], 1e-9 * stats[1]);
  EXPECT_EQ(w.train_end, static_cast<int64_t>(stats[2]));
  EXPECT_EQ(w.val_end, static_cast<int64_t>(stats[3]));
  std::vector<double> naive = expected("naive_mse").to_vector<double>();
  const std::pair<const char*, data::DatasetPtr> parts[] = {{"train", w.train}, {"val", w.val}, {"test", w.test}};
  for (size_t k = 0; k < 3; ++k) {
    SCOPED_TRACE(parts[k].first);
    data::Batch examples = test::all_examples(*parts[k].second);
    std::string name = parts[k].first;
    EXPECT_TRUE(test::all_close(examples.input, expected(name + "_inputs"), 1e-6, 1e-6));
    EXPECT_TRUE(test::all_close(examples.target, expected(name + "_targets"), 1e-6, 1e-6));
    EXPECT_NEAR(data::naive_forecast_mse(*parts[k].second), naive[k], 1e-5 * naive[k]);
  }
}

TEST(Series, SunspotsMatchNumpy) {
  expect_matches_numpy(kDatasets + "sunspots/sunspots.csv", "SUNACTIVITY", data::MissingValues::error,
                       {.window = 20, .horizon = 1, .validation = 0.15, .test = 0.15});
}

TEST(Series, Co2WithGapsAndHorizonMatchNumpy) {
  // co2.csv has 59 empty cells: interpolated.
  expect_matches_numpy(kDatasets + "co2/co2.csv", "co2", data::MissingValues::interpolate,
                       {.window = 52, .horizon = 4, .validation = 0.1, .test = 0.2});
}

TEST(Series, Errors) {
  std::string dir = test::temp_dir();
  std::ofstream(dir + "/s.csv") << "\"t\",\"value\"\n1,2.5\n2,\n3,x\n";
  test::expect_error<IOError>([&] { data::read_series(dir + "/s.csv", "valu"); },
                              {"s.csv:1: no column named 'valu' (columns: 't', 'value')"});
  test::expect_error<IOError>([&] { data::read_series(dir + "/s.csv", "value"); },
                              {"s.csv:3: missing value in column 'value'"});
  test::expect_error<IOError>([&] { data::read_series(dir + "/s.csv", "value", data::MissingValues::interpolate); },
                              {"s.csv:4: 'x' is not a number"});
  std::vector<double> ten(10, 1.0);
  test::expect_error<ValueError>([&] { data::series_windows(ten, {.window = 4, .horizon = 3, .validation = 0.2, .test = 0.2}); },
                                 {"the training part (values 0 to 5 of 10) holds no example of window 4 and horizon 3"});
  test::expect_error<ValueError>([&] { data::series_windows(ten, {.validation = 0.5, .test = 0.5}); },
                                 {"summing below 1"});
}

TEST(Series, InterpolatesGapsOnALine) {
  std::string dir = test::temp_dir();
  std::ofstream(dir + "/s.csv") << "v\nNA\n1\n\n\n4\nnan\n";  // blank lines are skipped, not missing
  std::ofstream(dir + "/g.csv") << "i,v\n0,NA\n1,1\n2,\n3,\n4,4\n5,nan\n";
  std::vector<double> v = data::read_series(dir + "/g.csv", "v", data::MissingValues::interpolate);
  EXPECT_EQ(v, (std::vector<double>{1, 1, 2, 3, 4, 4}));
  EXPECT_EQ(data::read_series(dir + "/s.csv", "v", data::MissingValues::interpolate), (std::vector<double>{1, 1, 4, 4}));
}

}  // namespace
}  // namespace cajal
