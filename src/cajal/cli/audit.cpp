// `cajal audit RUN --sensitive COLUMN [--data TABLE.csv] [--mitigate thresholds] ...`: the
// group fairness of a binary classifier on a labelled table (metrics/fairness.h), printed and
// written as audit.html.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cajal/cli/args.h"
#include "cajal/cli/commands.h"
#include "cajal/cli/inputs.h"
#include "cajal/io/report.h"
#include "cajal/metrics/fairness.h"
#include "cajal/models/suggest.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/shape.h"

namespace fs = std::filesystem;

namespace cajal::cli {

namespace {

std::string fixed(double value, int decimals = 3) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

std::string with_interval(const metrics::Interval& i) {
  return fixed(i.value) + (i.resamples > 0 ? " [" + fixed(i.low) + ", " + fixed(i.high) + "]" : "");
}

// What the audit evaluates: the table's groups, labels, and the model's scores for class 1.
struct AuditData {
  std::vector<std::string> groups;
  Tensor labels;  // int64 [N], 1 = the favourable class
  Tensor scores;  // float64 [N], the model's probability of the favourable class
};

AuditData audit_data(const LoadedModel& model, const std::string& path, const std::string& sensitive, int64_t positive) {
  LabelledTable table = read_labelled_table(model, path, {sensitive});
  Tensor probabilities = class_probabilities(model.info, run_model(*model.module, table.inputs).to(DType::f64));
  return {table.text[0], eq(table.labels, positive).to(DType::i64), probabilities.select(1, positive).contiguous()};
}

Tensor predictions(const Tensor& scores, double threshold) { return ge(scores, threshold).to(DType::i64); }

void print_report(const metrics::FairnessReport& report, std::ostream& out) {
  std::printf("%-16s %7s %9s %10s %8s %8s %9s\n", "group", "count", "base rate", "selection", "TPR", "FPR", "accuracy");
  auto row = [](const metrics::GroupMetrics& g) {
    std::printf("%-16s %7lld %9.3f %10.3f %8.3f %8.3f %9.3f\n", g.group.c_str(), static_cast<long long>(g.count), g.base_rate,
                g.selection_rate, g.true_positive_rate, g.false_positive_rate, g.accuracy);
  };
  for (const auto& g : report.groups) row(g);
  row(report.overall);
  std::cout.flush();
  out << "demographic parity difference " << with_interval(report.demographic_parity_difference) << "\n"
      << "demographic parity ratio      " << with_interval(report.demographic_parity_ratio) << "\n"
      << "equalized odds difference     " << with_interval(report.equalized_odds_difference) << "\n"
      << "equal opportunity difference  " << with_interval(report.equal_opportunity_difference) << "\n";
  if (report.bootstrap_samples > 0)
    out << "(" << fixed(100 * report.confidence, 0) << "% intervals from " << report.bootstrap_samples
        << " bootstrap resamples within groups)\n";
}

ReportTable groups_table(const std::string& title, const metrics::FairnessReport& report) {
  ReportTable table{.title = title,
                    .columns = {"group", "count", "base rate", "selection rate", "TPR", "FPR", "accuracy", "Brier", "ROC AUC"}};
  auto row = [&](const metrics::GroupMetrics& g) {
    table.rows.push_back({g.group, std::to_string(g.count), fixed(g.base_rate), fixed(g.selection_rate),
                          fixed(g.true_positive_rate), fixed(g.false_positive_rate), fixed(g.accuracy),
                          g.brier ? fixed(*g.brier) : "", g.roc_auc ? fixed(*g.roc_auc) : ""});
  };
  for (const auto& g : report.groups) row(g);
  row(report.overall);
  return table;
}

// Per-group rates as bars, the gaps with their intervals, and (with scores) each group's ROC
// and calibration curves.
ReportCharts group_charts(const std::string& title, const metrics::FairnessReport& report, bool curves) {
  ReportCharts section{.title = title};
  BarChart rates{.title = "Rates by group", .y_label = "rate", .categories = {"selection rate", "TPR", "FPR", "accuracy"}};
  for (const auto& g : report.groups)
    rates.series.push_back({.name = g.group, .values = {g.selection_rate, g.true_positive_rate, g.false_positive_rate, g.accuracy}});
  section.bars.push_back(rates);
  BarSeries gaps{.name = "gap"};
  for (const metrics::Interval* i : {&report.demographic_parity_difference, &report.equalized_odds_difference,
                                     &report.equal_opportunity_difference}) {
    gaps.values.push_back(i->value);
    gaps.low.push_back(i->low);
    gaps.high.push_back(i->high);
  }
  section.bars.push_back({.title = "Gaps between groups (with intervals)",
                          .y_label = "difference",
                          .categories = {"demographic parity", "equalized odds", "equal opportunity"},
                          .series = {gaps}});
  if (!curves) return section;
  LinePlot roc{.title = "ROC curve by group", .x_label = "false positive rate", .y_label = "true positive rate"};
  LinePlot calibration{.title = "Calibration by group", .x_label = "mean predicted probability", .y_label = "fraction positive"};
  for (const auto& g : report.groups) {
    roc.series.push_back({.name = g.group, .x = g.roc.false_positive_rate, .y = g.roc.true_positive_rate});
    calibration.series.push_back({.name = g.group, .x = g.calibration.mean_predicted, .y = g.calibration.fraction_positive});
  }
  roc.series.push_back({.name = "chance", .x = {0, 1}, .y = {0, 1}});
  calibration.series.push_back({.name = "perfect", .x = {0, 1}, .y = {0, 1}});
  section.plots = {roc, calibration};
  return section;
}

}  // namespace

int audit_command(const std::vector<std::string>& argv) {
  Args args = parse_args(argv, "audit", {"--data", "--sensitive", "--mitigate", "--constraint", "--fit-data", "--positive",
                                         "--bootstrap", "--seed", "--threshold", "--output"});
  if (args.positional.size() != 1) fail<UsageError>("cajal audit: expected one model file or run folder");
  const std::optional<std::string> sensitive = args.value("--sensitive");
  if (!sensitive) fail<UsageError>("cajal audit: --sensitive COLUMN is required (the attribute whose groups are compared)");
  const std::string mitigate = args.value("--mitigate").value_or("");
  if (!mitigate.empty() && mitigate != "thresholds")
    fail<UsageError>("cajal audit: --mitigate takes 'thresholds' (reweighing happens in training: data.reweigh)");
  const std::string constraint_name = args.value("--constraint").value_or("equalized_odds");
  if (constraint_name != "equalized_odds" && constraint_name != "equal_opportunity")
    fail<UsageError>("cajal audit: --constraint takes equalized_odds or equal_opportunity, not '", constraint_name, "'");
  const int64_t bootstrap = int_option(args, "audit", "--bootstrap", 1000, 0);
  const auto seed = static_cast<uint64_t>(int_option(args, "audit", "--seed", 0, 0));
  const std::string threshold_text = args.value("--threshold").value_or("0.5");
  const std::optional<double> threshold = models::parse_float(threshold_text);
  if (!threshold || !(*threshold >= 0 && *threshold <= 1))
    fail<UsageError>("cajal audit: --threshold takes a probability in [0, 1], not '", threshold_text, "'");

  LoadedModel model = load_model(args.positional[0]);
  const ModelInfo& info = model.info;
  if (!info.classification || info.input.num_classes != 2)
    fail<ValueError>("cajal audit: ", model.path, ": the audit needs a binary classifier (2 classes); this model ",
                     info.classification ? "has " + std::to_string(info.input.num_classes) + " classes" : "predicts values");
  const std::string positive_name = args.value("--positive").value_or("");
  int64_t positive = 1;
  if (!positive_name.empty()) {
    positive = -1;
    for (int64_t k = 0; k < 2; ++k)
      if (class_name(info, k) == positive_name || std::to_string(k) == positive_name) positive = k;
    if (positive < 0)
      fail<UsageError>("cajal audit: --positive ", positive_name, " is not a class of the model (", class_name(info, 0), ", ",
                       class_name(info, 1), ")");
  }
  const std::string data_path = args.value("--data").value_or("");
  const std::string path = data_path.empty() ? run_table_path(model, "test", "audit", "--data") : data_path;
  const std::string output = args.value("--output").value_or(
      (fs::is_directory(args.positional[0]) ? fs::path(args.positional[0]) : fs::path(".")) / "audit");

  AuditData data = audit_data(model, path, *sensitive, positive);
  const metrics::FairnessOptions options{.bootstrap = bootstrap, .seed = seed};
  metrics::FairnessReport before = metrics::fairness_report(data.labels, predictions(data.scores, *threshold), data.groups, data.scores, options);
  std::cout << "fairness of " << model.path << " on " << path << " by " << *sensitive << " (favourable: "
            << class_name(info, positive) << " when its probability >= " << threshold_text << ")\n";
  print_report(before, std::cout);

  ReportData page{.title = "cajal fairness audit"};
  page.run_info = {{"model", model.path},
                   {"data", path + " (" + std::to_string(data.labels.size(0)) + " examples)"},
                   {"sensitive attribute", *sensitive},
                   {"favourable outcome", class_name(info, positive)},
                   {"demographic parity difference", with_interval(before.demographic_parity_difference)},
                   {"demographic parity ratio", with_interval(before.demographic_parity_ratio)},
                   {"equalized odds difference", with_interval(before.equalized_odds_difference)},
                   {"equal opportunity difference", with_interval(before.equal_opportunity_difference)}};
  page.tables.push_back(groups_table("Groups (decision threshold " + threshold_text + ")", before));
  page.chart_sections.push_back(group_charts("By group", before, true));

  if (mitigate == "thresholds") {
    // Thresholds are fitted on other data than they are judged on: the run's training table.
    const std::string fit_path = args.value("--fit-data").value_or("");
    AuditData fit = audit_data(model, fit_path.empty() ? run_table_path(model, "train", "audit", "--fit-data") : fit_path,
                               *sensitive, positive);
    const auto constraint = constraint_name == "equalized_odds" ? metrics::FairnessConstraint::equalized_odds
                                                                : metrics::FairnessConstraint::equal_opportunity;
    metrics::GroupThresholds rules = metrics::fit_group_thresholds(fit.scores, fit.labels, fit.groups, constraint);
    Tensor mitigated = metrics::apply_group_thresholds(rules, data.scores, data.groups, seed);
    metrics::FairnessReport after = metrics::fairness_report(data.labels, mitigated, data.groups, {}, options);
    metrics::MitigationCost cost = metrics::mitigation_cost(before, after);
    std::cout << "\nwith per-group thresholds (" << constraint_name << ", fitted on " << fit.labels.size(0) << " examples):\n";
    for (const auto& g : rules.groups)
      std::cout << "  " << g.group << ": predict " << class_name(info, positive) << " for scores >= " << fixed(g.high, 4)
                << (g.low < g.high ? ", with probability " + fixed(g.p_middle) + " in [" + fixed(g.low, 4) + ", " + fixed(g.high, 4) + ")" : "")
                << (g.p_high < 1 - 1e-9 ? " (with probability " + fixed(g.p_high) + ")" : "")
                << (g.p_low > 0 ? ", and with probability " + fixed(g.p_low) + " below " + fixed(g.low, 4) : "") << "\n";
    print_report(after, std::cout);
    std::cout << "accuracy " << fixed(cost.accuracy_before) << " -> " << fixed(cost.accuracy_after) << " (cost "
              << fixed(cost.accuracy_cost) << ")\n";
    page.run_info.push_back({"mitigation", "per-group thresholds (" + constraint_name + "): accuracy " +
                                               fixed(cost.accuracy_before) + " -> " + fixed(cost.accuracy_after)});
    page.tables.push_back(groups_table("Groups with per-group thresholds (" + constraint_name + ")", after));
    page.chart_sections.push_back(group_charts("With per-group thresholds", after, false));
  }
  fs::create_directories(output);
  write_report(page, (fs::path(output) / "audit.html").string());
  std::cerr << "cajal audit: wrote " << (fs::path(output) / "audit.html").string() << "\n";
  return 0;
}

}  // namespace cajal::cli
