// `cajal predict MODEL --input images-or-table [--output out.csv|out.json]`
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cajal/cli/args.h"
#include "cajal/cli/commands.h"
#include "cajal/cli/inputs.h"
#include "cajal/io/atomic_file.h"
#include "cajal/io/json.h"

namespace cajal::cli {

namespace {

// A CSV cell: quoted when it holds a comma, a quote or a line break.
std::string csv_cell(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

}  // namespace

int predict_command(const std::vector<std::string>& argv) {
  Args args = parse_args(argv, "predict", {"--input", "--output", "--label-column"});
  if (args.positional.size() != 1) fail<UsageError>("cajal predict: expected one model file or run folder");
  if (!args.value("--input")) fail<UsageError>("cajal predict: --input is required (images, a folder, a CSV table, .npy or IDX)");
  LoadedModel model = load_model(args.positional[0]);
  if (model.info.input.per_step) fail<ValueError>(model.path, ": a language model: sample from it with `cajal generate`");
  const ModelInfo& info = model.info;
  std::vector<std::string> names;
  Tensor inputs = predict_inputs(model, *args.value("--input"), args.value("--label-column").value_or(""), names);
  Tensor outputs = run_model(*model.module, inputs).to(DType::f64);
  if (info.classification) outputs = class_probabilities(info, outputs);
  outputs = outputs.contiguous();
  const double* values = outputs.data_ptr<double>();
  int64_t rows = outputs.size(0), columns = outputs.numel() / std::max<int64_t>(rows, 1);

  std::string output = args.value("--output").value_or("");
  bool json = output.ends_with(".json");
  std::ostringstream text;
  if (json) {
    text << "[\n";
    for (int64_t i = 0; i < rows; ++i) {
      const double* row = values + i * columns;
      text << "  {\"input\": " << json_quote(names[static_cast<size_t>(i)]);
      if (info.classification) {
        int64_t best = std::max_element(row, row + columns) - row;
        text << ", \"label\": " << json_quote(class_name(info, best)) << ", \"probabilities\": {";
        for (int64_t k = 0; k < columns; ++k) text << (k ? ", " : "") << json_quote(class_name(info, k)) << ": " << format_number(row[k]);
        text << "}}";
      } else {
        text << ", \"prediction\": [";
        for (int64_t k = 0; k < columns; ++k) text << (k ? ", " : "") << format_number(row[k]);
        text << "]}";
      }
      text << (i + 1 < rows ? ",\n" : "\n");
    }
    text << "]\n";
  } else {
    text << "input";
    if (info.classification) {
      text << ",label";
      for (int64_t k = 0; k < columns; ++k) text << "," << csv_cell("p_" + class_name(info, k));
    } else {
      for (int64_t k = 0; k < columns; ++k) {
        text << ",prediction";
        if (columns > 1) text << "_" << k;
      }
    }
    text << "\n";
    for (int64_t i = 0; i < rows; ++i) {
      const double* row = values + i * columns;
      text << csv_cell(names[static_cast<size_t>(i)]);
      if (info.classification) text << "," << csv_cell(class_name(info, std::max_element(row, row + columns) - row));
      for (int64_t k = 0; k < columns; ++k) text << "," << format_number(row[k]);
      text << "\n";
    }
  }
  if (output.empty()) {
    std::cout << text.str();
  } else {
    std::string content = text.str();
    write_file_atomically(output, {std::span<const char>(content.data(), content.size())}, "cajal predict");
    std::cerr << "cajal predict: " << rows << " predictions written to " << output << "\n";
  }
  return 0;
}

}  // namespace cajal::cli
