#include "cleansing_memory.hpp"

#include <openssl/crypto.h>
#include <sys/mman.h>
#include <unistd.h>

#include <new>

namespace llmrt {

void cleanse(void* data, std::size_t size) noexcept {
  if (data != nullptr && size > 0) OPENSSL_cleanse(data, size);
}

// Boost.JSON 1.81 may free a block with a different alignment than it asked for (object keys built
// in pieces), so ordinary alignments all go through the plain operators, which do not care.
void* CleansingResource::do_allocate(std::size_t bytes, std::size_t alignment) {
  if (alignment <= __STDCPP_DEFAULT_NEW_ALIGNMENT__) return ::operator new(bytes);
  return ::operator new(bytes, std::align_val_t(alignment));
}

void CleansingResource::do_deallocate(void* p, std::size_t bytes, std::size_t alignment) {
  cleanse(p, bytes);
  if (alignment <= __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
    ::operator delete(p);
  } else {
    ::operator delete(p, std::align_val_t(alignment));
  }
}

namespace {

std::size_t whole_pages(std::size_t bytes) {
  static const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return (bytes + page - 1) / page * page;
}

// Each mapping starts with its own size: the size a caller gives back is not trusted (Boost.JSON
// 1.81's monotonic_resource frees its blocks with a smaller size than it asked for).
constexpr std::size_t kHeader = 64;

}  // namespace

void* LockedResource::do_allocate(std::size_t bytes, std::size_t alignment) {
  if (alignment > kHeader) throw std::bad_alloc();
  const std::size_t size = whole_pages(kHeader + bytes);
  void* block = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (block == MAP_FAILED) throw std::bad_alloc();
  // RLIMIT_MEMLOCK may forbid it (EPERM, ENOMEM): the block is still wiped, only swappable.
  if (::mlock(block, size) != 0) all_locked_ = false;
#ifdef MADV_DONTDUMP
  ::madvise(block, size, MADV_DONTDUMP);
#endif
  *static_cast<std::size_t*>(block) = size;
  return static_cast<unsigned char*>(block) + kHeader;
}

void LockedResource::do_deallocate(void* p, std::size_t, std::size_t) {
  void* block = static_cast<unsigned char*>(p) - kHeader;
  const std::size_t size = *static_cast<std::size_t*>(block);
  cleanse(block, size);
  ::munlock(block, size);
  ::munmap(block, size);
}

}  // namespace llmrt
