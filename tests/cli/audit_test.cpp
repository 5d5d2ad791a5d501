// `cajal audit` from the command line, on a synthetic table where one group (B) is favoured
// through a proxy feature: the printed per-group table equals rates computed here from the
// model's own predictions; per-group thresholds shrink the equalized-odds gap and report the
// accuracy they cost; data.reweigh trains a run whose selection-rate gap is smaller;
// audit.html shows per-group bars and ROC curves; bad requests are one line each.
#include <filesystem>
#include <random>
#include <sstream>

#include "cajal/cli/inputs.h"
#include "cajal/cli/model_file.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/reduce.h"
#include "program.h"
#include "support/page_render.h"
#include "support/test_support.h"

namespace fs = std::filesystem;

namespace cajal {
namespace {

const char* kConfig = R"(data:
  reader: csv
  train: train.csv
  test: test.csv
  label_column: approved
  labels: names
  ignore_columns: [group]
  normalize: true
model: {preset: mlp, options: {hidden: [16]}}
optimizer: {name: adam, lr: 0.01}
epochs: 20
batch_size: 32
num_workers: 0
output: runs/loans
)";

// n applicants of group A or B (text). Approval follows income alone, the same rule for
// both; B's incomes are higher (its base rate too), and the model sees income measured with
// more noise for A (so it errs more for A: unequal TPR and FPR) and a proxy that carries the group.
void write_loans(const std::string& path, int n, uint32_t seed) {
  std::mt19937 rng(seed);
  auto uniform = [&] { return static_cast<double>(rng() >> 8) / 16777216.0; };
  auto normal = [&](double sd) { return (uniform() + uniform() + uniform() - 1.5) * 2 * sd; };  // sd of 3 uniforms: 0.5
  std::ostringstream out;
  out << "income,group,proxy,noise,approved\n";
  for (int i = 0; i < n; ++i) {
    const bool b = uniform() < 0.5;
    const double income = uniform() + (b ? 0.15 : 0.0);
    const bool approved = income + 0.1 * (uniform() - 0.5) > 0.6;
    out << income + normal(b ? 0.05 : 0.25) << "," << (b ? "B" : "A") << "," << (b ? 0.7 : 0.3) + 0.3 * (uniform() - 0.5)
        << "," << uniform() << "," << (approved ? "yes" : "no") << "\n";
  }
  test::write_text(path, out.str());
}

class AuditProgram : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(test::temp_dir());
    write_loans(*dir_ + "/train.csv", 1500, 3);
    write_loans(*dir_ + "/test.csv", 600, 4);
    test::write_text(*dir_ + "/loans.yaml", kConfig);
    test::ProgramResult r = test::cajal(*dir_, "train loans.yaml");
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    r = test::cajal(*dir_, "train loans.yaml --set data.reweigh=group --output runs/reweighed");
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("reweighing: training examples weighted by group and label (group)"), std::string::npos) << r.out;
  }
  static const std::string& dir() { return *dir_; }
  static std::string* dir_;
};
std::string* AuditProgram::dir_ = nullptr;

// The printed row of `group`: count, base rate, selection, TPR, FPR, accuracy.
std::vector<double> row(const std::string& out, const std::string& group) {
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string name;
    fields >> name;
    if (name != group) continue;
    std::vector<double> values;
    for (double v; fields >> v;) values.push_back(v);
    if (values.size() == 6) return values;
  }
  ADD_FAILURE() << "no row for " << group << " in\n" << out;
  return std::vector<double>(6, 0.0);
}

double gap(const std::string& out, const std::string& name, size_t from = 0) {
  const size_t at = out.find(name, from);
  if (at == std::string::npos) {
    ADD_FAILURE() << "no " << name << " in\n" << out;
    return 0;
  }
  return std::stod(out.substr(at + name.size()));
}

TEST_F(AuditProgram, TableEqualsTheModelsOwnPredictions) {
  test::ProgramResult r = test::cajal(dir(), "audit runs/loans --sensitive group --bootstrap 200");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  // The rates, from the model file's predictions on the table, computed here.
  cli::LoadedModel model = cli::load_model(dir() + "/runs/loans");
  cli::LabelledTable table = cli::read_labelled_table(model, dir() + "/test.csv", {"group"});
  const std::vector<int64_t> predicted = argmax(cli::run_model(*model.module, table.inputs), 1).to_vector<int64_t>();
  const std::vector<int64_t> labels = table.labels.to_vector<int64_t>();
  for (const std::string group : {"A", "B"}) {
    double count = 0, selected = 0, positives = 0, true_positives = 0, correct = 0;
    for (size_t i = 0; i < labels.size(); ++i) {
      if (table.text[0][i] != group) continue;
      ++count;
      selected += predicted[i] == 1;
      positives += labels[i] == 1;
      true_positives += predicted[i] == 1 && labels[i] == 1;
      correct += predicted[i] == labels[i];
    }
    const std::vector<double> printed = row(r.out, group);
    EXPECT_EQ(printed[0], count) << group;
    EXPECT_NEAR(printed[1], positives / count, 5e-4) << group;
    EXPECT_NEAR(printed[2], selected / count, 5e-4) << group;
    EXPECT_NEAR(printed[3], true_positives / positives, 5e-4) << group;
    EXPECT_NEAR(printed[5], correct / count, 5e-4) << group;
  }
  EXPECT_GT(gap(r.out, "demographic parity difference "), 0.1) << r.out;  // B is selected more
  EXPECT_NE(r.out.find("(95% intervals from 200 bootstrap resamples within groups)"), std::string::npos);
}

TEST_F(AuditProgram, ThresholdsAndReweighingNarrowTheGaps) {
  test::ProgramResult r = test::cajal(dir(), "audit runs/loans --sensitive group --mitigate thresholds --bootstrap 100");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const size_t after = r.out.find("with per-group thresholds (equalized_odds");
  ASSERT_NE(after, std::string::npos) << r.out;
  EXPECT_LT(gap(r.out, "equalized odds difference ", after), gap(r.out, "equalized odds difference ")) << r.out;
  EXPECT_NE(r.out.find("accuracy ", after), std::string::npos);
  EXPECT_NE(r.out.find("(cost ", after), std::string::npos) << r.out;

  test::ProgramResult reweighed = test::cajal(dir(), "audit runs/reweighed --sensitive group --bootstrap 100");
  ASSERT_EQ(reweighed.code, 0) << reweighed.err;
  EXPECT_LT(gap(reweighed.out, "demographic parity difference "), gap(r.out, "demographic parity difference ")) << reweighed.out;
}

TEST_F(AuditProgram, PageShowsGroupsInChromium) {
  test::ProgramResult r = test::cajal(dir(), "audit runs/loans --sensitive group --bootstrap 100 --output page");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string html = test::read_file(dir() + "/page/audit.html");
  for (const char* part : {"data-series=\"A\" data-category=\"selection rate\"", "data-series=\"B\" data-category=\"TPR\"",
                           "ROC curve by group", "Calibration by group", "class=\"error-bar\""})
    EXPECT_NE(html.find(part), std::string::npos) << part;
  const std::string chromium = test::chromium_binary();
  if (chromium.empty()) GTEST_SKIP() << "no chromium binary on PATH (scripts/setup installs Debian's chromium)";
  test::Image shot = test::screenshot(chromium, dir() + "/page/audit.html", 1280, 1400, "audit");
  EXPECT_GT(test::count_near(shot, 31, 119, 180), 500u) << "group A's bars (blue)";
  EXPECT_GT(test::count_near(shot, 255, 127, 14), 500u) << "group B's bars (orange)";
}

TEST_F(AuditProgram, BadRequestsAreOneLine) {
  test::expect_failure(test::cajal(dir(), "audit runs/loans --sensitive race"), 1, {"no column named 'race'", "'group'"});
  test::expect_failure(test::cajal(dir(), "audit runs/loans"), 2, {"--sensitive COLUMN is required"});
  test::expect_failure(test::cajal(dir(), "audit runs/loans --sensitive group --mitigate magic"), 2, {"--mitigate takes 'thresholds'"});
  test::expect_failure(test::cajal(dir(), "audit runs/loans --sensitive group --threshold 2"), 2, {"--threshold", "[0, 1]"});
  // A group with no approved applicant has no true positive rate.
  test::write_text(dir() + "/one_sided.csv", "income,group,proxy,noise,approved\n0.9,A,0.3,0.5,yes\n0.1,A,0.3,0.5,no\n0.2,B,0.7,0.1,no\n0.3,B,0.7,0.2,no\n");
  test::expect_failure(test::cajal(dir(), "audit runs/loans --sensitive group --data one_sided.csv"), 1, {"B"});
  test::expect_failure(test::cajal(dir(), "train loans.yaml --set data.reweigh=income --output runs/bad"), 1,
                       {"reweigh", "data.ignore_columns"});
}

}  // namespace
}  // namespace cajal
