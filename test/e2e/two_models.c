/* Two compiled models linked into one program: their symbols must not clash. */
#include <stdio.h>

#include "first.h"
#include "second.h"

int main(void) {
  first_instance *a;
  second_instance *b;
  if (first_create(&a) || second_create(&b))
    return 1;
  printf("%s %s\n", first_input_name(0), second_output_name(0));
  first_destroy(a);
  second_destroy(b);
  return 0;
}
