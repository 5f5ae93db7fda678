/* A call with one argument too few: must not compile. */
#include "emit.h"
void bad(Emitter *e) { EMIT_CALL(e, matmul_forward, NULL, "out", "x", "w", "m", "4"); }
