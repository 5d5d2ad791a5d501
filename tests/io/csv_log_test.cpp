// metrics.csv. Oracle: Python's csv module and float() (tests/reference/csv_log_reference.py)
// read the file back and must get every logged double bit for bit, the header, and empty cells
// where a row lacked a column.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "cajal/io/csv_log.h"
#include "cajal/io/npy.h"
#include "support/test_support.h"

using namespace cajal;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

size_t line_count(const std::string& path) {
  std::string text = read_text(path);
  return std::count(text.begin(), text.end(), '\n');
}

// Writes what `rows` should produce (columns in first-seen order, values, which cells are
// present) for csv_log_reference.py and runs it on `csv`.
void expect_python_reads(const std::string& csv, const std::vector<NamedValues>& rows) {
  std::vector<std::string> columns;
  for (const NamedValues& row : rows)
    for (const auto& [key, value] : row)
      if (std::find(columns.begin(), columns.end(), key) == columns.end()) columns.push_back(key);
  int64_t n = static_cast<int64_t>(rows.size()), m = static_cast<int64_t>(columns.size());
  Tensor values = zeros({n, m}, {.dtype = DType::f64}), present = zeros({n, m}, {.dtype = DType::boolean});
  for (int64_t r = 0; r < n; ++r)
    for (const auto& [key, value] : rows[r]) {
      int64_t c = std::find(columns.begin(), columns.end(), key) - columns.begin();
      values.data_ptr<double>()[r * m + c] = value;
      present.data_ptr<bool>()[r * m + c] = true;
    }
  std::string dir = test::temp_dir();
  {
    std::ofstream out(dir + "/columns.txt", std::ios::binary);
    for (const std::string& c : columns) out << c << "\n";
  }
  save_npy(values, dir + "/values.npy");
  save_npy(present, dir + "/present.npy");
  std::string out;
  EXPECT_TRUE(test::run_reference("csv_log_reference.py", "check " + csv + " " + dir + "/columns.txt " + dir + "/values.npy " + dir + "/present.npy", &out))
      << out;
}

}  // namespace

TEST(FormatShortest, RoundTripsAndStaysShort) {
  EXPECT_EQ(format_shortest(0.1), "0.1");
  EXPECT_EQ(format_shortest(3.0), "3");
  EXPECT_EQ(format_shortest(-0.0), "-0");
  EXPECT_EQ(format_shortest(1e-300), "1e-300");
  EXPECT_EQ(format_shortest(kNaN), "nan");
  EXPECT_EQ(format_shortest(-kNaN), "nan");
  EXPECT_EQ(format_shortest(kInf), "inf");
  EXPECT_EQ(format_shortest(-kInf), "-inf");
  EXPECT_EQ(format_shortest(1.0 / 3.0), "0.3333333333333333");
}

TEST(CsvLog, PythonReadsEveryValueBack) {
  std::string path = test::temp_dir() + "/metrics.csv";
  std::vector<NamedValues> rows = {
      {{"epoch", 1}, {"train_loss", 2.302585092994046}, {"val,loss", 1.0 / 3.0}, {"say \"hi\"", -0.0}},
      {{"epoch", 2}, {"train_loss", kNaN}, {"val,loss", kInf}, {"say \"hi\"", -kInf}},
      {{"epoch", 3}, {"train_loss", 1e-300}, {"val,loss", 5e-324}, {"say \"hi\"", std::numeric_limits<double>::max()}},
      // A new column: the file is rewritten with it, earlier rows get empty cells; a key
      // missing from this row leaves its cell empty.
      {{"epoch", 4}, {"lr", 0.001}, {"train_loss", 0.1 + 0.2}},
      {{"epoch", 5}, {"train_loss", 9007199254740993.0}, {"val,loss", -123456.789e-10}, {"lr", 1e-4}, {"say \"hi\"", 2.5}},
      // Keys in another order than the header's.
      {{"lr", 1e-5}, {"say \"hi\"", 7}, {"epoch", 6}, {"val,loss", 0.5}, {"train_loss", 0.25}},
  };
  CsvLog log(path);
  for (size_t r = 0; r < rows.size(); ++r) {
    log.log(rows[r]);
    EXPECT_EQ(line_count(path), r + 2) << "row " << r << " is on disk as soon as it is logged";
  }
  EXPECT_EQ(log.columns(), (std::vector<std::string>{"epoch", "train_loss", "val,loss", "say \"hi\"", "lr"}));
  std::string text = read_text(path);
  EXPECT_TRUE(text.starts_with("epoch,train_loss,\"val,loss\",\"say \"\"hi\"\"\",lr\n")) << text;
  expect_python_reads(path, rows);
}

TEST(CsvLog, ResumeKeepsTheCheckpointsRowsAndContinues) {
  std::string path = test::temp_dir() + "/metrics.csv";
  std::vector<NamedValues> rows;
  for (int epoch = 1; epoch <= 4; ++epoch)
    rows.push_back({{"epoch", epoch}, {"loss", 1.0 / epoch}, {"accuracy", 0.1 * epoch}});
  rows[2].push_back({"lr", 0.5});  // a column added at epoch 3
  {
    CsvLog log(path);
    for (const NamedValues& row : rows) log.log(row);
  }
  {
    std::ofstream(path, std::ios::app) << "5,0.2,0.";  // a row half written when the run stopped
  }
  // The checkpoint holds epochs 1 and 2: the rows after them go, including the torn one.
  CsvLog resumed = CsvLog::resume(path, 2);
  EXPECT_EQ(resumed.columns(), (std::vector<std::string>{"epoch", "loss", "accuracy", "lr"}));
  ASSERT_EQ(resumed.rows().size(), 2u);
  EXPECT_EQ(resumed.rows()[1][1], 0.5);
  EXPECT_FALSE(resumed.rows()[1][3].has_value());
  EXPECT_EQ(line_count(path), 3u);
  std::vector<NamedValues> expected(rows.begin(), rows.begin() + 2);
  NamedValues again = {{"epoch", 3}, {"loss", 1.0 / 3}, {"accuracy", 0.3}, {"lr", 0.25}};
  resumed.log(again);
  expected.push_back(again);
  expect_python_reads(path, expected);
}

TEST(CsvLog, Errors) {
  std::string dir = test::temp_dir();
  CsvLog log(dir + "/m.csv");
  test::expect_error<ValueError>([&] { log.log({}); }, {"CsvLog::log", "m.csv", "no values"});
  test::expect_error<ValueError>([&] { log.log({{"a", 1}, {"a", 2}}); }, {"CsvLog::log", "\"a\"", "twice"});
  test::expect_error<ValueError>([&] { log.log({{"", 1}}); }, {"CsvLog::log", "empty"});
  test::expect_error<ValueError>([&] { log.log({{"a\nb", 1}}); }, {"CsvLog::log", "line break"});
  test::expect_error<IOError>([&] { CsvLog(dir + "/no/such/dir/m.csv").log({{"a", 1}}); }, {"CsvLog", "no/such/dir/m.csv"});

  auto write = [&](const std::string& text) {
    std::ofstream(dir + "/r.csv", std::ios::binary) << text;
    return dir + "/r.csv";
  };
  test::expect_error<IOError>([&] { CsvLog::resume(dir + "/missing.csv", 0); }, {"CsvLog::resume", "missing.csv", "cannot open"});
  test::expect_error<IOError>([&] { CsvLog::resume(write(""), 0); }, {"r.csv", "no header"});
  test::expect_error<IOError>([&] { CsvLog::resume(write("a,b\n1,2\n"), 2); }, {"r.csv", "holds 1 rows", "needs 2"});
  test::expect_error<IOError>([&] { CsvLog::resume(write("a,b\n1,2\n3,x4\n"), 2); }, {"r.csv: line 3", "column \"b\"", "\"x4\"", "not a number"});
  test::expect_error<IOError>([&] { CsvLog::resume(write("a,b\n1,2,3\n"), 1); }, {"r.csv: line 2", "3 cells", "header has 2"});
  test::expect_error<IOError>([&] { CsvLog::resume(write("a,\"b\n"), 0); }, {"r.csv: line 1", "unterminated"});
  test::expect_error<IOError>([&] { CsvLog::resume(write("a,a\n"), 0); }, {"r.csv: line 1", "\"a\"", "twice"});
}
