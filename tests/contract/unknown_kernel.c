/* A kernel rt_kernels.def does not list: must not compile. */
#include "emit.h"
void bad(Emitter *e) { EMIT_CALL(e, accumulate, NULL, "out", "a", "4"); }
