/*
 * fuzz_front.c — libFuzzer target for the whole compiler on one input:
 * parse, check, IR build, shapes, autodiff, fusion, memory plan (with the
 * IR verifier after each, as `nnc check` runs them), the summary and AST
 * dump (after shapes, as `nnc summary` runs) and the C emitter, all into
 * /dev/null. It reads and writes no files, so
 * libFuzzer can run it millions of times in one process.
 *
 * Built with clang -fsanitize=fuzzer,address,undefined (tests/tests.cmake);
 * a crash, a sanitizer finding, a leak, or an input slower than libFuzzer's
 * -timeout is a failure. Inputs are what `nnc check` could read: text
 * without NUL bytes, at most NNC_MAX_SOURCE_BYTES.
 */
#include "nnc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *null_stream(void) {
  static FILE *sink;
  if (!sink && !(sink = fopen("/dev/null", "w")))
    abort();
  return sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > NNC_MAX_SOURCE_BYTES || memchr(data, '\0', size))
    return -1; /* source_read refuses these before any pass runs */
  char *text = malloc(size + 1);
  if (!text)
    return -1;
  memcpy(text, data, size);
  text[size] = '\0';
  DriverOptions opt = {.input_path = "fuzz.nn", .input_text = text, .err = null_stream()};
  Compilation c;
  if (compile_source(&c, &opt, PASS_SHAPE)) { /* as `nnc summary` and `nnc dump-ast` run */
    summary_print(null_stream(), c.graph);
    ast_dump(null_stream(), &c.ast);
  }
  compilation_free(&c);
  if (compile_source(&c, &opt, PASS_MEMPLAN)) { /* as `nnc build` runs, short of cc */
    EmitOptions eo = {.source_path = opt.input_path};
    emit_c(null_stream(), c.graph, &c.prog, &eo);
  }
  compilation_free(&c);
  free(text);
  return 0;
}
