// The keys file (keys.json): how llmrt::KeysFile stores keys, the files it refuses to trust, and
// what a Runtime does when its configured keys file is broken. Every refusal is Error(keys_file)
// naming the file, leaves the file exactly as it was, and never quotes a stored key.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <llmrt/llmrt.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace llmrt {
namespace {

namespace fs = std::filesystem;

// A key that must never appear in any error message.
constexpr std::string_view kSecret = "sk-STORED-SECRET-0123456789";

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

mode_t mode_of(const fs::path& path) {
  struct stat status {};
  EXPECT_EQ(::lstat(path.c_str(), &status), 0) << path;
  return status.st_mode & 07777;
}

ino_t inode_of(const fs::path& path) {
  struct stat status {};
  EXPECT_EQ(::lstat(path.c_str(), &status), 0) << path;
  return status.st_ino;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  EXPECT_TRUE(file) << "cannot read " << path;
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

// Writes `contents` to `path` exactly, with exactly `mode`.
void write_file(const fs::path& path, std::string_view contents, mode_t mode = 0600) {
  {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    ASSERT_TRUE(file) << "cannot write " << path;
    file.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  }
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

std::vector<std::string> directory_entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Runs `action` and returns the llmrt::Error it throws; fails the test when it throws nothing.
Error error_from(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    return error;
  }
  ADD_FAILURE() << "expected an llmrt::Error";
  return Error(ErrorCode::usage, "");
}

// Checks that every KeysFile operation refuses the file at `path` with Error(keys_file), with a
// message naming the file and containing each of `expected`, and that the file (and its mode) stays
// byte-for-byte as it was.
void expect_every_operation_refused(const fs::path& path,
                                    const std::vector<std::string>& expected) {
  const std::string before = read_bytes(path);
  const mode_t mode_before = mode_of(path);
  const KeysFile keys(path);
  const std::vector<std::pair<std::string, std::function<void()>>> operations = {
      {"get", [&] { (void)keys.get("echo"); }},
      {"get of a missing name", [&] { (void)keys.get("absent"); }},
      {"names", [&] { (void)keys.names(); }},
      {"set", [&] { keys.set("echo", Key("sk-new-value")); }},
      {"set of a new name", [&] { keys.set("other", Key("sk-new-value")); }},
      {"remove", [&] { (void)keys.remove("echo"); }},
  };
  for (const auto& [name, operation] : operations) {
    SCOPED_TRACE(name);
    const Error error = error_from(operation);
    EXPECT_EQ(error.code(), ErrorCode::keys_file) << error.what();
    const std::string message = error.what();
    EXPECT_TRUE(contains(message, path.string())) << message;
    for (const std::string& part : expected) EXPECT_TRUE(contains(message, part)) << message;
    EXPECT_FALSE(contains(message, kSecret)) << message;
    EXPECT_FALSE(contains(message, "sk-new-value")) << message;
    EXPECT_EQ(read_bytes(path), before) << "the refused file was changed";
    EXPECT_EQ(mode_of(path), mode_before) << "the refused file's mode was changed";
  }
}

std::string valid_keys_json() {
  return "{\n  \"echo\": \"" + std::string(kSecret) + "\",\n  \"openai\": \"sk-other\"\n}\n";
}

class KeysFileTest : public ::testing::Test {
 protected:
  test::TempDir temp_;
  fs::path path_ = temp_.path() / "keys.json";
};

// ---- Storing keys ------------------------------------------------------------------------------

using KeysFileStorage = KeysFileTest;

TEST_F(KeysFileStorage, SetCreatesTheFile0600InADirectoryCreated0700) {
  const fs::path dir = temp_.path() / "config" / "llmrt";
  const fs::path path = dir / "keys.json";
  const mode_t old_umask = ::umask(0);  // even with a permissive umask
  KeysFile(path).set("echo", Key("sk-first"));
  ::umask(old_umask);
  ASSERT_TRUE(fs::is_regular_file(path));
  EXPECT_EQ(mode_of(path), 0600);
  EXPECT_EQ(mode_of(dir), 0700);
}

TEST_F(KeysFileStorage, SetInAnExistingDirectoryCreatesTheFile0600) {
  KeysFile(path_).set("echo", Key("sk-first"));
  EXPECT_EQ(mode_of(path_), 0600);
}

TEST_F(KeysFileStorage, GetNamesAndRemoveRoundTrip) {
  const KeysFile keys(path_);
  EXPECT_FALSE(keys.get("echo").has_value()) << "no file yet";
  EXPECT_TRUE(keys.names().empty());
  EXPECT_FALSE(keys.remove("echo"));
  EXPECT_FALSE(fs::exists(path_)) << "reading or removing must not create the file";

  keys.set("openai", Key("sk-openai-1"));
  keys.set("echo", Key("sk-echo-1"));
  keys.set("anthropic", Key("sk-ant-1"));

  EXPECT_EQ(keys.names(), (std::vector<std::string>{"anthropic", "echo", "openai"}));
  ASSERT_TRUE(keys.get("echo").has_value());
  EXPECT_EQ(keys.get("echo")->reveal(), "sk-echo-1");
  EXPECT_EQ(keys.get("openai")->reveal(), "sk-openai-1");
  EXPECT_FALSE(keys.get("missing").has_value());

  keys.set("echo", Key("sk-echo-2"));  // replaces
  EXPECT_EQ(keys.get("echo")->reveal(), "sk-echo-2");
  EXPECT_EQ(keys.names().size(), 3u);

  EXPECT_TRUE(keys.remove("echo"));
  EXPECT_FALSE(keys.remove("echo"));
  EXPECT_FALSE(keys.get("echo").has_value());
  EXPECT_EQ(keys.names(), (std::vector<std::string>{"anthropic", "openai"}));
  EXPECT_EQ(keys.get("openai")->reveal(), "sk-openai-1");
  EXPECT_EQ(mode_of(path_), 0600);
}

TEST_F(KeysFileStorage, ANewFileIsAJsonObjectAnotherKeysFileReads) {
  KeysFile(path_).set("echo", Key("sk-\"quoted\"\\slash"));
  const std::string text = read_bytes(path_);
  EXPECT_TRUE(text.starts_with("{")) << text;
  EXPECT_EQ(KeysFile(path_).get("echo")->reveal(), "sk-\"quoted\"\\slash");
  EXPECT_EQ(KeysFile(path_).names(), std::vector<std::string>{"echo"});
}

TEST_F(KeysFileStorage, KeysInAHandWrittenFileAreRead) {
  write_file(path_, valid_keys_json());
  const KeysFile keys(path_);
  EXPECT_EQ(keys.get("echo")->reveal(), kSecret);
  EXPECT_EQ(keys.names(), (std::vector<std::string>{"echo", "openai"}));
}

TEST_F(KeysFileStorage, SetReplacesTheFileAtomicallyLeavingNoTempFiles) {
  const KeysFile keys(path_);
  keys.set("echo", Key("sk-1"));
  const std::string old_contents = read_bytes(path_);
  // A reader that opened the old file keeps seeing all of it: the file is replaced by renaming a
  // new one over it, never rewritten in place. (Holding it open also keeps its inode in use.)
  std::ifstream old_reader(path_, std::ios::binary);
  ASSERT_TRUE(old_reader);
  const ino_t old_inode = inode_of(path_);

  keys.set("echo", Key("sk-2"));
  EXPECT_NE(inode_of(path_), old_inode);
  EXPECT_EQ(
      std::string(std::istreambuf_iterator<char>(old_reader), std::istreambuf_iterator<char>()),
      old_contents);

  for (int i = 0; i < 20; ++i) keys.set("key" + std::to_string(i), Key("sk-" + std::to_string(i)));
  EXPECT_TRUE(keys.remove("key3"));
  // The lock file stays: removing it would let two writers lock two different files.
  EXPECT_EQ(directory_entries(temp_.path()),
            (std::vector<std::string>{"keys.json", "keys.json.lock"}));
  EXPECT_EQ(mode_of(path_), 0600);
  EXPECT_EQ(keys.names().size(), 20u);
  EXPECT_EQ(keys.get("echo")->reveal(), "sk-2");
}

TEST_F(KeysFileStorage, SetKeepsEveryOtherEntryOfAHandWrittenFile) {
  write_file(path_, valid_keys_json());
  KeysFile(path_).set("new", Key("sk-new"));
  EXPECT_EQ(KeysFile(path_).get("echo")->reveal(), kSecret);
  EXPECT_EQ(KeysFile(path_).get("openai")->reveal(), "sk-other");
  EXPECT_EQ(KeysFile(path_).get("new")->reveal(), "sk-new");
  EXPECT_EQ(mode_of(path_), 0600);
}

// ---- Validation before writing -----------------------------------------------------------------

using KeysFileValidation = KeysFileTest;

TEST_F(KeysFileValidation, SetRejectsInvalidKeyNamesWithUsage) {
  const KeysFile keys(path_);
  std::string too_long(129, 'n');
  for (const std::string& name :
       {std::string(""), std::string("a b"), std::string("../x"), std::string("a/b"),
        std::string("tab\tname"), std::string("name\n"), std::string("caf\xc3\xa9"), too_long}) {
    SCOPED_TRACE(name);
    const Error error = error_from([&] { keys.set(name, Key("sk-valid-key")); });
    EXPECT_EQ(error.code(), ErrorCode::usage) << error.what();
    EXPECT_FALSE(contains(error.what(), "sk-valid-key")) << error.what();
  }
  EXPECT_FALSE(fs::exists(path_)) << "nothing is written for a refused name";
  EXPECT_NO_THROW(keys.set(std::string(128, 'n'), Key("sk-valid-key")));
  EXPECT_NO_THROW(keys.set("A-z_0.9", Key("sk-valid-key")));
}

TEST_F(KeysFileValidation, RemoveRejectsInvalidKeyNamesWithUsage) {
  KeysFile(path_).set("echo", Key("sk-valid-key"));
  const std::string before = read_bytes(path_);
  for (std::string_view name : {"", "a b", "../x"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(error_from([&] { (void)KeysFile(path_).remove(name); }).code(), ErrorCode::usage);
  }
  EXPECT_EQ(read_bytes(path_), before);
}

TEST_F(KeysFileValidation, SetRejectsInvalidKeyValuesWithoutQuotingThem) {
  const KeysFile keys(path_);
  keys.set("echo", Key(kSecret));
  const std::string before = read_bytes(path_);
  std::string too_long = "sk-BADVALUE";
  too_long.resize(kMaxKeySize + 1, 'x');
  const std::vector<std::string> bad = {
      "",
      "sk-BADVALUE with space",
      "sk-BADVALUE\n",
      "sk-BADVALUE\r",
      "sk-BADVALUE\ttab",
      std::string("sk-BADVALUE\0nul", 15),
      "sk-BADVALUE\x7f",
      "sk-BADVALUE\xc3\xa9",
      too_long,
  };
  for (const std::string& value : bad) {
    SCOPED_TRACE(testing::PrintToString(value.substr(0, 30)));
    const Error error = error_from([&] { keys.set("echo", Key(std::string_view(value))); });
    EXPECT_EQ(error.code(), ErrorCode::key_invalid) << error.what();
    EXPECT_FALSE(contains(error.what(), "BADVALUE")) << error.what();
    EXPECT_FALSE(contains(error.what(), kSecret)) << error.what();
    EXPECT_EQ(read_bytes(path_), before) << "a refused key must not touch the file";
  }
  EXPECT_EQ(keys.get("echo")->reveal(), kSecret);
}

// ---- Files llmrt refuses to trust ------------------------------------------------------------

using KeysFileRefusal = KeysFileTest;

TEST_F(KeysFileRefusal, Mode0644IsRefusedAsTooOpenAndLeftUnchanged) {
  write_file(path_, valid_keys_json(), 0644);
  expect_every_operation_refused(path_, {"permissions 0644", "too open"});
  EXPECT_EQ(mode_of(path_), 0644) << "llmrt must not chmod the user's file";
}

TEST_F(KeysFileRefusal, AnyGroupOrOtherPermissionIsRefused) {
  for (mode_t mode : {0640, 0604, 0620, 0602, 0610, 0601, 0660, 0666}) {
    SCOPED_TRACE(mode);
    write_file(path_, valid_keys_json(), mode);
    char shown[8];
    std::snprintf(shown, sizeof shown, "%04o", static_cast<unsigned>(mode));
    expect_every_operation_refused(path_, {std::string("permissions ") + shown, "too open"});
  }
}

TEST_F(KeysFileRefusal, Mode0400IsAcceptedForReading) {
  write_file(path_, valid_keys_json(), 0400);
  EXPECT_EQ(KeysFile(path_).get("echo")->reveal(), kSecret);
}

TEST_F(KeysFileRefusal, SymbolicLinkIsRefusedEvenToAPrivateFile) {
  const fs::path target = temp_.path() / "real-keys.json";
  write_file(target, valid_keys_json(), 0600);
  fs::create_symlink(target, path_);
  const std::string target_before = read_bytes(target);
  expect_every_operation_refused(path_, {"symbolic link"});
  EXPECT_TRUE(fs::is_symlink(fs::symlink_status(path_))) << "the link must not be replaced";
  EXPECT_EQ(read_bytes(target), target_before);
  EXPECT_EQ(mode_of(target), 0600);
}

TEST_F(KeysFileRefusal, DanglingSymbolicLinkIsRefusedAndNotFollowedBySet) {
  const fs::path target = temp_.path() / "elsewhere.json";
  fs::create_symlink(target, path_);
  const Error error = error_from([&] { KeysFile(path_).set("echo", Key("sk-new-value")); });
  EXPECT_EQ(error.code(), ErrorCode::keys_file);
  EXPECT_TRUE(contains(error.what(), "symbolic link")) << error.what();
  EXPECT_FALSE(fs::exists(target)) << "set wrote through a symbolic link";
  EXPECT_TRUE(fs::is_symlink(fs::symlink_status(path_)));
}

TEST_F(KeysFileRefusal, ADirectoryIsRefused) {
  fs::create_directory(path_);
  const Error error = error_from([&] { (void)KeysFile(path_).get("echo"); });
  EXPECT_EQ(error.code(), ErrorCode::keys_file);
  EXPECT_TRUE(contains(error.what(), path_.string())) << error.what();
  EXPECT_TRUE(fs::is_directory(path_));
}

TEST_F(KeysFileRefusal, CorruptJsonIsRefusedByEveryOperationAndLeftByteForByte) {
  for (const std::string& corrupt : {
           std::string("{\"echo\": \"") + std::string(kSecret) + "\",",  // truncated
           std::string("{\"echo\": \"") + std::string(kSecret) + "\" \"x\"}",
           std::string("not json at all ") + std::string(kSecret),
           std::string(""),
           std::string("{\"echo\": \"") + std::string(kSecret) + "\"}\ntrailing",
       }) {
    SCOPED_TRACE(testing::PrintToString(corrupt));
    write_file(path_, corrupt, 0600);
    expect_every_operation_refused(path_, {"JSON"});
  }
}

TEST_F(KeysFileRefusal, NonStringValueIsRefusedNamingTheEntry) {
  write_file(path_,
             "{\"openai\": \"" + std::string(kSecret) + "\", \"echo\": 5, \"zzz\": \"sk-zzz\"}",
             0600);
  expect_every_operation_refused(path_, {"'echo'", "not a string"});
}

TEST_F(KeysFileRefusal, NestedObjectValueIsRefused) {
  write_file(path_, "{\"echo\": {\"key\": \"" + std::string(kSecret) + "\"}}", 0600);
  expect_every_operation_refused(path_, {"'echo'"});
}

TEST_F(KeysFileRefusal, ArrayTopLevelIsRefused) {
  write_file(path_, "[\"" + std::string(kSecret) + "\"]", 0600);
  expect_every_operation_refused(path_, {"JSON object"});
}

TEST_F(KeysFileRefusal, StringTopLevelIsRefused) {
  write_file(path_, "\"" + std::string(kSecret) + "\"", 0600);
  expect_every_operation_refused(path_, {"JSON object"});
}

// ---- Concurrent use ----------------------------------------------------------------------------

using KeysFileConcurrency = KeysFileTest;

TEST_F(KeysFileConcurrency, ReadersNeverSeeAPartialWrite) {
  const KeysFile keys(path_);
  keys.set("echo", Key("sk-version-0"));
  keys.set("stable", Key("sk-stable"));
  std::atomic<bool> stop{false};
  std::atomic<int> bad_reads{0};
  std::atomic<int> reads{0};
  std::mutex mutex;
  std::string first_problem;
  auto report = [&](const std::string& problem) {
    ++bad_reads;
    std::lock_guard lock(mutex);
    if (first_problem.empty()) first_problem = problem;
  };
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        try {
          const std::optional<Key> echo = keys.get("echo");
          const std::optional<Key> stable = keys.get("stable");
          if (!echo || !echo->reveal().starts_with("sk-version-")) report("echo entry lost");
          if (!stable || stable->reveal() != "sk-stable") report("stable entry lost");
          ++reads;
        } catch (const std::exception& error) {
          report(error.what());
        }
      }
    });
  }
  for (int i = 1; i <= 200; ++i) keys.set("echo", Key("sk-version-" + std::to_string(i)));
  while (reads.load() < 20) std::this_thread::yield();  // the readers have run
  stop = true;
  for (auto& reader : readers) reader.join();
  EXPECT_EQ(bad_reads.load(), 0) << first_problem;
  EXPECT_EQ(keys.get("echo")->reveal(), "sk-version-200");
  // The lock file stays: removing it would let two writers lock two different files.
  EXPECT_EQ(directory_entries(temp_.path()),
            (std::vector<std::string>{"keys.json", "keys.json.lock"}));
}

// ---- Through a Runtime: a broken configured source is an error, never a silent fall-through ----

class RuntimeKeysFile : public ::testing::Test {
 protected:
  test::TempDir temp_;
  test::FakeEnvironment environment_;
  fs::path path_ = temp_.path() / "keys.json";

  Runtime make_runtime() const {
    return Runtime(test::isolated_config(temp_.path(), environment_));
  }
};

TEST_F(RuntimeKeysFile, UsesTheKeysFileInTheConfiguredUserDirectory) {
  Runtime runtime = make_runtime();
  EXPECT_EQ(runtime.keys_file_path(), path_);
}

TEST_F(RuntimeKeysFile, StoredKeyReachesTheModel) {
  KeysFile(path_).set("echo", Key(kSecret));
  Runtime runtime = make_runtime();
  const Response response = runtime.get_model("echo").prompt("hello");
  EXPECT_EQ(response.key_source, KeySource::keys_file);
  EXPECT_EQ(response.key_fingerprint, Key(kSecret).fingerprint());
  EXPECT_EQ(response.text, "hello\nkey-sha256: " + sha256_prefix(kSecret));
}

TEST_F(RuntimeKeysFile, StoredKeyNamedPerCallReachesTheModel) {
  KeysFile(path_).set("tenant-7", Key("sk-tenant-7"));
  Runtime runtime = make_runtime();
  PromptOptions options;
  options.key_name = "tenant-7";
  const Response response = runtime.get_model("echo").prompt("hi", std::move(options));
  EXPECT_EQ(response.key_source, KeySource::stored_name);
  EXPECT_EQ(response.key_fingerprint, Key("sk-tenant-7").fingerprint());
}

TEST_F(RuntimeKeysFile, MissingFileMeansNoKeyForAModelThatDoesNotNeedOne) {
  Runtime runtime = make_runtime();
  const Response response = runtime.get_model("echo").prompt("hello");
  EXPECT_EQ(response.key_source, KeySource::none);
  EXPECT_EQ(response.text, "hello");
  EXPECT_FALSE(fs::exists(path_));
}

TEST_F(RuntimeKeysFile, CorruptFileFailsThePromptWithKeysFileAndIsLeftUnchanged) {
  const std::string corrupt = "{\"echo\": \"" + std::string(kSecret) + "\",";
  write_file(path_, corrupt, 0600);
  Runtime runtime = make_runtime();
  const Model model = runtime.get_model("echo");

  const Error implicit = error_from([&] { (void)model.prompt("hello"); });
  EXPECT_EQ(implicit.code(), ErrorCode::keys_file) << implicit.what();
  EXPECT_TRUE(contains(implicit.what(), path_.string())) << implicit.what();
  EXPECT_FALSE(contains(implicit.what(), kSecret)) << implicit.what();

  const Error named = error_from([&] {
    PromptOptions options;
    options.key_name = "echo";
    (void)model.prompt("hello", std::move(options));
  });
  EXPECT_EQ(named.code(), ErrorCode::keys_file) << named.what();
  EXPECT_FALSE(contains(named.what(), kSecret)) << named.what();

  AsyncResponse async = model.prompt_async("hello");
  const Error through_async = error_from([&] { (void)async.get(); });
  EXPECT_EQ(through_async.code(), ErrorCode::keys_file) << through_async.what();

  EXPECT_EQ(read_bytes(path_), corrupt);
  EXPECT_EQ(mode_of(path_), 0600);
}

TEST_F(RuntimeKeysFile, TooOpenFileFailsThePromptWithKeysFile) {
  write_file(path_, valid_keys_json(), 0644);
  Runtime runtime = make_runtime();
  const Error error = error_from([&] { (void)runtime.get_model("echo").prompt("hello"); });
  EXPECT_EQ(error.code(), ErrorCode::keys_file) << error.what();
  EXPECT_TRUE(contains(error.what(), "permissions 0644")) << error.what();
  EXPECT_FALSE(contains(error.what(), kSecret)) << error.what();
  EXPECT_EQ(read_bytes(path_), valid_keys_json());
  EXPECT_EQ(mode_of(path_), 0644);
}

TEST_F(RuntimeKeysFile, SymlinkedFileFailsThePromptWithKeysFile) {
  const fs::path target = temp_.path() / "real.json";
  write_file(target, valid_keys_json(), 0600);
  fs::create_symlink(target, path_);
  Runtime runtime = make_runtime();
  const Error error = error_from([&] { (void)runtime.get_model("echo").prompt("hello"); });
  EXPECT_EQ(error.code(), ErrorCode::keys_file) << error.what();
  EXPECT_TRUE(contains(error.what(), "symbolic link")) << error.what();
}

TEST_F(RuntimeKeysFile, InvalidStoredKeyIsKeyInvalidNamingTheEntryNotTheKey) {
  write_file(path_, "{\"echo\": \"sk-STORED with space\"}", 0600);
  Runtime runtime = make_runtime();
  const Error error = error_from([&] { (void)runtime.get_model("echo").prompt("hello"); });
  EXPECT_EQ(error.code(), ErrorCode::key_invalid) << error.what();
  EXPECT_TRUE(contains(error.what(), "'echo'")) << error.what();
  EXPECT_FALSE(contains(error.what(), "STORED")) << error.what();
}

TEST_F(RuntimeKeysFile, PerCallKeyWinsWithoutReadingABrokenFile) {
  const std::string corrupt = "{ corrupt";
  write_file(path_, corrupt, 0600);
  Runtime runtime = make_runtime();
  PromptOptions options;
  options.key = Key("sk-per-call");
  const Response response = runtime.get_model("echo").prompt("hello", std::move(options));
  EXPECT_EQ(response.key_source, KeySource::per_call);
  EXPECT_EQ(response.key_fingerprint, Key("sk-per-call").fingerprint());
  EXPECT_EQ(read_bytes(path_), corrupt);
}

TEST_F(RuntimeKeysFile, EnvironmentKeyComesBeforeTheKeysFile) {
  KeysFile(path_).set("echo", Key("sk-from-file"));
  environment_.set("LLMRT_ECHO_KEY", "sk-from-env");
  Runtime runtime = make_runtime();
  const Response response = runtime.get_model("echo").prompt("hello");
  EXPECT_EQ(response.key_source, KeySource::environment);
  EXPECT_EQ(response.key_fingerprint, Key("sk-from-env").fingerprint());
}

}  // namespace
}  // namespace llmrt
