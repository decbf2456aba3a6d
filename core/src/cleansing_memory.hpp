// Memory for material that may contain keys (the keys file's bytes and its parsed JSON): every
// buffer is wiped with OPENSSL_cleanse before it goes back to the heap, so no key outlives its use.
#ifndef LLMRT_CLEANSING_MEMORY_HPP
#define LLMRT_CLEANSING_MEMORY_HPP

#include <boost/json/memory_resource.hpp>
#include <cstddef>
#include <memory>
#include <string>

namespace llmrt {

void cleanse(void* data, std::size_t size) noexcept;

// A std::allocator that wipes what it frees.
template <class T>
struct CleansingAllocator {
  using value_type = T;
  CleansingAllocator() noexcept = default;
  template <class U>
  CleansingAllocator(const CleansingAllocator<U>&) noexcept {}  // NOLINT
  T* allocate(std::size_t n) { return std::allocator<T>{}.allocate(n); }
  void deallocate(T* p, std::size_t n) noexcept {
    cleanse(p, n * sizeof(T));
    std::allocator<T>{}.deallocate(p, n);
  }
  friend bool operator==(const CleansingAllocator&, const CleansingAllocator&) { return true; }
};

// A string whose heap buffers are wiped when freed. Construct with make_secret_string() so that the
// bytes never sit in the small-string buffer inside the object.
using SecretString = std::basic_string<char, std::char_traits<char>, CleansingAllocator<char>>;

inline SecretString make_secret_string(std::size_t capacity = 64) {
  SecretString s;
  s.reserve(capacity < 32 ? 32 : capacity);
  return s;
}

// A Boost.JSON memory resource that wipes every block it frees. Use one per parse, for parsed
// values and the parser's temporary storage.
class CleansingResource final : public boost::json::memory_resource {
 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment) override;
  void do_deallocate(void* p, std::size_t bytes, std::size_t alignment) override;
  bool do_is_equal(const boost::json::memory_resource& other) const noexcept override {
    return this == &other;
  }
};

// A Boost.JSON memory resource for material kept for a while (the keys file's parsed contents
// while the file is unchanged): every block is its own anonymous mapping, locked in RAM with
// mlock() where the limits allow it (so it is never written to swap), left out of core dumps
// (MADV_DONTDUMP), and wiped before it is unmapped. Meant as the upstream of a
// monotonic_resource, which asks for few, large blocks. Thread-safe; never throws on a failed
// mlock (the block is then merely unlocked: locked() says so), throws std::bad_alloc when the
// mapping itself fails.
class LockedResource final : public boost::json::memory_resource {
 public:
  // True while every block this resource handed out could be locked.
  bool locked() const noexcept { return all_locked_; }

 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment) override;
  void do_deallocate(void* p, std::size_t bytes, std::size_t alignment) override;
  bool do_is_equal(const boost::json::memory_resource& other) const noexcept override {
    return this == &other;
  }
  bool all_locked_ = true;  // written only while one thread builds a document
};

}  // namespace llmrt

#endif  // LLMRT_CLEANSING_MEMORY_HPP
