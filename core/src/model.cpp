#include <llmrt/error.hpp>
#include <llmrt/model.hpp>

#include "async_state.hpp"
#include "dispatch.hpp"
#include "thread_pool.hpp"

namespace llmrt {

Model::Model(std::shared_ptr<ModelInstance> instance) : instance_(std::move(instance)) {}

const ModelInfo& Model::info() const {
  return instance_->info();
}

Response Model::prompt(std::string_view text, PromptOptions options) const {
  return dispatch(*instance_, text, options, nullptr);
}

AsyncResponse Model::prompt_async(std::string text, PromptOptions options) const {
  const std::shared_ptr<ThreadPool> pool = instance_->pool();
  if (!pool) {
    throw Error(ErrorCode::usage,
                "prompt_async on model '" + id() + "' after its Runtime was destroyed");
  }
  // One allocation holds the call's inputs (the key among them, wiped when the call ends) and its
  // outcome; the task is a single pointer, stored inside std::function without allocating.
  auto state = std::make_shared<AsyncState>();
  state->instance = instance_;
  state->text = std::move(text);
  state->options = std::move(options);
  state->wait_spin = pool->idle_spin();
  if (!state->options.on_chunk) {
    state->options.on_chunk = [raw = state.get()](std::string_view chunk) {
      raw->push_chunk(chunk);
      return true;
    };
  }
  std::function<void()> task = [state] {
    std::optional<Response> response;
    std::exception_ptr failure;
    try {
      response = dispatch(*state->instance, state->text, state->options, &state->cancel_requested);
    } catch (...) {
      failure = std::current_exception();
    }
    // Drop the key (and the prompt) before anyone is woken; the instance goes last, on this worker
    // (it may hold the last reference to the Runtime).
    state->options = PromptOptions{};
    std::string().swap(state->text);
    const std::shared_ptr<ModelInstance> instance = std::move(state->instance);
    AsyncState::finish(state, std::move(response), std::move(failure));
  };
  // Each model has its own lane: a model that is not reentrant runs one call at a time there and
  // holds at most one worker, whatever else is queued.
  // (The listed model, not its binding, names the lane: the plugin may not be loaded yet.)
  const LazyModel& model = instance_->model();
  switch (pool->try_submit(task, {&model, !model.info().reentrant})) {
    case ThreadPool::Submitted::accepted:
      break;
    case ThreadPool::Submitted::full:
      throw Error(ErrorCode::busy, "too many prompts are waiting to run; try again later");
    case ThreadPool::Submitted::stopping:
      throw Error(ErrorCode::usage,
                  "prompt_async on model '" + id() + "' while its Runtime is being destroyed");
  }
  return AsyncResponse(std::move(state));
}

Model::AsyncLoad Model::async_load() const {
  const std::shared_ptr<ThreadPool> pool = instance_->pool();
  if (!pool) return {};
  const ThreadPool::LaneLoad load = pool->load(&instance_->model());
  return {load.queued, load.running};
}

void Model::set_key(Key key) const {
  instance_->set_key(std::move(key));
}

}  // namespace llmrt
