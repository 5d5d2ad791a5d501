#include "cajal/cli/safe_yaml.h"

#include <yaml-cpp/eventhandler.h>

#include <map>
#include <sstream>
#include <vector>

#include "cajal/core/error.h"

namespace cajal::cli {

namespace {

// Follows the parser's events, counting every value as a walk of the loaded tree would
// meet it (an alias counts as all that its anchor holds) and every map's keys.
class YamlChecker : public YAML::EventHandler {
 public:
  explicit YamlChecker(const std::string& name) : name_(name) {}

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { value(mark, anchor, 1, nullptr); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, const std::string& text) override {
    value(mark, anchor, 1, &text);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const uint64_t copied = anchored_values_[anchor];
    aliased_values_ += copied;
    if (aliased_values_ > kMaxAliasedValues) {
      fail_at(mark, "aliases stand for more than ", kMaxAliasedValues, " values (an alias bomb?); write the values out");
    }
    value(mark, 0, copied, nullptr);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, YAML::EmitterStyle::value) override {
    open(mark, anchor, false);
  }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, YAML::EmitterStyle::value) override {
    open(mark, anchor, true);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapEnd() override { close(); }

 private:
  struct Collection {
    YAML::Mark mark;
    YAML::anchor_t anchor;
    bool is_map;
    uint64_t values_before;                  // values_ when it opened
    bool next_is_key = true;                 // maps: the next entry is a key
    std::map<std::string, int> key_lines{};  // maps: each scalar key and its line
  };

  template <typename... Args>
  [[noreturn]] void fail_at(const YAML::Mark& mark, const Args&... what) {
    fail<ValueError>(name_, ":", mark.line + 1, ":", mark.column + 1, ": ", what...);
  }

  // A scalar, null, alias or finished collection standing for `count` values.
  void value(const YAML::Mark& mark, YAML::anchor_t anchor, uint64_t count, const std::string* text) {
    if (!open_.empty() && open_.back().is_map) {
      Collection& map = open_.back();
      if (map.next_is_key && text) {
        auto [first, inserted] = map.key_lines.emplace(*text, mark.line + 1);
        if (!inserted) fail_at(mark, "duplicate key '", *text, "' (first given on line ", first->second, ")");
      }
      map.next_is_key = !map.next_is_key;
    }
    values_ += count;
    if (anchor != 0) anchored_values_[anchor] = count;
  }

  void open(const YAML::Mark& mark, YAML::anchor_t anchor, bool is_map) {
    open_.push_back({mark, anchor, is_map, values_});
    ++values_;  // the collection itself
  }

  void close() {
    Collection done = std::move(open_.back());
    open_.pop_back();
    const uint64_t count = values_ - done.values_before;
    values_ = done.values_before;  // value() counts it again, as one entry of its parent
    value(done.mark, done.anchor, count, nullptr);
  }

  const std::string& name_;
  std::vector<Collection> open_;
  std::map<YAML::anchor_t, uint64_t> anchored_values_;
  uint64_t values_ = 0;          // values seen, aliases expanded
  uint64_t aliased_values_ = 0;  // of which aliases copied
};

}  // namespace

YAML::Node load_yaml(const std::string& text, const std::string& name) {
  try {
    std::istringstream stream(text);
    YAML::Parser parser(stream);
    YamlChecker checker(name);
    parser.HandleNextDocument(checker);
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    fail<ValueError>(name, ":", e.mark.line + 1, ":", e.mark.column + 1, ": invalid YAML: ", e.msg);
  }
}

}  // namespace cajal::cli
