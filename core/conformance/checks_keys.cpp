// Keys (docs/abi.md, "Capabilities and the keyed entry point", "Ownership and lifetime"; plugin.h,
// llmrt_credential): the key is borrowed for one call, read-only, never kept, never put in an error
// message; the keyless execute works for every model.
#include <cstdio>
#include <string>
#include <vector>

#include "context.hpp"
#include "guarded_key.hpp"
#include "text_rules.hpp"

namespace llmrt::conformance {
namespace {

std::string random_key(Context& ctx) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(ctx.random()()));
  return std::string("llmrt-conformance-key-") + hex;
}

bool contains(std::string_view text, std::string_view part) {
  return !part.empty() && text.find(part) != std::string_view::npos;
}

// Runs `judge` on each model that accepts a key; the others are skipped.
template <class Judge>
Result each_keyed_model(Context& ctx, Judge judge) {
  Verdicts verdicts;
  for (const Target& target : ctx.targets()) {
    if (!target.info().accepts_key) {
      verdicts.skip(target.name(), "it does not accept a key");
      continue;
    }
    judge(target, verdicts);
  }
  return verdicts.result();
}

Result keyed_call_works(Context& ctx) {
  return each_keyed_model(ctx, [&](const Target& target, Verdicts& verdicts) {
    GuardedCredential key(random_key(ctx), GuardedCredential::Access::read_only, target.name());
    const std::string text = ctx.words(8);
    const CallRequest request{.text = text, .key = key.get()};
    const CallResult result = call_model(target, request);
    if (auto breach = contract_breach(target, request, result)) {
      verdicts.fail(target.name(), *breach);
    } else if (!key.intact()) {
      verdicts.fail(target.name(), "the credential or its key bytes changed during the call");
    } else {
      verdicts.pass();
    }
  });
}

// The largest credential a host passes: the key and the session token at their ABI limits.
Result largest_credential_works(Context& ctx) {
  return each_keyed_model(ctx, [&](const Target& target, Verdicts& verdicts) {
    std::string key = random_key(ctx);
    key.resize(LLMRT_MAX_KEY_SIZE, 'k');
    std::string token = random_key(ctx);
    token.resize(LLMRT_MAX_SESSION_TOKEN_SIZE, 't');
    GuardedCredential credential(key, GuardedCredential::Access::read_only, target.name(), token);
    const std::string text = ctx.words(8);
    const CallRequest request{.text = text, .key = credential.get()};
    const CallResult result = call_model(target, request);
    if (auto breach = contract_breach(target, request, result)) {
      verdicts.fail(target.name(), *breach);
    } else if (!credential.intact()) {
      verdicts.fail(target.name(), "the credential, its key or its token changed during the call");
    } else {
      verdicts.pass();
    }
  });
}

Result unkeyed_never_called_with_key(Context& ctx) {
  Verdicts verdicts;
  for (const Target& target : ctx.targets()) {
    if (target.info().accepts_key) {
      verdicts.skip(target.name(), "it accepts a key (see keys.plain_execute_without_key)");
      continue;
    }
    // The host checked at load time that execute_with_key is NULL for it (capabilities.agree):
    // what is left to see is that the keyless execute does its job.
    const std::string text = ctx.words(8);
    const CallRequest request{.text = text};
    const CallResult result = call_model(target, request);
    if (auto breach = contract_breach(target, request, result)) {
      verdicts.fail(target.name(), "without a key: " + *breach);
    } else {
      verdicts.pass();
    }
  }
  return verdicts.result();
}

Result plain_execute_without_key(Context& ctx) {
  return each_keyed_model(ctx, [&](const Target& target, Verdicts& verdicts) {
    const std::string text = ctx.words(8);
    const CallRequest request{.text = text};
    const CallResult result = call_model(target, request);
    if (auto breach = contract_breach(target, request, result)) {
      verdicts.fail(target.name(), "without a key: " + *breach);
    } else if (target.info().requires_key && result.status == LLMRT_OK) {
      verdicts.fail(target.name(),
                    "it declares LLMRT_CAP_REQUIRES_KEY but its keyless execute returned LLMRT_OK");
    } else {
      verdicts.pass();
    }
  });
}

Result not_kept_after_call(Context& ctx) {
  return each_keyed_model(ctx, [&](const Target& target, Verdicts& verdicts) {
    // Every credential stays mapped (inaccessible once poisoned) until the end of the check, so
    // that a late access faults inside a known page.
    GuardedCredential first(random_key(ctx), GuardedCredential::Access::read_write, target.name());
    const std::string text = ctx.words(8);
    (void)call_model(target, {.text = text, .key = first.get()});
    first.poison();

    GuardedCredential second(random_key(ctx), GuardedCredential::Access::read_write, target.name());
    const CallResult keyed = call_model(target, {.text = text, .key = second.get()});
    second.poison();
    const CallResult keyless = call_model(target, {.text = text});

    for (const CallResult* later : {&keyed, &keyless}) {
      if (contains(later->output, first.key()) || contains(later->error, first.key())) {
        verdicts.fail(target.name(),
                      std::string("a later ") + (later == &keyed ? "keyed" : "keyless") +
                          " call's " + (contains(later->output, first.key()) ? "output" : "error") +
                          " contains the key of an earlier call: the plugin kept a copy of it");
        return;
      }
    }
    if (contains(keyless.output, second.key()) || contains(keyless.error, second.key())) {
      verdicts.fail(target.name(),
                    "a later keyless call's answer contains the key of an earlier call: the "
                    "plugin kept a copy of it");
      return;
    }
    verdicts.pass();
  });
}

Result not_in_error_message(Context& ctx) {
  return each_keyed_model(ctx, [&](const Target& target, Verdicts& verdicts) {
    struct Attempt {
      std::string text;
      std::string options;
    };
    const std::vector<Attempt> attempts = {
        {ctx.words(8), "{}"}, {std::string(), "{}"}, {ctx.words(4), R"({"nonexistent":1})"}};
    // Plain memory, alive for the whole check: this check is about messages, not about access.
    std::vector<std::string> keys;
    for (std::size_t i = 0; i < attempts.size(); ++i) keys.push_back(random_key(ctx));
    for (std::size_t i = 0; i < attempts.size(); ++i) {
      const llmrt_credential credential = {sizeof(llmrt_credential),
                                           {keys[i].data(), keys[i].size()}};
      const CallResult result = call_model(
          target, {.text = attempts[i].text, .options = attempts[i].options, .key = &credential});
      if (contains(result.error, keys[i])) {
        verdicts.fail(target.name(), "its error message (" + status_name(result.status) +
                                         ") contains the key it was given");
        return;
      }
    }
    verdicts.pass();
  });
}

}  // namespace

std::vector<Check> key_checks() {
  const std::vector<std::string> needs = {"load.host_accepts"};
  return {
      {"keys.keyed_call_works",
       "execute_with_key answers a defined status and leaves the read-only credential untouched",
       "treat the llmrt_credential and its key bytes as the host's, read-only: read key.size bytes "
       "from key.data (it is not NUL-terminated) and never write to them",
       needs, keyed_call_works},
      {"keys.largest_credential",
       "execute_with_key copes with a key of LLMRT_MAX_KEY_SIZE (4096) bytes and a session token "
       "of LLMRT_MAX_SESSION_TOKEN_SIZE (16384) bytes",
       "size buffers for the key and the token by LLMRT_MAX_KEY_SIZE and "
       "LLMRT_MAX_SESSION_TOKEN_SIZE (plugin.h), or use key.size and session_token.size as given",
       needs, largest_credential_works},
      {"keys.unkeyed_never_called_with_key",
       "models without LLMRT_CAP_ACCEPTS_KEY work through the keyless execute alone",
       "a model that does not accept keys is only ever called through execute: make it work "
       "without a key (or declare the key: keyed execute + LLMRT_CAP_ACCEPTS_KEY)",
       needs, unkeyed_never_called_with_key},
      {"keys.plain_execute_without_key",
       "models that accept a key answer cleanly without one (REQUIRES_KEY: a non-OK status + "
       "message)",
       "keep execute working without a key; a model that requires one returns LLMRT_BAD_REQUEST "
       "with a message such as \"model 'x' needs a key\" (the SDK does this)",
       needs, plain_execute_without_key},
      {"keys.not_kept_after_call",
       "the key is not read, kept or repeated after the call that got it returned",
       "use the key only during the call: keep neither key->key.data, the credential pointer nor a "
       "copy of the key after execute_with_key returns; wipe any copy you made for the request",
       needs, not_kept_after_call},
      {"keys.not_in_error_message", "error messages of keyed calls never contain the key",
       "never put the key, or a provider's answer that echoes it, into out->error: scrub it "
       "first (providers often repeat the key in their 401 bodies)",
       needs, not_in_error_message},
  };
}

}  // namespace llmrt::conformance
