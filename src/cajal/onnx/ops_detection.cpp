// NonMaxSuppression, the object-detection operator: per batch and class, greedily keep the
// highest-scoring boxes, dropping each box that overlaps a kept one by more than the IoU
// threshold. Its result is a list of indices, not a value to differentiate, so it is plain
// loops over the boxes' numbers.
#include <algorithm>

#include "cajal/onnx/import_ops.h"
#include "cajal/ops/creation.h"

namespace cajal::onnx {

namespace {

struct Box {
  double y1, x1, y2, x2;  // corners, y1 <= y2 and x1 <= x2
};

// A box from its four numbers: two opposite corners in any order (center_point_box 0) or
// centre and size (center_point_box 1).
Box make_box(const double* v, bool center) {
  if (center) return {v[1] - v[3] / 2, v[0] - v[2] / 2, v[1] + v[3] / 2, v[0] + v[2] / 2};
  return {std::min(v[0], v[2]), std::min(v[1], v[3]), std::max(v[0], v[2]), std::max(v[1], v[3])};
}

double iou(const Box& a, const Box& b) {
  double h = std::min(a.y2, b.y2) - std::max(a.y1, b.y1), w = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  if (h <= 0 || w <= 0) return 0;
  double inter = h * w, area_a = (a.y2 - a.y1) * (a.x2 - a.x1), area_b = (b.y2 - b.y1) * (b.x2 - b.x1);
  return inter / (area_a + area_b - inter);
}

TensorList run_nms(const Node& node, const TensorList& in) {
  const Tensor& boxes = in.at(0);   // [B, N, 4]
  const Tensor& scores = in.at(1);  // [B, C, N]
  if (boxes.dim() != 3 || boxes.size(2) != 4 || scores.dim() != 3 || scores.size(0) != boxes.size(0) || scores.size(2) != boxes.size(1))
    fail<ShapeError>(node.where(), ": boxes must be [B, N, 4] and scores [B, C, N], got ", boxes.sizes(), " and ", scores.sizes());
  const int64_t max_per_class = optional_input(in, 2).defined() && in[2].numel() > 0 ? static_cast<int64_t>(scalar_value(in[2])) : 0;
  const double iou_threshold = optional_input(in, 3).defined() && in[3].numel() > 0 ? scalar_value(in[3]) : 0.0;
  const bool has_score_threshold = optional_input(in, 4).defined() && in[4].numel() > 0;
  const double score_threshold = has_score_threshold ? scalar_value(in[4]) : 0.0;
  const bool center = node.get_int("center_point_box", 0) != 0;
  const int64_t batches = boxes.size(0), classes = scores.size(1), count = boxes.size(1);
  std::vector<double> box_values = boxes.to_vector<double>(), score_values = scores.to_vector<double>();
  std::vector<int64_t> selected;  // (batch, class, box) triples
  for (int64_t b = 0; b < batches; ++b) {
    std::vector<Box> all;
    for (int64_t i = 0; i < count; ++i) all.push_back(make_box(&box_values[static_cast<size_t>((b * count + i) * 4)], center));
    for (int64_t c = 0; c < classes; ++c) {
      const double* s = &score_values[static_cast<size_t>((b * classes + c) * count)];
      std::vector<int64_t> order;
      for (int64_t i = 0; i < count; ++i)
        if (!has_score_threshold || s[i] > score_threshold) order.push_back(i);
      std::stable_sort(order.begin(), order.end(), [&](int64_t i, int64_t j) { return s[i] > s[j]; });  // ties keep index order
      std::vector<int64_t> kept;
      for (int64_t i : order) {
        if (static_cast<int64_t>(kept.size()) >= max_per_class) break;
        bool overlaps = std::any_of(kept.begin(), kept.end(), [&](int64_t k) {
          return iou(all[static_cast<size_t>(i)], all[static_cast<size_t>(k)]) > iou_threshold;
        });
        if (!overlaps) kept.push_back(i);
      }
      for (int64_t i : kept) selected.insert(selected.end(), {b, c, i});
    }
  }
  return {from_vector(selected, {static_cast<int64_t>(selected.size() / 3), 3})};
}

}  // namespace

void register_detection_ops(OpTable& table) { table["NonMaxSuppression"] = {run_nms, 10}; }

}  // namespace cajal::onnx
