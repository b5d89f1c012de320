/* version.c: the library's version string. */
#include "legacygpu/engine.h"
const char *lg_version(void) { return LG_VERSION_STRING; }
