# GCC 12.2's straight-line (SLP) vectoriser miscompiles some aggregates with AVX-512: building
# {.kernel = 2, .stride = 2} of an options struct of five two-number sizes writes 2 over the
# padding that follows too (nn::ConvTranspose2dOptions hit it). Compile that pattern with this
# compiler and these flags; where it goes wrong, turn the SLP vectoriser off (loops are still
# vectorised).
include(CheckCXXSourceRuns)

set(CMAKE_REQUIRED_FLAGS "-O2 ${SOMA_ARCH_FLAGS}")
check_cxx_source_runs([=[
#include <cstdint>
struct Pair {
  Pair(std::int64_t both) : first(both), second(both) {}
  std::int64_t first, second;
};
struct Options {
  Pair a = 3;
  Pair b = 1;
  Pair c = 0;
  Pair d = 0;
  Pair e = 1;
  std::int64_t f = 1;
  bool g = true;
};
__attribute__((noinline)) int check(int, int, Options o) { return o.c.first == 0 && o.d.first == 0 ? 0 : 1; }
int main() { return check(8, 4, {.a = 2, .b = 2}); }
]=] SOMA_SLP_VECTORIZER_SOUND)
unset(CMAKE_REQUIRED_FLAGS)

if(NOT SOMA_SLP_VECTORIZER_SOUND)
  message(STATUS "This compiler's SLP vectoriser miscompiles aggregates: -fno-tree-slp-vectorize")
  add_compile_options(-fno-tree-slp-vectorize)
endif()
