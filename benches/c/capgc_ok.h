/* OK(e): a CapGC call that must succeed; anything else reports the call,
 * its status and capgc_last_error(), and exits. Shared by backend.h's
 * CapGC backends and the programs written on capgc_fast.h directly. */
#ifndef CAPGC_OK_H
#define CAPGC_OK_H

#include <stdio.h>
#include <stdlib.h>

#include "capgc.h"

#define OK(e)                                                                  \
  do {                                                                         \
    capgc_status_t s_ = (e);                                                   \
    if (s_ != CAPGC_OK) {                                                      \
      fprintf(stderr, "%s:%d %s: %s (%s)\n", __FILE__, __LINE__, #e,          \
              capgc_status_name(s_), capgc_last_error());                      \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

#endif
