/* bad_no_entry: a shared object that is not an llmrt plugin at all — it has no
 * llmrt_plugin_entry, only an unrelated exported function.
 *
 * Contract breach: no entry symbol. The host must recognise that from the file's symbol table and
 * refuse it WITHOUT loading it: this object's constructor would run on dlopen, and it proves it
 * never did by creating the file named in $LLMRT_TEST_CONSTRUCTOR_MARKER when it runs. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((constructor)) static void bad_no_entry_constructor(void) {
  const char* marker = getenv("LLMRT_TEST_CONSTRUCTOR_MARKER");
  if (marker != NULL && marker[0] != '\0') {
    FILE* file = fopen(marker, "w");
    if (file != NULL) {
      fputs("the constructor of bad_no_entry.so ran\n", file);
      fclose(file);
    }
  }
}

__attribute__((visibility("default"))) int llmrt_test_unrelated_function(int x) {
  return x + 1;
}
