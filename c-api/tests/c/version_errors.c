/* The versioned ABI and the error messages: the header's version macros
 * agree with the library's capgc_version(); a message stays readable
 * whatever order the caller evaluates its arguments in (the printf idiom
 * below), is per thread, and capgc_last_error_copy copies it as snprintf
 * would. */
#include "common.h"

#include <pthread.h>

static capgc_heap_t *g_heap;

/* A call that fails with a message of its own. */
static capgc_status_t failing(void) {
  uint64_t v;
  return capgc_read_u64(g_heap, capgc_null(), 0, &v);
}

/* A different failure, with a much longer message, made first. */
static void another_failure(void) {
  capgc_config_t cfg = capgc_config_default();
  cfg.plan = 77;
  capgc_heap_t *h;
  ASSERT(capgc_heap_new(&cfg, &h) == CAPGC_E_INVALID_ENUM);
}

static char g_thread_msg[CAPGC_LAST_ERROR_CAPACITY];

static void *other_thread(void *arg) {
  (void)arg;
  another_failure();
  capgc_last_error_copy(g_thread_msg, sizeof g_thread_msg);
  return NULL;
}

int main(void) {
  /* The version: header and library agree, and the rule's arithmetic. */
  ASSERT(CAPGC_VERSION == (CAPGC_VERSION_MAJOR << 16 | CAPGC_VERSION_MINOR << 8 | CAPGC_VERSION_PATCH));
  ASSERT(capgc_version() == CAPGC_VERSION);
  ASSERT(capgc_version() >> 16 == CAPGC_VERSION_MAJOR && capgc_version() >> 8 >= CAPGC_VERSION >> 8);
  char want[32];
  snprintf(want, sizeof want, "%u.%u.%u", CAPGC_VERSION_MAJOR, CAPGC_VERSION_MINOR, CAPGC_VERSION_PATCH);
  ASSERT(strcmp(capgc_version_string(), want) == 0);

  CHECK(capgc_heap_new(NULL, &g_heap));

  /* What the failing call's message is. */
  ASSERT(failing() == CAPGC_E_NULL_REFERENCE);
  char msg[CAPGC_LAST_ERROR_CAPACITY];
  size_t n = capgc_last_error_copy(msg, sizeof msg);
  ASSERT(n > 0 && n == strlen(msg) && strcmp(msg, capgc_last_error()) == 0);

  /* The idiom, both evaluation orders spelled out, then as written (the
   * compiler picks its order): each time after another failure first. */
  char line[2 * CAPGC_LAST_ERROR_CAPACITY], expect[sizeof line];
  snprintf(expect, sizeof expect, "CAPGC_E_NULL_REFERENCE %s", msg);
  another_failure();
  const char *m1 = capgc_last_error();   /* the message pointer first */
  const char *s1 = capgc_status_name(failing());
  snprintf(line, sizeof line, "%s %s", s1, m1);
  ASSERT(strcmp(line, expect) == 0);
  another_failure();
  const char *s2 = capgc_status_name(failing()); /* the call first */
  const char *m2 = capgc_last_error();
  snprintf(line, sizeof line, "%s %s", s2, m2);
  ASSERT(strcmp(line, expect) == 0);
  another_failure();
  snprintf(line, sizeof line, "%s %s", capgc_status_name(failing()), capgc_last_error());
  ASSERT(strcmp(line, expect) == 0);
  another_failure();
  printf("%s %s\n", capgc_status_name(failing()), capgc_last_error());

  /* A success leaves the message alone; the pointer is stable. */
  const char *p = capgc_last_error();
  capgc_ref_t r;
  capgc_type_t t;
  CHECK(capgc_type_record(g_heap, 1, 8, &t));
  CHECK(capgc_alloc(g_heap, t, &r));
  ASSERT(capgc_last_error() == p && strcmp(p, msg) == 0);

  /* Per thread: another thread's failure does not touch this one's. */
  pthread_t th;
  ASSERT(pthread_create(&th, NULL, other_thread, NULL) == 0);
  ASSERT(pthread_join(th, NULL) == 0);
  ASSERT(strcmp(capgc_last_error(), msg) == 0);
  ASSERT(g_thread_msg[0] != 0 && strcmp(g_thread_msg, msg) != 0);

  /* The copy: cut to fit, nul-terminated, the full length returned. */
  char small[8];
  memset(small, 'x', sizeof small);
  ASSERT(capgc_last_error_copy(small, sizeof small) == n);
  ASSERT(small[7] == 0 && strncmp(small, msg, 7) == 0);
  ASSERT(capgc_last_error_copy(NULL, 0) == n);
  memset(small, 'x', sizeof small);
  ASSERT(capgc_last_error_copy(small, 0) == n && small[0] == 'x');
  char *self = (char *)capgc_last_error(); /* copying onto itself is fine */
  ASSERT(capgc_last_error_copy(self, 5) == n && strlen(capgc_last_error()) == 4);

  capgc_heap_free(g_heap);
  printf("version %s, errors: ok\n", capgc_version_string());
  return 0;
}
