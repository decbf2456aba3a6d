// What the plugin describes itself with (docs/abi.md, "Types", "Capabilities and the keyed entry
// point", "Extensions"), read raw from the structs the entry point returned to a 2.0 host; then the
// host's own loader as the final word (load.host_accepts).
#include <llmrt/plugin.h>
#include <llmrt/error.hpp>
#include <llmrt/keys_file.hpp>

#include <boost/json.hpp>
#include <set>
#include <string>

#include "context.hpp"
#include "isolation.hpp"
#include "options_schema.hpp"
#include "text_rules.hpp"

namespace llmrt::conformance {
namespace {

constexpr std::uint64_t kKnownCapabilities = LLMRT_CAP_ACCEPTS_KEY | LLMRT_CAP_REQUIRES_KEY |
                                             LLMRT_CAP_STREAMING | LLMRT_CAP_REENTRANT |
                                             LLMRT_CAP_DETERMINISTIC;

bool present(const char* text) {
  return text != nullptr && *text != '\0';
}

// The view, or a SKIP when there is none (cannot happen once negotiate.current passed).
const PluginView* plugin_view(Context& ctx) {
  RawSubject& subject = ctx.raw();
  return subject.view ? &*subject.view : nullptr;
}

Result no_view() {
  return Result::skipped("the entry point returned no plugin struct");
}

// Runs `judge` on every model with a readable struct. `v2_only`: v1 models are skipped.
template <class Judge>
Result each_model(Context& ctx, bool v2_only, Judge judge) {
  const PluginView* view = plugin_view(ctx);
  if (view == nullptr) return no_view();
  Verdicts verdicts;
  for (const ModelView& model : view->models) {
    if (model.struct_size < view->expected_model_size()) {
      verdicts.skip(model.name(), "its struct is too small to read (see descriptor.model_sizes)");
      continue;
    }
    if (v2_only && !model.has_v2_fields) {
      verdicts.skip(model.name(), "ABI v1 models have no key metadata or capabilities");
      continue;
    }
    if (auto problem = judge(model, *view)) {
      verdicts.fail(model.name(), *problem);
    } else {
      verdicts.pass();
    }
  }
  return verdicts.result();
}

using Problem = std::optional<std::string>;

Result plugin_struct(Context& ctx) {
  const PluginView* view = plugin_view(ctx);
  if (view == nullptr) return no_view();
  Verdicts verdicts;
  if (view->struct_size < view->expected_plugin_size()) {
    verdicts.fail("", "struct_size is " + std::to_string(view->struct_size) +
                          ", smaller than ABI " + version_string(view->answered) + "'s " +
                          std::to_string(view->expected_plugin_size()));
  }
  if (!present(view->name) || !valid_utf8(view->name)) {
    verdicts.fail("", "the plugin name is missing, empty or not UTF-8");
  }
  if (!present(view->version) || !valid_utf8(view->version)) {
    verdicts.fail("", "the plugin version is missing, empty or not UTF-8");
  }
  if (view->model_count > kMaxModels) {
    verdicts.fail("", "model_count is " + std::to_string(view->model_count) + " (at most " +
                          std::to_string(kMaxModels) + ")");
  }
  if (view->model_count > 0 && !view->has_models_array) {
    verdicts.fail("", "model_count is " + std::to_string(view->model_count) +
                          " but the models array is NULL");
  }
  for (const std::size_t index : view->null_models) {
    verdicts.fail("", "models[" + std::to_string(index) + "] is NULL");
  }
  if (verdicts.failed()) return verdicts.result();
  return Result::passed();
}

Result model_sizes(Context& ctx) {
  const PluginView* view = plugin_view(ctx);
  if (view == nullptr) return no_view();
  Verdicts verdicts;
  for (const ModelView& model : view->models) {
    if (model.struct_size < view->expected_model_size()) {
      verdicts.fail(model.name(), "struct_size is " + std::to_string(model.struct_size) +
                                      ", smaller than ABI " + version_string(view->answered) +
                                      "'s " + std::to_string(view->expected_model_size()));
    } else {
      verdicts.pass();
    }
  }
  return verdicts.result();
}

Result ids(Context& ctx) {
  std::set<std::string> seen;
  return each_model(ctx, false, [&](const ModelView& model, const PluginView&) -> Problem {
    if (model.id == nullptr) return "its id is NULL";
    if (!valid_model_id(model.id)) {
      return "its id \"" + printable(model.id) +
             "\" is not 1-128 characters of letters, digits and ._:/@+-";
    }
    if (!seen.insert(model.id).second) return std::string("its id appears twice in this plugin");
    return std::nullopt;
  });
}

Result names(Context& ctx) {
  return each_model(ctx, false, [](const ModelView& model, const PluginView&) -> Problem {
    if (model.display_name != nullptr && !valid_utf8(model.display_name)) {
      return "its display_name is not valid UTF-8: \"" + printable(model.display_name) + "\"";
    }
    return std::nullopt;
  });
}

Result execute_present(Context& ctx) {
  return each_model(ctx, false, [](const ModelView& model, const PluginView&) -> Problem {
    if (!model.has_execute) return std::string("its execute function is NULL");
    return std::nullopt;
  });
}

Result options_schema(Context& ctx) {
  return each_model(ctx, false, [](const ModelView& model, const PluginView&) -> Problem {
    if (!present(model.options_schema_json)) return std::nullopt;  // no options
    const std::string_view text = model.options_schema_json;
    boost::system::error_code error;
    const boost::json::value parsed = boost::json::parse(text, error);
    if (error) return "its options schema is not valid JSON (" + error.message() + ")";
    if (!parsed.is_object()) return std::string("its options schema is not a JSON object");
    try {
      OptionsSchema::parse(text);
    } catch (const std::invalid_argument& invalid) {
      return std::string("the host cannot read its options schema: ") + invalid.what();
    }
    return std::nullopt;
  });
}

Result key_metadata(Context& ctx) {
  return each_model(ctx, true, [](const ModelView& model, const PluginView&) -> Problem {
    const bool accepts = (model.capabilities & LLMRT_CAP_ACCEPTS_KEY) != 0;
    if (accepts && model.key_name == nullptr) {
      return std::string("it accepts a key but its key_name is NULL");
    }
    if (accepts) {
      try {
        validate_key_name(model.key_name);  // the keys file's rule, which the host applies
      } catch (const Error& error) {
        return std::string("its key_name is not a valid keys-file entry name: ") + error.what();
      }
    }
    if (!accepts && model.key_name != nullptr) {
      return "it does not accept a key but sets key_name \"" + printable(model.key_name) +
             "\" (it must be NULL)";
    }
    if (present(model.key_env_var) && !valid_env_var_name(model.key_env_var)) {
      return "its key_env_var \"" + printable(model.key_env_var) +
             "\" is not an environment variable name ([A-Z0-9_]+)";
    }
    return std::nullopt;
  });
}

Result capabilities_agree(Context& ctx) {
  return each_model(ctx, true, [](const ModelView& model, const PluginView&) -> Problem {
    const bool accepts = (model.capabilities & LLMRT_CAP_ACCEPTS_KEY) != 0;
    if (accepts && !model.has_execute_with_key) {
      return std::string("it sets LLMRT_CAP_ACCEPTS_KEY but execute_with_key is NULL");
    }
    if (!accepts && model.has_execute_with_key) {
      return std::string("it has execute_with_key but does not set LLMRT_CAP_ACCEPTS_KEY");
    }
    return std::nullopt;
  });
}

Result requires_implies_accepts(Context& ctx) {
  return each_model(ctx, true, [](const ModelView& model, const PluginView&) -> Problem {
    if ((model.capabilities & LLMRT_CAP_REQUIRES_KEY) != 0 &&
        (model.capabilities & LLMRT_CAP_ACCEPTS_KEY) == 0) {
      return std::string("it sets LLMRT_CAP_REQUIRES_KEY without LLMRT_CAP_ACCEPTS_KEY");
    }
    return std::nullopt;
  });
}

Result no_unknown_bits(Context& ctx) {
  const PluginView* view = plugin_view(ctx);
  if (view != nullptr && LLMRT_ABI_MINOR(view->answered) > LLMRT_ABI_VERSION_MINOR) {
    return Result::skipped("the plugin answered ABI " + version_string(view->answered) +
                           ", which may define capability bits this tool does not know");
  }
  return each_model(ctx, true, [](const ModelView& model, const PluginView& plugin) -> Problem {
    // LLMRT_CAP_CONVERSATION came in 2.2: an older answer cannot mean it.
    const std::uint64_t known =
        kKnownCapabilities |
        (plugin.answered >= LLMRT_ABI_MAKE_VERSION(2, 2) ? LLMRT_CAP_CONVERSATION : 0);
    const std::uint64_t unknown = model.capabilities & ~known;
    if (unknown != 0) {
      char hex[32];
      std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(unknown));
      return "it sets capability bits that ABI " + version_string(plugin.answered) +
             " does not define: " + hex;
    }
    return std::nullopt;
  });
}

Result unknown_extension(Context& ctx) {
  const PluginView* view = plugin_view(ctx);
  if (view == nullptr) return no_view();
  if (view->get_extension == nullptr) {
    return Result::skipped("the plugin has no get_extension (which is allowed)");
  }
  for (const char* id : {"llmrt.conformance.no-such-extension/1", ""}) {
    note_activity("calling get_extension(\"" + std::string(id) + "\")");
    const void* extension = view->get_extension(id);
    note_activity({});
    if (extension != nullptr) {
      return Result::failed("get_extension(\"" + std::string(id) +
                            "\") returned non-NULL for an id it cannot know");
    }
  }
  return Result::passed();
}

Result host_accepts(Context& ctx) {
  try {
    note_activity("loading the plugin with llmrt::load_plugin");
    LoadedPlugin loaded = load_plugin(ctx.options().plugin, ctx.host_identity());
    note_activity("unloading the plugin");
    loaded = {};
    note_activity({});
  } catch (const PluginLoadError& error) {
    return Result::failed("llmrt refuses it (" + std::string(to_string(error.kind())) +
                          "): " + error.what());
  }
  return Result::passed();
}

}  // namespace

std::vector<Check> descriptor_checks() {
  const std::vector<std::string> after_negotiation = {"negotiate.current"};
  return {
      {"descriptor.plugin",
       "the plugin struct is complete: struct_size, name, version, a models array without NULLs",
       "fill every field of llmrt_plugin: struct_size = sizeof(llmrt_plugin), non-empty UTF-8 name "
       "and version, and a models array of model_count non-NULL pointers",
       after_negotiation, plugin_struct},
      {"descriptor.model_sizes", "every model struct is at least as large as its ABI version's",
       "set struct_size = sizeof(llmrt_model) from the header you build against; a v2 model must "
       "cover execute_with_key",
       after_negotiation, model_sizes},
      {"descriptor.ids",
       "model ids are present, valid for the host (1-128 of [A-Za-z0-9._:/@+-]) and unique",
       "give every model a short unique id made of letters, digits and ._:/@+- (eg: "
       "\"gpt-4o-mini\")",
       after_negotiation, ids},
      {"descriptor.names", "display names are absent or valid UTF-8",
       "make display_name NULL or a NUL-terminated UTF-8 string", after_negotiation, names},
      {"descriptor.execute_present", "every model has an execute function",
       "set execute on every model, even one that requires a key (it then answers "
       "LLMRT_BAD_REQUEST with a message)",
       after_negotiation, execute_present},
      {"descriptor.options_schema", "options schemas are absent or a JSON object the host can read",
       "make options_schema_json NULL or a JSON schema object such as "
       "{\"type\":\"object\",\"properties\":{\"temperature\":{\"type\":\"number\"}}}",
       after_negotiation, options_schema},
      {"descriptor.key_metadata",
       "models that accept a key have a valid key_name (others none); key_env_var is [A-Z0-9_]+",
       "set key_name (1-128 of A-Z a-z 0-9 . _ -, eg: \"openai\") exactly when "
       "LLMRT_CAP_ACCEPTS_KEY is set, and key_env_var to an upper-case environment variable name "
       "(eg: \"OPENAI_API_KEY\") or NULL",
       after_negotiation, key_metadata},
      {"capabilities.agree",
       "LLMRT_CAP_ACCEPTS_KEY is set exactly when execute_with_key is non-NULL",
       "let one fact decide both: with the SDK, the presence of the keyed execute sets the flag "
       "and "
       "the function together; in C, set both or neither",
       after_negotiation, capabilities_agree},
      {"capabilities.requires_implies_accepts",
       "LLMRT_CAP_REQUIRES_KEY comes with LLMRT_CAP_ACCEPTS_KEY",
       "a model that requires a key must be able to receive one: set LLMRT_CAP_ACCEPTS_KEY and "
       "execute_with_key too (SDK: requires_key = true with the keyed execute)",
       after_negotiation, requires_implies_accepts},
      {"capabilities.no_unknown_bits",
       "a plugin sets no capability bits beyond those its answered ABI defines",
       "set only LLMRT_CAP_* bits of the ABI version you answer; a bit added in 2.x needs an "
       "answer "
       "of 2.x",
       after_negotiation, no_unknown_bits},
      {"extension.unknown_is_null",
       "get_extension returns NULL for ids it does not know (and for \"\")",
       "return NULL from get_extension for every id you do not implement (or leave get_extension "
       "NULL)",
       after_negotiation, unknown_extension},
      {"load.host_accepts", "llmrt's own loader (llmrt::load_plugin) accepts the plugin",
       "the host's message says which rule failed (docs/abi.md, \"What the host checks at load "
       "time\"); the other FAILs above say the same in detail",
       after_negotiation, host_accepts},
  };
}

}  // namespace llmrt::conformance
