#include "cleansing_memory.hpp"

#include <openssl/crypto.h>

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

}  // namespace llmrt
