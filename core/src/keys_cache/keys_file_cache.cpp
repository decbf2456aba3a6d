#include "keys_cache/keys_file_cache.hpp"

#include <atomic>

#include "keys_cache/keys_cache_counters.hpp"

namespace llmrt {
namespace {

std::atomic<std::uint64_t>& process_writes() {
  static std::atomic<std::uint64_t> writes{0};
  return writes;
}

}  // namespace

KeysCacheCounters& keys_cache_counters() {
  static KeysCacheCounters counters;
  return counters;
}

void note_keys_file_written() noexcept {
  process_writes().fetch_add(1, std::memory_order_acq_rel);
}

KeysFileCache::KeysFileCache(std::filesystem::path path, const KeysFileCaching& settings)
    : path_(std::move(path)), settings_(settings) {}

std::shared_ptr<const KeysDocument> KeysFileCache::current() {
  // Both read before the file is: a change that lands while it is read shows next time.
  const std::uint64_t generation = watch().generation();
  const std::uint64_t writes = process_writes().load(std::memory_order_acquire);
  std::lock_guard lock(mutex_);
  if (valid_ && generation == seen_generation_ && writes == seen_writes_) return document_;
  // Dropped before reading: the old contents are wiped as soon as no call holds them.
  valid_ = false;
  document_.reset();
  document_ = load_keys_document(path_, KeysDocument::Memory::locked);  // throws when refused
  seen_generation_ = generation;
  seen_writes_ = writes;
  valid_ = true;
  return document_;
}

}  // namespace llmrt
