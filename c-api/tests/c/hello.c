/* The smallest program on an installed libcapgc: CI links it through pkg-config. */
#include <capgc.h>
#include <stdio.h>
int main(void) {
  capgc_config_t cfg = capgc_config_default();
  capgc_heap_t *heap;
  if (capgc_heap_new(&cfg, &heap) != CAPGC_OK) { puts(capgc_last_error()); return 1; }
  capgc_type_t node;
  capgc_region_t stack;
  capgc_type_record(heap, 2, 8, &node);
  capgc_region_new(heap, 16, &stack);
  capgc_slot_alloc(heap, stack, 0, node);
  capgc_slot_alloc(heap, stack, 1, node);
  capgc_slot_store_field(heap, stack, 0, 0, 1);
  capgc_collect(heap, NULL);
  size_t n = 1;
  capgc_heap_verify(heap, NULL, 0, &n);
  printf("ok, %zu violations\n", n);
  capgc_heap_free(heap);
  return 0;
}
