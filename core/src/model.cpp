#include <llmrt/error.hpp>
#include <llmrt/model.hpp>

#include "async_state.hpp"
#include "dispatch.hpp"
#include "thread_pool.hpp"

namespace llmrt {

Model::Model(std::shared_ptr<ModelInstance> instance) : instance_(std::move(instance)) {}

const ModelInfo& Model::info() const {
  return instance_->binding().info();
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
  auto state = std::make_shared<AsyncState>();
  if (!options.on_chunk) {
    options.on_chunk = [raw = state.get()](std::string_view chunk) {
      raw->push_chunk(chunk);
      return true;
    };
  }
  // The job owns everything the call needs, including the key, which is wiped when it ends.
  struct Job {
    std::shared_ptr<ModelInstance> instance;
    std::shared_ptr<AsyncState> state;
    std::string text;
    PromptOptions options;
  };
  auto job = std::make_shared<Job>(Job{instance_, state, std::move(text), std::move(options)});
  std::function<void()> task = [job] {
    try {
      Response response =
          dispatch(*job->instance, job->text, job->options, &job->state->cancel_requested);
      job->options = PromptOptions{};  // drop the key before anyone is woken
      job->state->finish(std::move(response), nullptr);
    } catch (...) {
      job->options = PromptOptions{};
      job->state->finish(std::nullopt, std::current_exception());
    }
  };
  // Each model has its own lane: a model that is not reentrant runs one call at a time there and
  // holds at most one worker, whatever else is queued.
  const ModelBinding& binding = instance_->binding();
  switch (pool->try_submit(task, {&binding, !binding.info().reentrant})) {
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
  const ThreadPool::LaneLoad load = pool->load(&instance_->binding());
  return {load.queued, load.running};
}

void Model::set_key(Key key) const {
  instance_->set_key(std::move(key));
}

}  // namespace llmrt
