// Concurrency: one shared model, many threads, a different key on every call. Each call must see
// exactly its own key and its own prompt (never another thread's), through prompt() and through
// prompt_async(); a non-reentrant model is never entered twice at once; and per-tenant instances
// made with create_model keep their keys apart.
//
// The echo model answers with the prompt, then a last line `key-sha256: <12 hex>` naming the key
// that reached it, so each response proves which key its call used.
#include <gtest/gtest.h>
#include <llmrt/llmrt.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <latch>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "test_support.hpp"

namespace llmrt {
namespace {

constexpr int kThreads = 32;
constexpr int kPromptsPerThread = 200;

// Failures seen on worker threads, reported on the test thread after they are joined (a few are
// kept, and all are counted).
class Failures {
 public:
  void add(std::string message) {
    ++count_;
    std::lock_guard lock(mutex_);
    if (messages_.size() < 10) messages_.push_back(std::move(message));
  }
  int count() const { return count_.load(); }
  std::string summary() const {
    std::lock_guard lock(mutex_);
    std::string text = std::to_string(count_.load()) + " failure(s):";
    for (const auto& message : messages_) text += "\n  " + message;
    return text;
  }

 private:
  std::atomic<int> count_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> messages_;
};

std::string prompt_text(int thread, int iteration) {
  return "thread " + std::to_string(thread) + " iteration " + std::to_string(iteration) +
         ": the quick brown fox";
}

std::string per_call_key(int thread, int iteration) {
  return "sk-call-t" + std::to_string(thread) + "-i" + std::to_string(iteration) + "-x9Q";
}

// Checks one echo response: the text is `prompt`, then a last line naming the key whose
// fingerprint is `fingerprint`; the response reports that same key and `source`.
void check_echo(const Response& response, const std::string& prompt, const std::string& fingerprint,
                KeySource source, Failures& failures) {
  const std::string where = "[" + prompt + "] ";
  const std::size_t newline = response.text.rfind('\n');
  if (newline == std::string::npos) {
    failures.add(where + "no key line in: " + response.text);
    return;
  }
  const std::string before = response.text.substr(0, newline);
  const std::string last_line = response.text.substr(newline + 1);
  const std::string expected_line =
      "key-sha256: " + fingerprint.substr(std::string("sha256:").size());
  if (before != prompt) failures.add(where + "text before the key line is: " + before);
  if (last_line != expected_line) {
    failures.add(where + "last line is '" + last_line + "', expected '" + expected_line + "'");
  }
  if (response.key_fingerprint != fingerprint) {
    failures.add(where + "key_fingerprint " + response.key_fingerprint + ", expected " +
                 fingerprint);
  }
  if (response.key_source != source) {
    failures.add(where + "key_source " + std::string(to_string(response.key_source)) +
                 ", expected " + std::string(to_string(source)));
  }
  if (response.model_id != "echo") failures.add(where + "model_id " + response.model_id);
  if (response.cancelled) failures.add(where + "cancelled");
}

// Runs `body(thread)` on `threads` threads that start together, and joins them.
template <class Body>
void run_threads(int threads, Body body) {
  std::latch start(threads);
  std::vector<std::thread> workers;
  workers.reserve(static_cast<std::size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      start.arrive_and_wait();
      body(t);
    });
  }
  for (auto& worker : workers) worker.join();
}

class Concurrency : public ::testing::Test {
 protected:
  test::TempDir temp_;
  test::FakeEnvironment environment_;

  RuntimeConfig config() const { return test::isolated_config(temp_.path(), environment_); }
};

// ---- One shared model, a distinct per-call key on every call -----------------------------------

using SharedModelPerCallKeys = Concurrency;

TEST_F(SharedModelPerCallKeys, EverySyncCallSeesOnlyItsOwnKeyAndPrompt) {
  Runtime runtime(config());
  const Model model = runtime.get_model("echo");
  Failures failures;
  std::atomic<int> completed{0};
  run_threads(kThreads, [&](int thread) {
    for (int i = 0; i < kPromptsPerThread; ++i) {
      const std::string prompt = prompt_text(thread, i);
      Key key(per_call_key(thread, i));
      const std::string fingerprint = key.fingerprint();
      PromptOptions options;
      options.key = std::move(key);
      try {
        const Response response = model.prompt(prompt, std::move(options));
        check_echo(response, prompt, fingerprint, KeySource::per_call, failures);
        ++completed;
      } catch (const std::exception& error) {
        failures.add("[" + prompt + "] threw: " + error.what());
      }
    }
  });
  EXPECT_EQ(failures.count(), 0) << failures.summary();
  EXPECT_EQ(completed.load(), kThreads * kPromptsPerThread);
}

TEST_F(SharedModelPerCallKeys, EveryAsyncCallSeesOnlyItsOwnKeyAndPrompt) {
  Runtime runtime(config());  // default queue limit 1024: the waves below stay under it
  const Model model = runtime.get_model("echo");
  constexpr int kWave = 25;  // at most kThreads * kWave = 800 calls queued at once
  Failures failures;
  std::atomic<int> completed{0};
  run_threads(kThreads, [&](int thread) {
    for (int wave_start = 0; wave_start < kPromptsPerThread; wave_start += kWave) {
      struct Pending {
        std::string prompt;
        std::string fingerprint;
        std::optional<AsyncResponse> response;
      };
      std::vector<Pending> wave;
      for (int i = wave_start; i < std::min(wave_start + kWave, kPromptsPerThread); ++i) {
        Pending pending{prompt_text(thread, i), "", std::nullopt};
        Key key(per_call_key(thread, i));
        pending.fingerprint = key.fingerprint();
        PromptOptions options;
        options.key = std::move(key);
        try {
          pending.response = model.prompt_async(pending.prompt, std::move(options));
        } catch (const std::exception& error) {
          failures.add("[" + pending.prompt + "] prompt_async threw: " + error.what());
        }
        wave.push_back(std::move(pending));
      }
      for (auto& pending : wave) {
        if (!pending.response) continue;
        try {
          const Response response = pending.response->get();
          check_echo(response, pending.prompt, pending.fingerprint, KeySource::per_call, failures);
          ++completed;
        } catch (const std::exception& error) {
          failures.add("[" + pending.prompt + "] get threw: " + error.what());
        }
      }
    }
  });
  EXPECT_EQ(failures.count(), 0) << failures.summary();
  EXPECT_EQ(completed.load(), kThreads * kPromptsPerThread);
}

TEST_F(SharedModelPerCallKeys, AsyncChunksOfConcurrentCallsDoNotMix) {
  Runtime runtime(config());
  const Model model = runtime.get_model("echo");
  Failures failures;
  run_threads(8, [&](int thread) {
    for (int i = 0; i < 10; ++i) {
      const std::string prompt = prompt_text(thread, i);
      Key key(per_call_key(thread, i));
      const std::string fingerprint = key.fingerprint();
      PromptOptions options;
      options.key = std::move(key);
      try {
        AsyncResponse async = model.prompt_async(prompt, std::move(options));
        std::string streamed;
        while (auto chunk = async.next_chunk()) streamed += *chunk;
        const Response response = async.get();
        if (streamed != response.text) failures.add("[" + prompt + "] streamed " + streamed);
        check_echo(response, prompt, fingerprint, KeySource::per_call, failures);
      } catch (const std::exception& error) {
        failures.add("[" + prompt + "] threw: " + error.what());
      }
    }
  });
  EXPECT_EQ(failures.count(), 0) << failures.summary();
}

TEST_F(SharedModelPerCallKeys, StoredKeysNamedPerCallAreReadConcurrently) {
  const KeysFile keys(temp_.path() / "keys.json");
  for (int t = 0; t < 16; ++t) {
    keys.set("tenant-" + std::to_string(t), Key("sk-stored-" + std::to_string(t)));
  }
  Runtime runtime(config());
  const Model model = runtime.get_model("echo");
  Failures failures;
  run_threads(16, [&](int thread) {
    const std::string fingerprint = Key("sk-stored-" + std::to_string(thread)).fingerprint();
    for (int i = 0; i < 20; ++i) {
      const std::string prompt = prompt_text(thread, i);
      PromptOptions options;
      options.key_name = "tenant-" + std::to_string(thread);
      try {
        check_echo(model.prompt(prompt, std::move(options)), prompt, fingerprint,
                   KeySource::stored_name, failures);
      } catch (const std::exception& error) {
        failures.add("[" + prompt + "] threw: " + error.what());
      }
    }
  });
  EXPECT_EQ(failures.count(), 0) << failures.summary();
}

// ---- A model that is not reentrant
// ---------------------------------------------------------------

class NonReentrantModel : public Concurrency {
 protected:
  RuntimeConfig serial_config() const {
    RuntimeConfig config = this->config();
    config.plugin_paths = {test::kBundledPluginDir, test::kTestPluginDir / "serial.so"};
    return config;
  }
};

TEST_F(NonReentrantModel, IsNeverEnteredConcurrentlyFromSixteenThreads) {
  Runtime runtime(serial_config());
  ASSERT_TRUE(runtime.load_errors().empty()) << runtime.load_errors().front().message;
  const Model model = runtime.get_model("serial");
  ASSERT_FALSE(model.info().reentrant);
  Failures failures;
  run_threads(16, [&](int thread) {
    for (int i = 0; i < 25; ++i) {
      const std::string prompt = prompt_text(thread, i);
      try {
        const Response response = model.prompt(prompt);
        if (response.text != prompt) failures.add("[" + prompt + "] got " + response.text);
      } catch (const std::exception& error) {
        failures.add("[" + prompt + "] threw: " + error.what());
      }
    }
  });
  EXPECT_EQ(failures.count(), 0) << failures.summary();
}

TEST_F(NonReentrantModel, SeparateInstancesOfItAreStillSerialized) {
  Runtime runtime(serial_config());
  std::vector<Model> models;
  models.push_back(runtime.get_model("serial"));
  for (int i = 0; i < 3; ++i) models.push_back(runtime.create_model("serial"));
  Failures failures;
  run_threads(16, [&](int thread) {
    const Model& model = models[static_cast<std::size_t>(thread) % models.size()];
    for (int i = 0; i < 25; ++i) {
      const std::string prompt = prompt_text(thread, i);
      try {
        const Response response = model.prompt(prompt);
        if (response.text != prompt) failures.add("[" + prompt + "] got " + response.text);
      } catch (const std::exception& error) {
        failures.add("[" + prompt + "] threw: " + error.what());
      }
    }
  });
  EXPECT_EQ(failures.count(), 0) << failures.summary();
}

TEST_F(NonReentrantModel, AsyncCallsOnManyWorkersAreSerialized) {
  RuntimeConfig config = serial_config();
  config.async_threads = 8;
  Runtime runtime(std::move(config));
  const Model model = runtime.get_model("serial");
  Failures failures;
  run_threads(16, [&](int thread) {
    std::vector<std::pair<std::string, AsyncResponse>> calls;
    for (int i = 0; i < 20; ++i) {
      std::string prompt = prompt_text(thread, i);
      try {
        AsyncResponse async = model.prompt_async(prompt);
        calls.emplace_back(std::move(prompt), std::move(async));
      } catch (const std::exception& error) {
        failures.add("[" + prompt + "] prompt_async threw: " + error.what());
      }
    }
    for (auto& [prompt, async] : calls) {
      try {
        const Response response = async.get();
        if (response.text != prompt) failures.add("[" + prompt + "] got " + response.text);
      } catch (const std::exception& error) {
        failures.add("[" + prompt + "] threw: " + error.what());
      }
    }
  });
  EXPECT_EQ(failures.count(), 0) << failures.summary();
}

// ---- One instance per tenant
// ---------------------------------------------------------------------

using PerTenantInstances = Concurrency;

std::string tenant_key(int tenant) {
  return "sk-tenant-" + std::to_string(tenant) + "-Zk3";
}

TEST_F(PerTenantInstances, EachCallCarriesItsOwnTenantsKey) {
  Runtime runtime(config());
  constexpr int kTenants = 8;
  std::vector<Model> tenants;
  std::vector<std::string> fingerprints;
  for (int t = 0; t < kTenants; ++t) {
    tenants.push_back(runtime.create_model("echo", ModelSettings{.key = Key(tenant_key(t))}));
    fingerprints.push_back(Key(tenant_key(t)).fingerprint());
  }
  const Model shared = runtime.get_model("echo");  // has no key: tenants' keys must not leak in
  Failures failures;
  run_threads(16, [&](int thread) {
    for (int i = 0; i < 100; ++i) {
      const std::string prompt = prompt_text(thread, i);
      try {
        if (i % 9 == 8) {
          const Response response = shared.prompt(prompt);
          if (response.text != prompt || response.key_source != KeySource::none ||
              !response.key_fingerprint.empty()) {
            failures.add("[" + prompt + "] the shared model got a key: " + response.text);
          }
          continue;
        }
        const int tenant = (thread + i) % kTenants;
        const Response response = tenants[static_cast<std::size_t>(tenant)].prompt(prompt);
        check_echo(response, prompt, fingerprints[static_cast<std::size_t>(tenant)],
                   KeySource::instance, failures);
      } catch (const std::exception& error) {
        failures.add("[" + prompt + "] threw: " + error.what());
      }
    }
  });
  EXPECT_EQ(failures.count(), 0) << failures.summary();
}

TEST_F(PerTenantInstances, AsyncCallsCarryTheirTenantsKey) {
  Runtime runtime(config());
  constexpr int kTenants = 8;
  std::vector<Model> tenants;
  for (int t = 0; t < kTenants; ++t) {
    tenants.push_back(runtime.create_model("echo", ModelSettings{.key = Key(tenant_key(t))}));
  }
  Failures failures;
  run_threads(kTenants, [&](int tenant) {
    const std::string fingerprint = Key(tenant_key(tenant)).fingerprint();
    std::vector<std::pair<std::string, AsyncResponse>> calls;
    for (int i = 0; i < 25; ++i) {
      std::string prompt = prompt_text(tenant, i);
      AsyncResponse async = tenants[static_cast<std::size_t>(tenant)].prompt_async(prompt);
      calls.emplace_back(std::move(prompt), std::move(async));
    }
    for (auto& [prompt, async] : calls) {
      try {
        check_echo(async.get(), prompt, fingerprint, KeySource::instance, failures);
      } catch (const std::exception& error) {
        failures.add("[" + prompt + "] threw: " + error.what());
      }
    }
  });
  EXPECT_EQ(failures.count(), 0) << failures.summary();
}

TEST_F(PerTenantInstances, PerCallKeyBeatsTheInstanceKey) {
  Runtime runtime(config());
  const Model tenant = runtime.create_model("echo", ModelSettings{.key = Key("sk-tenant-key")});

  PromptOptions options;
  options.key = Key("sk-per-call-key");
  const Response overridden = tenant.prompt("hi", std::move(options));
  Failures failures;
  check_echo(overridden, "hi", Key("sk-per-call-key").fingerprint(), KeySource::per_call, failures);
  // ...for that call only: the next call uses the instance key again.
  check_echo(tenant.prompt("hi"), "hi", Key("sk-tenant-key").fingerprint(), KeySource::instance,
             failures);
  EXPECT_EQ(failures.count(), 0) << failures.summary();
}

TEST_F(PerTenantInstances, PerCallKeysBeatInstanceKeysUnderLoad) {
  Runtime runtime(config());
  constexpr int kTenants = 8;
  std::vector<Model> tenants;
  for (int t = 0; t < kTenants; ++t) {
    tenants.push_back(runtime.create_model("echo", ModelSettings{.key = Key(tenant_key(t))}));
  }
  Failures failures;
  run_threads(16, [&](int thread) {
    for (int i = 0; i < 50; ++i) {
      const std::string prompt = prompt_text(thread, i);
      const int tenant = (thread * 3 + i) % kTenants;
      const Model& model = tenants[static_cast<std::size_t>(tenant)];
      try {
        if (i % 2 == 0) {
          Key key(per_call_key(thread, i));
          const std::string fingerprint = key.fingerprint();
          PromptOptions options;
          options.key = std::move(key);
          check_echo(model.prompt(prompt, std::move(options)), prompt, fingerprint,
                     KeySource::per_call, failures);
        } else {
          check_echo(model.prompt(prompt), prompt, Key(tenant_key(tenant)).fingerprint(),
                     KeySource::instance, failures);
        }
      } catch (const std::exception& error) {
        failures.add("[" + prompt + "] threw: " + error.what());
      }
    }
  });
  EXPECT_EQ(failures.count(), 0) << failures.summary();
}

TEST_F(PerTenantInstances, SetKeyWhileCallsRunGivesEachCallOneWholeKey) {
  Runtime runtime(config());
  const Model model = runtime.create_model("echo", ModelSettings{.key = Key("sk-rotating-a")});
  const std::string fingerprint_a = Key("sk-rotating-a").fingerprint();
  const std::string fingerprint_b = Key("sk-rotating-b").fingerprint();
  Failures failures;
  std::atomic<bool> stop{false};
  std::thread rotator([&] {
    for (int i = 0; !stop.load(); ++i)
      model.set_key(Key(i % 2 == 0 ? "sk-rotating-b" : "sk-rotating-a"));
  });
  run_threads(8, [&](int thread) {
    for (int i = 0; i < 50; ++i) {
      const std::string prompt = prompt_text(thread, i);
      try {
        const Response response = model.prompt(prompt);
        const std::string& used = response.key_fingerprint;
        if (used != fingerprint_a && used != fingerprint_b) {
          failures.add("[" + prompt + "] unexpected key " + used);
          continue;
        }
        // The key the plugin saw is the one the response reports.
        check_echo(response, prompt, used, KeySource::instance, failures);
      } catch (const std::exception& error) {
        failures.add("[" + prompt + "] threw: " + error.what());
      }
    }
  });
  stop = true;
  rotator.join();
  EXPECT_EQ(failures.count(), 0) << failures.summary();
}

}  // namespace
}  // namespace llmrt
