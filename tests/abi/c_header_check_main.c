/* Runs the C header check (c_header_check.c): 0 when every run-time check passed. */
#include <stdio.h>

int llmrt_abi_c_header_check(void);

int main(void) {
  int failures = llmrt_abi_c_header_check();
  if (failures != 0) fprintf(stderr, "%d C header checks failed\n", failures);
  return failures == 0 ? 0 : 1;
}
