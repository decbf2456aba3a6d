// Lazy loading and the plugin metadata cache (docs/embedding.md#eager-and-lazy-loading): models
// are listed from the cache without loading any plugin, a plugin is loaded when one of its models
// is first called, the cache counts only while a file is exactly as it was recorded, and a cache
// that cannot be trusted is rebuilt, never believed.
//
// The plugins are copies of tests/plugins/lazy_template.c, each patched to its own model id
// ("lazy-model-00042"); every copy has the same size.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <llmrt/llmrt.hpp>

#include <barrier>
#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "plugin_cache_file.hpp"
#include "test_support.hpp"

namespace llmrt {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using test::PluginCacheFile;

constexpr std::string_view kPlaceholder = "lazy-model-00000";

std::string model_id(int n) {
  char id[32];
  std::snprintf(id, sizeof id, "lazy-model-%05d", n);
  return id;
}

std::string read_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << bytes;
  ASSERT_TRUE(file.flush()) << path;
}

// The template plugin with its model id replaced by `id` (as long as the placeholder).
std::string plugin_bytes(std::string_view id) {
  std::string bytes = read_file(test::kTestPluginDir / "lazy_template.so");
  const std::size_t at = bytes.find(kPlaceholder);
  EXPECT_NE(at, std::string::npos) << "lazy_template.so has no placeholder id";
  EXPECT_EQ(bytes.find(kPlaceholder, at + 1), std::string::npos) << "placeholder twice";
  EXPECT_EQ(id.size(), kPlaceholder.size());
  if (at != std::string::npos) bytes.replace(at, kPlaceholder.size(), id);
  return bytes;
}

struct timespec mtime_of(const fs::path& path) {
  struct stat status {};
  EXPECT_EQ(::stat(path.c_str(), &status), 0) << path;
  return status.st_mtim;
}

struct stat stat_of(const fs::path& path) {
  struct stat status {};
  EXPECT_EQ(::stat(path.c_str(), &status), 0) << path;
  return status;
}

void set_mtime(const fs::path& path, struct timespec when) {
  const struct timespec times[2] = {when, when};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
}

std::vector<std::string> ids_of(const Runtime& runtime) {
  std::vector<std::string> ids;
  for (const ModelInfo& model : runtime.models()) ids.push_back(model.id);
  return ids;
}

bool lists(const Runtime& runtime, std::string_view id) {
  const std::vector<std::string> ids = ids_of(runtime);
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// The files under `dir` that this process has mapped (/proc/self/maps).
std::set<std::string> mapped_from(const fs::path& dir) {
  std::set<std::string> mapped;
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    const std::size_t at = line.find(dir.string());
    if (at != std::string::npos) mapped.insert(line.substr(at));
  }
  return mapped;
}

class LazyLoading : public ::testing::Test {
 protected:
  fs::path plugin_dir() const { return temp_.path() / "plugins"; }
  fs::path cache_file() const { return temp_.path() / "cache" / "llmrt" / "plugins-v2.json"; }
  fs::path plugin_file(int n) const { return plugin_dir() / ("lazy-" + model_id(n) + ".so"); }

  void SetUp() override { fs::create_directories(plugin_dir()); }

  // Copies of the template with model ids first..last.
  void add_plugins(int first, int last) const {
    const std::string bytes = plugin_bytes(kPlaceholder);
    const std::size_t at = bytes.find(kPlaceholder);
    for (int n = first; n <= last; ++n) {
      std::string copy = bytes;
      copy.replace(at, kPlaceholder.size(), model_id(n));
      write_file(plugin_file(n), copy);
    }
  }

  RuntimeConfig config(PluginLoading loading = PluginLoading::lazy) const {
    RuntimeConfig config = test::isolated_config(temp_.path() / "user", environment_);
    config.plugin_paths = {plugin_dir()};
    config.plugin_loading = loading;
    config.plugin_cache_file = cache_file();
    config.error_log = [](std::string_view line) { ADD_FAILURE() << "error log: " << line; };
    return config;
  }

  // A Runtime made and dropped: the cache is written, and nothing of it stays loaded.
  void warm_cache() const {
    const Runtime cold(config());
    ASSERT_TRUE(cold.load_errors().empty()) << cold.load_errors().front().message;
    ASSERT_TRUE(fs::exists(cache_file()));
  }

  test::TempDir temp_;
  test::FakeEnvironment environment_;
};

TEST_F(LazyLoading, EagerIsTheDefaultAndKeepsNoCache) {
  add_plugins(1, 3);
  EXPECT_EQ(RuntimeConfig{}.plugin_loading, PluginLoading::eager);
  const Runtime runtime(config(PluginLoading::eager));
  EXPECT_EQ(runtime.stats().plugins_loaded, 3u);
  for (const PluginInfo& plugin : runtime.plugins()) EXPECT_TRUE(plugin.loaded) << plugin.path;
  EXPECT_FALSE(fs::exists(cache_file()));
}

TEST_F(LazyLoading, AColdCacheLoadsEachFileOnceLetsItGoAndIsWrittenPrivately) {
  add_plugins(1, 3);
  const Runtime runtime(config());
  EXPECT_EQ(runtime.stats().plugins_loaded, 3u);
  // Inspected, recorded, and let go until called.
  for (const PluginInfo& plugin : runtime.plugins()) EXPECT_FALSE(plugin.loaded) << plugin.path;
  if (test::test_isolation_mode() == IsolationMode::in_process) {
    EXPECT_EQ(mapped_from(plugin_dir()), std::set<std::string>{});
  }
  EXPECT_EQ(runtime.get_model(model_id(3)).prompt("x").text, model_id(3) + ": x");
  EXPECT_EQ(runtime.stats().plugins_loaded, 4u);
  const struct stat status = stat_of(cache_file());
  EXPECT_EQ(status.st_mode & 07777, 0600u);
  EXPECT_EQ(status.st_uid, ::geteuid());
  EXPECT_EQ(stat_of(cache_file().parent_path()).st_mode & 07777, 0700u);
  // Written under a temporary name and renamed: nothing else is left in its directory.
  EXPECT_EQ(
      std::distance(fs::directory_iterator(cache_file().parent_path()), fs::directory_iterator()),
      1);
}

TEST_F(LazyLoading, AWarmCacheListsModelsWithoutLoadingAndTheFirstCallLoadsOnePlugin) {
  add_plugins(1, 3);
  warm_cache();
  const Runtime runtime(config());
  EXPECT_EQ(runtime.stats().plugins_loaded, 0u);
  EXPECT_EQ(ids_of(runtime), (std::vector<std::string>{model_id(1), model_id(2), model_id(3)}));
  for (const PluginInfo& plugin : runtime.plugins()) EXPECT_FALSE(plugin.loaded) << plugin.path;
  const ModelInfo& info = runtime.get_model(model_id(2)).info();
  EXPECT_TRUE(info.reentrant);
  EXPECT_EQ(info.plugin_path, plugin_file(2).string());
  EXPECT_EQ(runtime.stats().plugins_loaded, 0u) << "get_model must not load";

  EXPECT_EQ(runtime.get_model(model_id(2)).prompt("hi").text, model_id(2) + ": hi");
  EXPECT_EQ(runtime.stats().plugins_loaded, 1u);
  EXPECT_EQ(runtime.get_model(model_id(2)).prompt("again").text, model_id(2) + ": again");
  EXPECT_EQ(runtime.stats().plugins_loaded, 1u);
  for (const PluginInfo& plugin : runtime.plugins()) {
    EXPECT_EQ(plugin.loaded, plugin.model_ids == std::vector<std::string>{model_id(2)})
        << plugin.path;
  }
}

TEST_F(LazyLoading, OptionsAreCheckedFromTheCacheWithoutLoading) {
  add_plugins(1, 1);
  warm_cache();
  const Runtime runtime(config());
  try {
    (void)runtime.create_model(model_id(1), {.options = {{"level", "high"}}});
    ADD_FAILURE() << "an ill-typed option was accepted";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::bad_request) << error.what();
  }
  const Model tenant = runtime.create_model(model_id(1), {.options = {{"level", "3"}}});
  EXPECT_EQ(runtime.stats().plugins_loaded, 0u);
  EXPECT_EQ(tenant.prompt("x").text, model_id(1) + ": x");
  EXPECT_EQ(runtime.stats().plugins_loaded, 1u);
}

TEST_F(LazyLoading, ADirectoryOfManyPluginsLoadsOnlyTheOneCalled) {
  // 1000 files in process; in worker processes each cold inspection starts a worker, so fewer.
  const int count = test::test_isolation_mode() == IsolationMode::process ? 100 : 1000;
  const int called = count == 1000 ? 777 : 77;
  add_plugins(1, count);
  warm_cache();
  const Runtime runtime(config());
  EXPECT_EQ(runtime.models().size(), static_cast<std::size_t>(count));
  EXPECT_EQ(runtime.stats().plugins_loaded, 0u);
  EXPECT_EQ(runtime.get_model(model_id(called)).prompt("hello").text, model_id(called) + ": hello");
  EXPECT_EQ(runtime.stats().plugins_loaded, 1u);
  std::size_t loaded = 0;
  for (const PluginInfo& plugin : runtime.plugins()) loaded += plugin.loaded ? 1 : 0;
  EXPECT_EQ(loaded, 1u);
  if (test::test_isolation_mode() == IsolationMode::in_process) {
    // And what the process has mapped agrees: one file of the directory.
    EXPECT_EQ(mapped_from(plugin_dir()), (std::set<std::string>{plugin_file(called).string()}));
  }
}

TEST_F(LazyLoading, TwoThreadsCallingAColdModelLoadItOnce) {
  add_plugins(1, 2);
  warm_cache();
  const Runtime runtime(config());
  const Model model = runtime.get_model(model_id(1));
  std::barrier start(2);
  std::string answers[2];
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      answers[i] = model.prompt("t" + std::to_string(i)).text;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(answers[0], model_id(1) + ": t0");
  EXPECT_EQ(answers[1], model_id(1) + ": t1");
  EXPECT_EQ(runtime.stats().plugins_loaded, 1u);
}

TEST_F(LazyLoading, AsyncCallsOfAColdModelLoadItOnce) {
  add_plugins(1, 1);
  warm_cache();
  const Runtime runtime(config());
  const Model model = runtime.get_model(model_id(1));
  std::vector<AsyncResponse> calls;
  for (int i = 0; i < 8; ++i) calls.push_back(model.prompt_async("a" + std::to_string(i)));
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(calls[i].get().text, model_id(1) + ": a" + std::to_string(i));
  EXPECT_EQ(runtime.stats().plugins_loaded, 1u);
}

// ---- When the cache counts
// ------------------------------------------------------------------------

TEST_F(LazyLoading, ATouchedFileIsInspectedAgain) {
  add_plugins(1, 2);
  warm_cache();
  struct timespec later = mtime_of(plugin_file(1));
  later.tv_sec += 10;
  set_mtime(plugin_file(1), later);
  {
    const Runtime runtime(config());
    EXPECT_EQ(runtime.stats().plugins_loaded, 1u) << "the touched file is loaded again";
    EXPECT_TRUE(lists(runtime, model_id(1)));
  }
  const Runtime again(config());
  EXPECT_EQ(again.stats().plugins_loaded, 0u) << "and recorded again";
}

TEST_F(LazyLoading, AFileReplacedByRenameShowsItsNewModels) {
  add_plugins(1, 2);
  warm_cache();
  write_file(plugin_dir() / "new.tmp", plugin_bytes(model_id(42)));
  fs::rename(plugin_dir() / "new.tmp", plugin_file(1));
  const Runtime runtime(config());
  EXPECT_TRUE(lists(runtime, model_id(42)));
  EXPECT_FALSE(lists(runtime, model_id(1)));
  EXPECT_EQ(runtime.get_model(model_id(42)).prompt("x").text, model_id(42) + ": x");
}

TEST_F(LazyLoading, ADeletedFileIsNoLongerListedNorKept) {
  add_plugins(1, 2);
  warm_cache();
  fs::remove(plugin_file(1));
  {
    const Runtime runtime(config());
    EXPECT_FALSE(lists(runtime, model_id(1)));
    EXPECT_TRUE(lists(runtime, model_id(2)));
    EXPECT_TRUE(runtime.load_errors().empty());
  }
  // The next save drops the entries of files that are gone.
  add_plugins(3, 3);
  { const Runtime runtime(config()); }
  const std::string cache = read_file(cache_file());
  EXPECT_EQ(cache.find(plugin_file(1).filename().string()), std::string::npos) << cache;
  EXPECT_NE(cache.find(plugin_file(3).filename().string()), std::string::npos) << cache;
}

// A plugin directory is read entry by entry: directories (and links to them) named like plugins
// are skipped, and a link to a plugin that is listed already adds nothing.
// The cache of the previous format (plugins-v1.json, 0.6 MB with 1000 plugins) is removed when the
// new one is written under the default name, and nothing else in the directory is touched.
TEST_F(LazyLoading, TheCacheOfThePreviousFormatIsRemoved) {
  add_plugins(1, 1);
  const fs::path dir = temp_.path() / "xdg" / "llmrt";
  fs::create_directories(dir);
  ::chmod(dir.c_str(), 0700);
  write_file(dir / "plugins-v1.json", "{\"format\":\"llmrt-plugin-cache\",\"version\":1}");
  write_file(dir / "notes.txt", "kept");
  environment_.set("XDG_CACHE_HOME", (temp_.path() / "xdg").string());
  RuntimeConfig xdg = config();
  xdg.plugin_cache_file.reset();
  { const Runtime runtime(std::move(xdg)); }
  EXPECT_TRUE(fs::exists(dir / "plugins-v2.json"));
  EXPECT_FALSE(fs::exists(dir / "plugins-v1.json"));
  EXPECT_TRUE(fs::exists(dir / "notes.txt"));
}

TEST_F(LazyLoading, DirectoriesAndLinksInAPluginDirectory) {
  add_plugins(1, 2);
  fs::create_directory(plugin_dir() / "a-directory.so");
  fs::create_directory_symlink(plugin_dir() / "a-directory.so", plugin_dir() / "a-dir-link.so");
  fs::create_symlink(plugin_file(1), plugin_dir() / "zz-link-to-1.so");
  const std::vector<std::string> expected{model_id(1), model_id(2)};
  for (const PluginLoading loading : {PluginLoading::eager, PluginLoading::lazy}) {
    const Runtime runtime(config(loading));
    EXPECT_EQ(ids_of(runtime), expected);
    EXPECT_TRUE(runtime.load_errors().empty()) << runtime.load_errors().front().message;
    EXPECT_EQ(runtime.plugins().size(), 2u);
  }
  const Runtime warm(config());
  EXPECT_EQ(ids_of(warm), expected);
  EXPECT_EQ(warm.stats().plugins_loaded, 0u);
  EXPECT_EQ(warm.get_model(model_id(1)).prompt("x").text, model_id(1) + ": x");
}

TEST_F(LazyLoading, ANewFileWithTheSameSizeAndMtimeIsInspectedAgain) {
  add_plugins(1, 1);
  warm_cache();
  const struct stat before = stat_of(plugin_file(1));
  write_file(plugin_dir() / "new.tmp", plugin_bytes(model_id(2)));
  fs::rename(plugin_dir() / "new.tmp", plugin_file(1));
  set_mtime(plugin_file(1), before.st_mtim);
  const struct stat after = stat_of(plugin_file(1));
  ASSERT_EQ(after.st_size, before.st_size);
  ASSERT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  ASSERT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  ASSERT_NE(after.st_ino, before.st_ino);

  const Runtime runtime(config());
  EXPECT_EQ(ids_of(runtime), std::vector<std::string>{model_id(2)});
  EXPECT_EQ(runtime.stats().plugins_loaded, 1u);
}

// ---- Caches that are not believed
// -----------------------------------------------------------------

class UntrustedCache : public LazyLoading {
 protected:
  // The warm cache, with the entry of plugin 1 claiming the model "forged-model-001" instead.
  void forge_cache() const {
    PluginCacheFile cache = PluginCacheFile::read(cache_file());
    bool forged = false;
    for (auto& entry : cache.plugins()) {
      json::value& id = entry.value().as_object().at("models").as_array().at(0);
      if (id.as_string() == model_id(1)) {
        id = "forged-model-001";
        forged = true;
      }
    }
    ASSERT_TRUE(forged);
    cache.write(cache_file());
    ::chmod(cache_file().c_str(), 0600);
  }

  // A Runtime made with the cache as it is now must list the real models, having loaded plugin 1
  // again, and leave a cache behind that is used (and private) again.
  void expect_ignored_and_rebuilt() const {
    {
      const Runtime runtime(config());
      EXPECT_FALSE(lists(runtime, "forged-model-001"));
      EXPECT_TRUE(lists(runtime, model_id(1)));
      EXPECT_TRUE(lists(runtime, model_id(2)));
      EXPECT_GE(runtime.stats().plugins_loaded, 1u);
    }
    const struct stat status = stat_of(cache_file());
    EXPECT_EQ(status.st_uid, ::geteuid());
    EXPECT_EQ(status.st_mode & 07777, 0600u);
    const Runtime again(config());
    EXPECT_EQ(again.stats().plugins_loaded, 0u) << "the rebuilt cache is used";
    EXPECT_TRUE(lists(again, model_id(1)));
  }

  void SetUp() override {
    LazyLoading::SetUp();
    add_plugins(1, 2);
    warm_cache();
  }
};

TEST_F(UntrustedCache, AForgedButPrivateCacheIsBelievedWhichIsWhatTheOthersCheck) {
  // The control for the tests below: the cache is what decides what is listed.
  forge_cache();
  const Runtime runtime(config());
  EXPECT_TRUE(lists(runtime, "forged-model-001"));
  EXPECT_EQ(runtime.stats().plugins_loaded, 0u);
}

TEST_F(UntrustedCache, AGroupWritableCacheIsIgnoredAndRebuilt) {
  forge_cache();
  ASSERT_EQ(::chmod(cache_file().c_str(), 0620), 0);
  expect_ignored_and_rebuilt();
}

TEST_F(UntrustedCache, AWorldWritableCacheIsIgnoredAndRebuilt) {
  forge_cache();
  ASSERT_EQ(::chmod(cache_file().c_str(), 0602), 0);
  expect_ignored_and_rebuilt();
}

TEST_F(UntrustedCache, ACacheOwnedBySomeoneElseIsIgnoredAndRebuilt) {
  if (::geteuid() != 0) GTEST_SKIP() << "giving a file to another user needs root";
  forge_cache();
  ASSERT_EQ(::chown(cache_file().c_str(), 4242, 4242), 0);
  expect_ignored_and_rebuilt();
}

TEST_F(UntrustedCache, ACacheInADirectoryOthersMayWriteIsIgnored) {
  forge_cache();
  ASSERT_EQ(::chmod(cache_file().parent_path().c_str(), 0777), 0);
  std::vector<std::string> logged;
  RuntimeConfig logging = config();
  logging.error_log = [&](std::string_view line) { logged.emplace_back(line); };
  const Runtime runtime(std::move(logging));
  EXPECT_FALSE(lists(runtime, "forged-model-001"));
  EXPECT_TRUE(lists(runtime, model_id(1)));
  // Nor is it written there: the runtime says so, once, and keeps going.
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_NE(logged[0].find("the plugin cache was not saved"), std::string::npos) << logged[0];
  EXPECT_NE(read_file(cache_file()).find("forged-model-001"), std::string::npos);
}

TEST_F(UntrustedCache, ACorruptCacheIsIgnoredAndRebuilt) {
  std::string cache = read_file(cache_file());
  write_file(cache_file(), cache.substr(0, cache.size() / 2));
  expect_ignored_and_rebuilt();
}

TEST_F(UntrustedCache, ACacheOfAnotherFormatVersionIsIgnoredAndRebuilt) {
  forge_cache();
  PluginCacheFile cache = PluginCacheFile::read(cache_file());
  cache.index["version"] = cache.index.at("version").as_int64() + 1;
  cache.write(cache_file());
  expect_ignored_and_rebuilt();
}

TEST_F(UntrustedCache, ACacheOfAnotherUserDirectoryIsNotUsed) {
  forge_cache();
  RuntimeConfig other = config();
  other.user_dir = temp_.path() / "another-user";
  const Runtime runtime(std::move(other));
  EXPECT_FALSE(lists(runtime, "forged-model-001"));
  EXPECT_EQ(runtime.stats().plugins_loaded, 2u);
}

// Each model as a user sees it described, in listing order.
std::vector<std::string> descriptions_of(const Runtime& runtime) {
  std::vector<std::string> described;
  for (const ModelInfo& model : runtime.models()) {
    described.push_back(model.id + " | " + model.display_name + " | " + model.plugin_name + " | " +
                        model.plugin_path + " | " + model.key_env_var + " | " +
                        model.options_schema_json);
  }
  return described;
}

// Garbage in place of the description of plugin `n` (or of all of them: 0); the index still adds
// up, so the cache itself is believed.
void damage_descriptions(const fs::path& cache_file, const std::string& plugin_file_name) {
  PluginCacheFile cache = PluginCacheFile::read(cache_file);
  bool damaged = false;
  for (const auto& entry : cache.plugins()) {
    if (!plugin_file_name.empty() && !std::string(entry.key()).ends_with(plugin_file_name))
      continue;
    const json::array& at = entry.value().as_object().at("description").as_array();
    cache.descriptions.replace(at.at(0).to_number<std::size_t>(), at.at(1).to_number<std::size_t>(),
                               at.at(1).to_number<std::size_t>(), 'x');
    damaged = true;
  }
  ASSERT_TRUE(damaged);
  cache.write(cache_file);
}

TEST_F(UntrustedCache, ListingNeedsTheIndexAloneAndADamagedDescriptionIsReadFromThePlugin) {
  const std::vector<std::string> expected = descriptions_of(Runtime(config(PluginLoading::eager)));
  damage_descriptions(cache_file(), "");
  {
    const Runtime runtime(config());
    EXPECT_EQ(runtime.stats().plugins_loaded, 0u) << "starting needs the index alone";
    EXPECT_EQ(descriptions_of(runtime), expected);
    EXPECT_EQ(runtime.stats().plugins_loaded, 2u) << "each described by loading it";
  }
  // And recorded again: the next Runtime reads both descriptions from the cache.
  const Runtime again(config());
  EXPECT_EQ(descriptions_of(again), expected);
  EXPECT_EQ(again.stats().plugins_loaded, 0u);
}

TEST_F(UntrustedCache, PromptingAModelReadsTheDescriptionOfItsOwnPluginAlone) {
  damage_descriptions(cache_file(), plugin_file(2).filename().string());
  const Runtime runtime(config());
  EXPECT_EQ(runtime.get_model(model_id(1)).prompt("hi").text, model_id(1) + ": hi");
  EXPECT_EQ(runtime.stats().plugins_loaded, 1u) << "plugin 2's description was read";
}

TEST_F(UntrustedCache, RefreshInspectsEveryFileAgain) {
  forge_cache();
  RuntimeConfig refresh = config();
  refresh.refresh_plugin_cache = true;
  {
    const Runtime runtime(std::move(refresh));
    EXPECT_FALSE(lists(runtime, "forged-model-001"));
    EXPECT_EQ(runtime.stats().plugins_loaded, 2u);
  }
  const Runtime again(config());
  EXPECT_TRUE(lists(again, model_id(1)));
  EXPECT_EQ(again.stats().plugins_loaded, 0u);
}

// ---- Plugins that fail ------------------------------------------------------------------------

TEST_F(LazyLoading, ARefusedPluginIsReportedFromTheCacheWithoutLoadingItAgain) {
  add_plugins(1, 1);
  fs::copy_file(test::kTestPluginDir / "bad_version.so", plugin_dir() / "bad_version.so");
  const Runtime eager(config(PluginLoading::eager));
  ASSERT_EQ(eager.load_errors().size(), 1u);
  const LoadError expected = eager.load_errors().front();
  { const Runtime cold(config()); }
  {
    const Runtime warm(config());
    ASSERT_EQ(warm.load_errors().size(), 1u);
    EXPECT_EQ(warm.load_errors().front().kind, expected.kind);
    EXPECT_EQ(warm.load_errors().front().message, expected.message);
    EXPECT_EQ(warm.stats().plugins_loaded, 0u) << "a refused file is not loaded each time";
  }
  // Until it changes: then it is inspected again.
  struct timespec later = mtime_of(plugin_dir() / "bad_version.so");
  later.tv_sec += 10;
  set_mtime(plugin_dir() / "bad_version.so", later);
  const Runtime touched(config());
  EXPECT_EQ(touched.stats().plugins_loaded, 1u);
  ASSERT_EQ(touched.load_errors().size(), 1u);
  EXPECT_EQ(touched.load_errors().front().kind, expected.kind);
}

TEST_F(LazyLoading, APluginThatFailsOnFirstUseFailsThatCallAsAnEagerRuntimeReportsIt) {
  add_plugins(1, 2);
  warm_cache();
  // Broken in place, keeping inode, size and mtime: the cache still lists the old model, and only
  // loading it shows that it is now refused (its model id has a space in it).
  const struct timespec mtime = mtime_of(plugin_file(1));
  std::string bytes = read_file(plugin_file(1));
  const std::size_t at = bytes.find(model_id(1));
  ASSERT_NE(at, std::string::npos);
  bytes[at + 4] = ' ';
  {
    const int fd = ::open(plugin_file(1).c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
    ::close(fd);
  }
  set_mtime(plugin_file(1), mtime);

  LoadError expected;
  {
    const Runtime eager(config(PluginLoading::eager));
    ASSERT_EQ(eager.load_errors().size(), 1u);
    expected = eager.load_errors().front();
  }
  EXPECT_EQ(expected.kind, LoadErrorKind::invalid_descriptor) << expected.message;

  {
    const Runtime runtime(config());
    ASSERT_TRUE(lists(runtime, model_id(1))) << "listed from the cache";
    EXPECT_TRUE(runtime.load_errors().empty());
    const Model model = runtime.get_model(model_id(1));
    for (int attempt = 0; attempt < 2; ++attempt) {
      try {
        (void)model.prompt("x");
        ADD_FAILURE() << "a plugin that cannot load answered";
      } catch (const Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::plugin_load);
        EXPECT_EQ(std::string(error.what()), expected.message);
      }
    }
    EXPECT_EQ(runtime.stats().plugins_loaded, 1u) << "tried once, not on every call";
    ASSERT_EQ(runtime.load_errors().size(), 1u);
    EXPECT_EQ(runtime.load_errors().front().kind, expected.kind);
    EXPECT_EQ(runtime.load_errors().front().message, expected.message);
    // The other plugins are not affected.
    EXPECT_EQ(runtime.get_model(model_id(2)).prompt("y").text, model_id(2) + ": y");
  }
  // And the next Runtime reports it at start, as an eager one does, without loading it.
  const Runtime next(config());
  EXPECT_FALSE(lists(next, model_id(1)));
  ASSERT_EQ(next.load_errors().size(), 1u);
  EXPECT_EQ(next.load_errors().front().kind, expected.kind);
  EXPECT_EQ(next.load_errors().front().message, expected.message);
  EXPECT_EQ(next.stats().plugins_loaded, 0u);
}

TEST_F(LazyLoading, AModelThePluginNoLongerOffersFailsAloneAndTheCacheLearnsWhatItOffersNow) {
  add_plugins(1, 2);
  warm_cache();
  // Same inode, size and mtime, but the plugin now offers lazy-model-00009: what a plugin whose
  // models come from a configuration file looks like to the cache.
  const struct timespec mtime = mtime_of(plugin_file(1));
  const std::string bytes = plugin_bytes(model_id(9));
  {
    const int fd = ::open(plugin_file(1).c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
    ::close(fd);
  }
  set_mtime(plugin_file(1), mtime);
  {
    const Runtime runtime(config());
    ASSERT_TRUE(lists(runtime, model_id(1)));
    try {
      (void)runtime.get_model(model_id(1)).prompt("x");
      ADD_FAILURE() << "a model the plugin no longer offers answered";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ErrorCode::model_not_found);
      EXPECT_NE(std::string(error.what()).find("no longer offers it"), std::string::npos)
          << error.what();
    }
    EXPECT_TRUE(runtime.load_errors().empty()) << "the plugin itself loads";
  }
  const Runtime next(config());
  EXPECT_EQ(ids_of(next), (std::vector<std::string>{model_id(9), model_id(2)}));
  EXPECT_EQ(next.stats().plugins_loaded, 0u);
  EXPECT_EQ(next.get_model(model_id(9)).prompt("y").text, model_id(9) + ": y");
}

TEST_F(LazyLoading, NoCacheFileMeansEveryPluginIsLoadedAtStart) {
  add_plugins(1, 2);
  RuntimeConfig without = config();
  without.plugin_cache_file = fs::path();
  const Runtime runtime(std::move(without));
  EXPECT_EQ(runtime.stats().plugins_loaded, 2u);
  EXPECT_FALSE(fs::exists(cache_file()));
}

TEST_F(LazyLoading, TheDefaultCacheIsUnderXdgCacheHomeElseHome) {
  add_plugins(1, 1);
  RuntimeConfig xdg = config();
  xdg.plugin_cache_file.reset();
  environment_.set("XDG_CACHE_HOME", (temp_.path() / "xdg").string());
  environment_.set("HOME", (temp_.path() / "home").string());
  { const Runtime runtime(xdg); }
  EXPECT_TRUE(fs::exists(temp_.path() / "xdg" / "llmrt" / "plugins-v2.json"));
  environment_.unset("XDG_CACHE_HOME");
  { const Runtime runtime(xdg); }
  EXPECT_TRUE(fs::exists(temp_.path() / "home" / ".cache" / "llmrt" / "plugins-v2.json"));
}

}  // namespace
}  // namespace llmrt

namespace llmrt {
namespace {

// What lazy_maps_probe (a host doing what `llmrt prompt -m echo --key k hello` does) printed: its
// answer, then the shared objects its process had mapped.
std::string run_probe(const std::string& mode, const test::TempDir& temp) {
  const std::string command = std::string(LLMRT_MAPS_PROBE_PATH) + " " + mode + " " +
                              (temp.path() / "cache" / "plugins-v2.json").string() + " " +
                              (temp.path() / "user").string() + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return "popen failed";
  std::string output;
  char buffer[4096];
  for (std::size_t got; (got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) {
    output.append(buffer, got);
  }
  const int status = ::pclose(pipe);
  EXPECT_EQ(status, 0) << output;
  return output;
}

bool maps(const std::string& output, std::string_view part) {
  const std::size_t maps_start = output.find("--maps--");
  return maps_start != std::string::npos && output.find(part, maps_start) != std::string::npos;
}

TEST(LazyLoadingMaps, AnEchoPromptDoesNotMapTheProviderPluginsNorTls) {
  if (!fs::exists(test::kBundledPluginDir / "openai.so")) {
    GTEST_SKIP() << "the openai plugin is not built (LLMRT_BUILD_OPENAI off?)";
  }
  test::TempDir temp;
  // The probe sees what is mapped: an eager host maps every bundled plugin, and TLS with openai.
  const std::string eager = run_probe("eager", temp);
  ASSERT_TRUE(maps(eager, "/echo.so")) << eager;
  ASSERT_TRUE(maps(eager, "/openai.so")) << eager;
  ASSERT_TRUE(maps(eager, "libssl")) << eager;

  (void)run_probe("lazy", temp);  // the first run writes the cache
  const std::string lazy = run_probe("lazy", temp);
  EXPECT_EQ(lazy.rfind("hello", 0), 0u) << lazy;
  EXPECT_TRUE(maps(lazy, "/echo.so")) << lazy;
  EXPECT_FALSE(maps(lazy, "/openai.so")) << lazy;
  EXPECT_FALSE(maps(lazy, "/anthropic.so")) << lazy;
  EXPECT_FALSE(maps(lazy, "libssl")) << lazy;
  EXPECT_FALSE(maps(lazy, "libcpp-httplib")) << lazy;
}

}  // namespace
}  // namespace llmrt
