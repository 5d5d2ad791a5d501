#pragma once
// The definitions of OptimizerBase's members. Only optimizer sources include this file; each
// ends with an explicit instantiation (template class OptimizerBase<SGD, SGDOptions, SGDState>;),
// so programs that use an optimizer compile against declarations only.
#include <map>
#include <type_traits>

#include "cajal/autograd/grad_mode.h"
#include "cajal/optim/optimizer.h"

namespace cajal::optim {

namespace detail {
// Checks a parameter as it joins an optimizer: a defined, contiguous float32/float64 leaf.
void check_param(const char* optimizer, const Tensor& param, size_t index);
// Checks that a state buffer still fits its parameter (which param_groups() lets users replace).
void check_buffer(const char* optimizer, const char* name, const Tensor& buffer, const Tensor& param);
// Fails when a parameter appears twice among `params` and the existing groups' parameters.
void check_unique(const char* optimizer, const TensorList& params, const std::vector<const TensorList*>& existing);
// The parameter's gradient, contiguous, for an update; undefined when it has none. Fails when
// the parameter is not contiguous or the gradient's dtype or shape differs from the parameter's.
Tensor grad_for_update(const char* optimizer, const Tensor& param);
// A zero buffer shaped like `param`, made the first time it is needed.
Tensor& ensure_zeros(Tensor& buffer, const Tensor& param);

// state_dict pieces: entry names and values.
std::string state_key(size_t param_index, const char* field);
std::string group_key(size_t group, const char* field);
Tensor number_tensor(double value);  // 0-d float64
Tensor step_tensor(int64_t value);   // 0-d int64
Tensor index_tensor(size_t begin, size_t count);  // begin, begin + 1, ... as 1-D int64

// The entries of a state_dict being loaded, by name; each is taken once, and finish() fails
// on any entry nobody took.
class StateReader {
 public:
  StateReader(const char* optimizer, const NamedTensors& state);
  // The entry, removed from the reader, or an undefined tensor when absent.
  Tensor take(const std::string& key);
  // The entry, which must exist and hold one number.
  double take_number(const std::string& key);
  // A copy of a per-parameter buffer, checked to have the parameter's shape.
  Tensor take_buffer(const std::string& key, const Tensor& param);
  void finish() const;
  [[noreturn]] void fail_entry(const std::string& key, const std::string& problem) const;

 private:
  const char* optimizer_;
  std::map<std::string, Tensor> entries_;
};
}  // namespace detail

template <typename Derived, typename Options, typename State>
OptimizerBase<Derived, Options, State>::OptimizerBase(const TensorList& params, const Options& options) {
  if (params.empty()) fail<ValueError>(Derived::kName, ": got an empty parameter list");
  add_param_group(params, options);
}

template <typename Derived, typename Options, typename State>
OptimizerBase<Derived, Options, State>::OptimizerBase(const std::vector<ParamGroupSpec<Options>>& groups) {
  if (groups.empty()) fail<ValueError>(Derived::kName, ": got an empty list of parameter groups");
  for (const auto& g : groups) add_param_group(g.params, g.options);
}

template <typename Derived, typename Options, typename State>
void OptimizerBase<Derived, Options, State>::add_param_group(const TensorList& params, const Options& options) {
  Derived::check(options);
  size_t first_index = 0;
  std::vector<const TensorList*> existing;
  for (const Group& g : groups_) {
    existing.push_back(&g.params);
    first_index += g.params.size();
  }
  for (size_t i = 0; i < params.size(); ++i) detail::check_param(Derived::kName, params[i], first_index + i);
  detail::check_unique(Derived::kName, params, existing);

  Group group;
  static_cast<Options&>(group) = options;
  group.params = params;
  std::vector<State> states(params.size());
  for (size_t i = 0; i < params.size(); ++i) Derived::init_state(params[i], options, states[i]);
  groups_.push_back(std::move(group));
  state_.push_back(std::move(states));
}

template <typename Derived, typename Options, typename State>
void OptimizerBase<Derived, Options, State>::step() {
  NoGradGuard no_grad;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const Group& group = groups_[g];
    // param_groups() lets users edit a group's parameter list: make sure it still fits the state.
    if (group.params.size() != state_[g].size())
      fail<ValueError>(Derived::kName, ": parameter group ", g, " now has ", group.params.size(), " parameters, it was added with ",
                       state_[g].size(), "; add parameters with add_param_group");
    for (size_t i = 0; i < group.params.size(); ++i) {
      const Tensor& param = group.params[i];
      Tensor grad = detail::grad_for_update(Derived::kName, param);
      if (!grad.defined()) continue;
      State& state = state_[g][i];
      state.each([&](const char* name, auto& field) {
        if constexpr (std::is_same_v<std::decay_t<decltype(field)>, Tensor>)
          if (field.defined()) detail::check_buffer(Derived::kName, name, field, param);
      });
      Derived::update(param, grad, group, state);
      param.bump_version();
    }
  }
}

template <typename Derived, typename Options, typename State>
ParamGroupView OptimizerBase<Derived, Options, State>::param_group(size_t index) {
  if (index >= groups_.size())
    fail<IndexError>(Derived::kName, ": parameter group ", index, " out of range (", groups_.size(), " groups)");
  Group& g = groups_[index];
  return {g.params, g.lr, g.initial_lr, Derived::momentum(g)};
}

template <typename Derived, typename Options, typename State>
NamedTensors OptimizerBase<Derived, Options, State>::state_dict() const {
  NamedTensors out;
  size_t index = 0;
  for (size_t g = 0; g < groups_.size(); ++g) {
    for (State s : state_[g]) {  // a copy: each() hands out non-const references
      bool has_state = false;
      s.each([&](const char*, auto& field) {
        if constexpr (std::is_same_v<std::decay_t<decltype(field)>, Tensor>) has_state |= field.defined();
      });
      if (has_state) {
        s.each([&](const char* name, auto& field) {
          using Field = std::decay_t<decltype(field)>;
          if constexpr (std::is_same_v<Field, Tensor>) {
            if (field.defined()) out.emplace_back(detail::state_key(index, name), field);
          } else if constexpr (std::is_same_v<Field, int64_t>) {
            out.emplace_back(detail::state_key(index, name), detail::step_tensor(field));
          } else {
            out.emplace_back(detail::state_key(index, name), detail::number_tensor(field));
          }
        });
      }
      ++index;
    }
  }
  index = 0;
  for (size_t g = 0; g < groups_.size(); ++g) {
    out.emplace_back(detail::group_key(g, "params"), detail::index_tensor(index, groups_[g].params.size()));
    index += groups_[g].params.size();
    Options options = groups_[g];
    options.each([&](const char* name, auto& value) {
      out.emplace_back(detail::group_key(g, name), detail::number_tensor(static_cast<double>(value)));
    });
    if (groups_[g].initial_lr) out.emplace_back(detail::group_key(g, "initial_lr"), detail::number_tensor(*groups_[g].initial_lr));
  }
  return out;
}

template <typename Derived, typename Options, typename State>
void OptimizerBase<Derived, Options, State>::load_state_dict(const NamedTensors& state) {
  detail::StateReader reader(Derived::kName, state);
  // Read everything into new groups and states first, so a bad file changes nothing.
  std::vector<Group> groups = groups_;
  std::vector<std::vector<State>> states;
  size_t index = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    Group& group = groups[g];
    std::string params_key = detail::group_key(g, "params");
    Tensor indices = reader.take(params_key);
    if (!indices.defined()) reader.fail_entry(params_key, "is missing: the state has fewer parameter groups");
    if (indices.numel() != static_cast<int64_t>(group.params.size()))
      reader.fail_entry(params_key, cajal::detail::concat("lists ", indices.numel(), " parameters, the group has ", group.params.size()));
    static_cast<Options&>(group).each([&](const char* name, auto& value) {
      value = static_cast<std::decay_t<decltype(value)>>(reader.take_number(detail::group_key(g, name)));
    });
    Derived::check(group);
    Tensor initial_lr = reader.take(detail::group_key(g, "initial_lr"));
    group.initial_lr = initial_lr.defined() ? std::optional<double>(initial_lr.item<double>()) : std::nullopt;

    std::vector<State> group_states(group.params.size());
    for (size_t i = 0; i < group.params.size(); ++i, ++index) {
      const Tensor& param = group.params[i];
      State& s = group_states[i];
      bool found = false;
      s.each([&](const char* name, auto& field) {
        using Field = std::decay_t<decltype(field)>;
        std::string key = detail::state_key(index, name);
        if constexpr (std::is_same_v<Field, Tensor>) {
          field = reader.take_buffer(key, param);
          found |= field.defined();
        } else {
          Tensor value = reader.take(key);
          if (value.defined()) field = value.item<Field>();
        }
      });
      if (!found) {
        s = State{};
        Derived::init_state(param, group, s);
      }
    }
    states.push_back(std::move(group_states));
  }
  reader.finish();
  groups_ = std::move(groups);
  state_ = std::move(states);
}

}  // namespace cajal::optim
