// CSV reader against NumPy's parse of scikit-learn's bundled tables, and malformed files
// whose errors must name the file, line and column (tests/reference/data_csv_reference.py).
#include <filesystem>
#include <fstream>

#include "cajal/data/csv.h"
#include "support/test_support.h"

namespace cajal {
namespace {

using data::CsvLabels;
using data::load_csv;

class SklearnTables : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = test::temp_dir();
    std::string output;
    written_ = test::run_reference("data_csv_reference.py", dir_, &output);
    tables_ = output.substr(0, output.find('\n'));
  }
  void SetUp() override { ASSERT_TRUE(written_); }
  static Tensor expected(const std::string& name) { return load_npy(dir_ + "/" + name + ".npy"); }
  static inline std::string dir_, tables_;
  static inline bool written_ = false;
};

TEST_F(SklearnTables, IrisLabelByIndex) {
  // iris.csv's first line is "150,4,setosa,versicolor,virginica": taken as the header here.
  const data::CsvTable iris = load_csv(tables_ + "/iris.csv");
  EXPECT_EQ(iris.features.sizes(), Dims({150, 4}));
  EXPECT_TRUE(test::all_close(iris.features, expected("iris_features"), 0, 0));
  EXPECT_EQ(iris.labels.dtype(), DType::i64);
  EXPECT_TRUE(test::all_close(iris.labels, expected("iris_labels"), 0, 0));
  EXPECT_EQ(iris.label_name, "virginica");
  EXPECT_EQ(iris.feature_names, (std::vector<std::string>{"150", "4", "setosa", "versicolor"}));
  EXPECT_TRUE(iris.classes.empty());
  EXPECT_EQ(iris.dataset->size(), 150);
  EXPECT_EQ(iris.dataset->get(149).target.item<int64_t>(), 2);

  // The same with the counts line skipped and no header: label column 4 by index.
  const data::CsvTable headless = load_csv(tables_ + "/iris.csv", {.label_column = 4, .header = false, .skip_lines = 1});
  EXPECT_TRUE(test::all_close(headless.features, expected("iris_features"), 0, 0));
  EXPECT_EQ(headless.label_name, "column 5");
}

TEST_F(SklearnTables, BostonRegressionLabelByQuotedName) {
  const std::string path = tables_ + "/boston_house_prices.csv";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "this scikit-learn has no boston_house_prices.csv";
  const data::CsvTable boston = load_csv(path, {.label_column = "MEDV", .labels = CsvLabels::Values, .skip_lines = 1});
  EXPECT_EQ(boston.features.sizes(), Dims({506, 13}));
  EXPECT_TRUE(test::all_close(boston.features, expected("boston_features"), 0, 0));
  EXPECT_EQ(boston.labels.dtype(), DType::f32);
  EXPECT_TRUE(test::all_close(boston.labels, expected("boston_target"), 0, 0));
  EXPECT_EQ(boston.feature_names.front(), "CRIM");
  EXPECT_EQ(boston.feature_names.back(), "LSTAT");
}

TEST_F(SklearnTables, ClassNamesEncodedInSortedOrderOrAsGiven) {
  const std::string path = dir_ + "/iris_names.csv";
  const data::CsvTable table = load_csv(path, {.label_column = "species", .labels = CsvLabels::Names});
  EXPECT_EQ(table.classes, (std::vector<std::string>{"setosa", "versicolor", "virginica"}));
  EXPECT_EQ(table.feature_names, (std::vector<std::string>{"sepal length", "sepal width", "petal length", "petal width"}));
  EXPECT_TRUE(test::all_close(table.features, expected("iris_names_features"), 0, 0));
  EXPECT_TRUE(test::all_close(table.labels, expected("iris_names_labels"), 0, 0));

  // A given mapping (a training table's) is kept as is.
  const data::CsvTable given = load_csv(
      path, {.label_column = 2, .labels = CsvLabels::Names, .classes = {"virginica", "setosa", "versicolor"}});
  EXPECT_EQ(given.classes, (std::vector<std::string>{"virginica", "setosa", "versicolor"}));
  const Tensor remapped = index_select(tensor({1, 2, 0}), 0, expected("iris_names_labels"));
  EXPECT_TRUE(test::all_close(given.labels, remapped, 0, 0));

  test::expect_error<IOError>(
      [&] { load_csv(path, {.label_column = "species", .labels = CsvLabels::Names, .classes = {"setosa", "virginica"}}); },
      {"iris_names.csv:52:3", "class 'versicolor' is not among the 2 given classes"});
  test::expect_error<IOError>([&] { load_csv(path, {.label_column = "species"}); },
                              {"iris_names.csv:2:3", "'setosa' in column 'species' is not a number"});
}

class MalformedCsv : public ::testing::Test {
 protected:
  std::string write(const std::string& contents) {
    const std::string path = dir_ + "/table" + std::to_string(count_++) + ".csv";
    std::ofstream(path, std::ios::binary) << contents;
    return path;
  }
  std::string dir_ = test::temp_dir();
  int count_ = 0;
};

TEST_F(MalformedCsv, QuotesSpacesSignsCrlfAndBlankLinesAreAccepted) {
  const std::string path = write("\"a\",\"b, c\",label\r\n 1 , +2,0\r\n\r\n3,4e1,\"1\"\r\n  \n");
  const data::CsvTable table = load_csv(path);
  EXPECT_EQ(table.feature_names, (std::vector<std::string>{"a", "b, c"}));
  EXPECT_TRUE(test::all_close(table.features, tensor({1.f, 2.f, 3.f, 40.f}, {2, 2}), 0, 0));
  EXPECT_EQ(table.labels.to_vector<int64_t>(), (std::vector<int64_t>{0, 1}));
}

TEST_F(MalformedCsv, IgnoredColumnsKeepTheirTextOutOfTheFeatures) {
  const std::string path = write("id,age,colour,label\nx7,31,Black,1\ny2,40,White,0\n");
  const data::CsvTable table = load_csv(path, {.label_column = "label", .ignore_columns = {"colour", "id"}});
  EXPECT_EQ(table.feature_names, (std::vector<std::string>{"age"}));
  EXPECT_TRUE(test::all_close(table.features, tensor({31.f, 40.f}, {2, 1}), 0, 0));
  ASSERT_EQ(table.ignored.size(), 2u);
  EXPECT_EQ(table.ignored[0].first, "colour");
  EXPECT_EQ(table.ignored[0].second, (std::vector<std::string>{"Black", "White"}));
  EXPECT_EQ(table.ignored[1].second, (std::vector<std::string>{"x7", "y2"}));
  test::expect_error<ValueError>([&] { load_csv(path, {.label_column = "label", .ignore_columns = {"race"}}); },
                                 {"no column named 'race'", "'colour'"});
  test::expect_error<ValueError>([&] { load_csv(path, {.label_column = "label", .ignore_columns = {"label"}}); },
                                 {"'label' is the label"});
  test::expect_error<ValueError>([&] { load_csv(path, {.ignore_columns = {"id", "id"}}); }, {"'id' is ignored twice"});
  test::expect_error<IOError>([&] { load_csv(path, {.label_column = "label", .ignore_columns = {"id", "age", "colour"}}); },
                              {"1 column not ignored", "need features and a label"});
}

TEST_F(MalformedCsv, ErrorsNameFileLineAndColumn) {
  test::expect_error<IOError>([&] { load_csv(write("a,b,label\n1,2,0\n3,,1\n")); },
                              {"table0.csv:3:2", "missing value in column 'b'"});
  test::expect_error<IOError>([&] { load_csv(write("a,b,label\n1,2,0\n3,NA,1\n")); }, {":3:2", "missing value"});
  test::expect_error<IOError>([&] { load_csv(write("a,b,label\n1,x7,0\n")); },
                              {"table2.csv:2:2: 'x7' in column 'b' is not a number"});
  test::expect_error<IOError>([&] { load_csv(write("a,b,label\n1,2,0\n1,inf,0\n")); },
                              {":3:2", "'inf'", "not a finite number"});
  test::expect_error<IOError>([&] { load_csv(write("a,b,label\n1,2,0\n1,2\n")); },
                              {"table4.csv:3: 2 fields, expected 3 (as the header)"});
  test::expect_error<IOError>([&] { load_csv(write("a,b,label\n1,2,1.5\n")); },
                              {"table5.csv:2:3", "label '1.5'", "not a class index"});
  test::expect_error<IOError>([&] { load_csv(write("a,b,label\n1,2,-1\n")); }, {":2:3", "label '-1'"});
  test::expect_error<IOError>([&] { load_csv(write("a,b,label\n1,\"2,0\n")); },
                              {"table7.csv:2:2", "unterminated quoted field"});
  test::expect_error<IOError>([&] { load_csv(write("a,b,label\n")); }, {"table8.csv", "no data rows"});
  test::expect_error<IOError>([&] { load_csv(write("")); }, {"table9.csv", "no data rows"});
  test::expect_error<IOError>([&] { load_csv(write("a,b,label\n1,2,\n")); }, {":2:3", "missing value in column 'label'"});
  test::expect_error<IOError>([&] { load_csv(dir_ + "/absent.csv"); }, {"absent.csv", "cannot open"});
  test::expect_error<ValueError>([&] { load_csv(write("a,b,label\n1,2,0\n"), {.label_column = "class"}); },
                                 {"no column named 'class'", "'a', 'b', 'label'"});
  test::expect_error<ValueError>([&] { load_csv(write("a,b,label\n1,2,0\n"), {.label_column = 3}); },
                                 {"label column index 3 is out of range for 3 columns"});
  // Ragged rows: more cells than the header (the line counts blank lines too), or than the
  // first row without a header.
  test::expect_error<IOError>([&] { load_csv(write("a,b,label\n1,2,0\n\n1,2,0,7\n")); },
                              {".csv:4: 4 fields, expected 3 (as the header)"});
  test::expect_error<IOError>([&] { load_csv(write("1,2,0\n1,2\n"), {.header = false}); },
                              {".csv:2: 2 fields, expected 3 (as the first row)"});
  // Beyond float32's range a cell would become infinity: 1e39 in a feature or a regression target.
  test::expect_error<IOError>([&] { load_csv(write("a,b,label\n1,2,0\n1,1e39,0\n")); },
                              {":3:2", "'1e39' in column 'b' is out of range for float32"});
  test::expect_error<IOError>([&] { load_csv(write("a,b,y\n1,2,-4e38\n"), {.labels = data::CsvLabels::Values}); },
                              {":2:3", "'-4e38' in column 'y' is out of range for float32"});
}

}  // namespace
}  // namespace cajal
