#include "cleansing_memory.hpp"

#include <openssl/crypto.h>

#include <new>

namespace llmrt {

void cleanse(void* data, std::size_t size) noexcept {
  if (data != nullptr && size > 0) OPENSSL_cleanse(data, size);
}

void* CleansingResource::do_allocate(std::size_t bytes, std::size_t alignment) {
  return ::operator new(bytes, std::align_val_t(alignment));
}

void CleansingResource::do_deallocate(void* p, std::size_t bytes, std::size_t alignment) {
  cleanse(p, bytes);
  ::operator delete(p, bytes, std::align_val_t(alignment));
}

}  // namespace llmrt
