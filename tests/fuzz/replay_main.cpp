// Runs a fuzz target (LLVMFuzzerTestOneInput) without libFuzzer, so that every compiler and every
// sanitizer build runs it: each seed file of the corpus, then `--mutations N` variants of each
// (bit flips, byte changes, insertions, deletions, truncations, splices with another seed), drawn
// from a fixed seed so that a failure is reproduced by running the same command again.
//
//   fuzz_chat_request_replay --mutations 2000 tests/fuzz/corpus/chat_request
//
// A crash, a sanitizer report or a failed check of the target ends the process; otherwise it
// prints how many inputs ran and exits 0. tests/fuzz/README.md explains the targets.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void run(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}

std::string mutated(const std::string& seed, const std::vector<std::string>& seeds,
                    std::mt19937_64& random) {
  std::string input = seed;
  const int edits = 1 + static_cast<int>(random() % 8);
  for (int edit = 0; edit < edits; ++edit) {
    const std::size_t at = input.empty() ? 0 : random() % input.size();
    switch (random() % 7) {
      case 0:  // flip a bit
        if (!input.empty()) input[at] = static_cast<char>(input[at] ^ (1 << (random() % 8)));
        break;
      case 1:  // any byte
        if (!input.empty()) input[at] = static_cast<char>(random() % 256);
        break;
      case 2:  // an interesting byte
        if (!input.empty()) {
          static constexpr char kBytes[] = {'\0', '"',  '\\', '{', '}', '[',    ']',    ':',
                                            ',',  '\n', '\r', '.', '-', '\x7f', '\xc3', '\xff'};
          input[at] = kBytes[random() % sizeof kBytes];
        }
        break;
      case 3:  // insert a run of one byte
        input.insert(at, 1 + random() % 16, static_cast<char>(random() % 256));
        break;
      case 4:  // delete a run
        if (!input.empty()) input.erase(at, 1 + random() % 16);
        break;
      case 5:  // truncate
        input.resize(at);
        break;
      default: {  // splice in part of another seed
        const std::string& other = seeds[random() % seeds.size()];
        if (other.empty()) break;
        const std::size_t from = random() % other.size();
        input.insert(at, other, from, 1 + random() % (other.size() - from));
        break;
      }
    }
  }
  return input;
}

}  // namespace

int main(int argc, char** argv) {
  long mutations = 0;
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--mutations" && i + 1 < argc) {
      mutations = std::strtol(argv[++i], nullptr, 10);
    } else if (std::filesystem::is_directory(arg)) {
      for (const auto& entry : std::filesystem::directory_iterator(arg)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
    } else {
      files.emplace_back(arg);
    }
  }
  std::sort(files.begin(), files.end());  // the same order, so the same inputs, every run
  std::vector<std::string> seeds;
  for (const auto& file : files) seeds.push_back(read_file(file));
  if (seeds.empty()) {
    std::fprintf(stderr, "usage: %s [--mutations N] CORPUS_DIR_OR_FILE...\n", argv[0]);
    return 2;
  }
  run("");
  std::size_t count = 1;
  std::mt19937_64 random(20261130);
  for (const std::string& seed : seeds) {
    run(seed);
    ++count;
    for (long i = 0; i < mutations; ++i, ++count) run(mutated(seed, seeds, random));
  }
  std::printf("%zu inputs from %zu seeds: no failure\n", count, seeds.size());
  return 0;
}
