// The plugin cache as `llmrt` uses it (docs/cli.md#the-plugin-cache): where it lives, that warm
// runs list every plugin without loading any, and that `llmrt plugins --refresh` rebuilds it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <fstream>
#include <iterator>

#include "plugin_cache_file.hpp"
#include "run_cli.hpp"

namespace llmrt::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;

std::string read_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

class PluginCacheCli : public ::testing::Test {
 protected:
  fs::path default_cache() const { return cli_.home() / ".cache" / "llmrt" / "plugins-v2.json"; }

  // `llmrt plugins --json`, parsed.
  json::object plugins_json() {
    const CliResult result = cli_.run({"plugins", "--json"});
    EXPECT_EQ(result.exit_code, 0) << describe(result);
    return json::parse(result.out).as_object();
  }

  CliRunner cli_;
};

TEST_F(PluginCacheCli, TheCacheIsWrittenUnderHomeOrXdgCacheHomeForTheUserAlone) {
  const CliResult result = cli_.run({"models"});
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  struct stat status {};
  ASSERT_EQ(::stat(default_cache().c_str(), &status), 0) << "no " << default_cache();
  EXPECT_EQ(status.st_mode & 07777, 0600u);

  cli_.set_env("XDG_CACHE_HOME", (cli_.temp() / "xdg").string());
  ASSERT_EQ(cli_.run({"models"}).exit_code, 0);
  EXPECT_TRUE(fs::exists(cli_.temp() / "xdg" / "llmrt" / "plugins-v2.json"));
}

TEST_F(PluginCacheCli, AWarmRunListsEveryPluginAndLoadsNone) {
  const json::object cold = plugins_json();
  const json::object warm = plugins_json();
  ASSERT_EQ(cold.at("plugins").as_array().size(), warm.at("plugins").as_array().size());
  ASSERT_FALSE(warm.at("plugins").as_array().empty());
  // Files the cache did not know are loaded to see what they offer, and let go.
  EXPECT_EQ(cold.at("files_loaded"), cold.at("plugins").as_array().size());
  EXPECT_EQ(warm.at("files_loaded"), 0);
  for (const json::value& plugin : warm.at("plugins").as_array()) {
    EXPECT_EQ(plugin.at("loaded"), false) << json::serialize(plugin);
  }
  const CliResult prompt = cli_.run({"prompt", "-m", "echo", "--key", "k", "hello"});
  EXPECT_EQ(prompt.exit_code, 0) << describe(prompt);
  EXPECT_THAT(prompt.out, HasSubstr("hello"));
  EXPECT_THAT(prompt.out + prompt.err, Not(HasSubstr("--key k")));
}

TEST_F(PluginCacheCli, RefreshRebuildsTheCache) {
  ASSERT_EQ(cli_.run({"models"}).exit_code, 0);
  // A cache that says echo offers "forged-echo" (private and the user's own, so it is believed).
  PluginCacheFile cache = PluginCacheFile::read(default_cache());
  for (auto& entry : cache.plugins()) {
    json::object& stored = entry.value().as_object();
    if (!stored.contains("models")) continue;
    for (json::value& id : stored.at("models").as_array()) {
      if (id == "echo") id = "forged-echo";
    }
  }
  cache.write(default_cache());
  EXPECT_THAT(cli_.run({"models"}).out, HasSubstr("forged-echo"));

  const CliResult refresh = cli_.run({"plugins", "--refresh"});
  ASSERT_EQ(refresh.exit_code, 0) << describe(refresh);
  EXPECT_THAT(refresh.out, Not(HasSubstr("forged-echo")));
  const CliResult models = cli_.run({"models"});
  EXPECT_THAT(models.out, Not(HasSubstr("forged-echo")));
  EXPECT_THAT(models.out, HasSubstr("echo"));
  EXPECT_EQ(cli_.run({"prompt", "-m", "echo", "hi"}).out, "hi\n");
}

}  // namespace
}  // namespace llmrt::test
