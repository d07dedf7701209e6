// The weight gradient as one matrix product per tap: dw[o][c][a][b] = Σ_q x̂[c][q + offset(a, b)]
// · dŷ[q][o] over the positions q of padded planes, as in few_channel_conv's wide order: an
// image's H rows of S = W + PW positions after PH rows of zeros, the images one after another, so
// that the zeros between rows and between images are shared and a tap is an offset into x̂. dŷ
// holds dy at its pixels' positions and zeros elsewhere (at 8×8 a fifth of the positions, at
// 32×32 a twentieth).
//
// On AMX a tile product adds A (16 rows × 32 bf16) times B (16 rows × 16 pairs of bf16) into C
// (16 × 16 f32), C[m][n] += Σ_k A[m][k] · B[k / 2][n][k % 2]. A is 16 input channels of x̂ over 32
// positions, from any offset, so the taps need no copies of x; B is dŷ with pairs of positions
// interleaved for 16 output channels; C holds one tap's sums for 16 × 16 channels. Each step
// takes 2 × 2 C tiles (32 input × 32 output channels) 32 positions on; the positions come in
// chunks of 256, over which the A and B operands of one channel block stay in L1 while the sums
// pass through L2 (smaller and larger chunks are slower).
//
// Each thread packs x̂ and dŷ for the positions it sums over, four chunks at a time, from the
// channels-last activations into buffers that stay in L2: packed whole beforehand, the copies went
// out to memory and back. Sums of up to 768 KB are each thread's own, over its share of the
// positions, and added at the end; larger ones (256 × 256 channels: 2.4 MB) are shared, each thread
// taking some of the input channels: those of x̂ and all of dŷ (taking output channels instead,
// each packed all of x̂, the costlier copy). With stride 2 (see Plan) the loops take ResNet-18's
// downsampling layers too.
#include "soma/backend/cpu/amx_weight_gradient.h"

#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "soma/backend/cpu/dnnl_context.h"
#include "soma/backend/cpu/vectors.h"
#include "soma/core/error.h"
#include "soma/core/parallel.h"

namespace soma::cpu {

#if defined(__AMX_TILE__) && defined(__AMX_BF16__) && defined(__AVX512BW__)
namespace {

using dnnl::memory;

constexpr int64_t kTile = 16;    // rows of a tile; f32 sums, or pairs of bf16, in a row
constexpr int64_t kStep = 32;    // positions one tile product sums over
constexpr int64_t kChunk = 256;  // positions the sums take in one pass
constexpr int64_t kWindow = 4;   // chunks packed at a time
// Sums up to this size are each thread's own, over its share of the positions; larger ones are
// shared, each thread summing its share of the input channels over all positions.
constexpr int64_t kOwnSums = int64_t(768) << 10;

// The padded planes of a convolution of x [N, C, H, W] by w [O, C, KH, KW] into dy [N, O, OH,
// OW]: the planes have dy's pixels. With stride 2, x comes in four phases, (even or odd row, even
// or odd column), each an image of OH × OW pixels: tap (a, b) reads x at (2i + a − P, 2j + b − P)
// for output (i, j), which is pixel (i + ⌊(a − P) / 2⌋, j + ⌊(b − P) / 2⌋) of phase ((a − P) mod 2,
// (b − P) mod 2). So a tap is a phase and an offset into its planes, as in stride 1, whose one
// phase is x.
struct Plan {
  int64_t n, c, o, x_h, x_w, h, w, kh, kw, pad_h, pad_w, step;  // step: the stride
  int64_t ph, pw;     // rows and columns of zeros before a plane's pixels
  int64_t stride;     // S: positions per row
  int64_t image;      // positions per image: PH + H rows
  int64_t chunks;     // of all images' positions
  int64_t reach;      // of a tap, before or after a position
  int64_t window;     // chunks packed at a time
  int64_t row;        // a window's positions per input channel: its chunks and the reach around
  bool own_sums;      // each thread's, over its share of the chunks
  uint32_t used = 0;  // the phases that taps read
  // Few input channels (C · KH · KW ≤ 32: a CIFAR network's first layer, 3 channels): each
  // (channel, tap) becomes a row of its own, copied from x̂ at the tap's offset, so that a tile's
  // rows hold 27 of them rather than 3 channels and 13 rows of zeros.
  bool taps_as_rows;

  int64_t taps() const { return kh * kw; }
  int64_t phases() const { return step * step; }
  // Of tap (a, b) along one side: its phase's row or column, and its offset in rows or columns.
  int64_t phase_of(int64_t a, int64_t pad) const { return ((a - pad) % step + step) % step; }
  int64_t shift_of(int64_t a, int64_t pad) const { return (a - pad - phase_of(a, pad)) / step; }
  int64_t phase(int64_t tap) const {
    return phase_of(tap / kw, pad_h) * step + phase_of(tap % kw, pad_w);
  }
  int64_t offset(int64_t tap) const {
    return shift_of(tap / kw, pad_h) * stride + shift_of(tap % kw, pad_w);
  }
  int64_t sums() const { return taps() * c * o; }
  // What the products see: with taps as rows, 32 channels of one 1 × 1 tap.
  Plan products() const {
    if (!taps_as_rows) return *this;
    Plan p = *this;
    p.c = 2 * kTile, p.kh = p.kw = 1, p.pad_h = p.pad_w = 0;
    return p;
  }
  // The pixels of dy, or of x, at positions before q (for prefetching: x's are approximate).
  int64_t pixels_before(int64_t q, bool of_x = false) const {
    if (q <= 0) return 0;
    const int64_t at = q / image, row = q % image / stride - ph, column = q % stride;
    const int64_t rows = of_x ? x_h : h, columns = of_x ? x_w : w, s = of_x ? step : 1;
    if (at >= n) return n * rows * columns;
    return (at * rows + std::clamp<int64_t>(row * s, 0, rows)) * columns +
           (row >= 0 && row < h ? std::min(column * s, columns) : 0);
  }
  // The first of the four C tiles (input channels c, c + 16 by output channels o, o + 16) of a
  // tap, for c and o multiples of 32: each block's tiles one after another, 1 KB each. With the
  // sums as rows of output channels (a row per tap and input channel) the products took twice
  // as long, though a tile's rows were whole cache lines either way.
  int64_t block(int64_t tap, int64_t c, int64_t o) const {
    return ((tap * this->c + c) / (2 * kTile) * (this->o / (2 * kTile)) + o / (2 * kTile)) * 4 *
           kTile * kTile;
  }
};

Plan plan_of(const Shape& x, const Shape& w, const Shape& y, const Conv2dGeometry& g) {
  Plan p{};
  p.n = x[0], p.c = x[1], p.x_h = x[2], p.x_w = x[3], p.o = w[0], p.h = y[2], p.w = y[3];
  p.kh = w[2], p.kw = w[3], p.pad_h = g.padding[0], p.pad_w = g.padding[1], p.step = g.stride[0];
  p.ph = -p.shift_of(0, p.pad_h), p.pw = -p.shift_of(0, p.pad_w);
  p.stride = p.w + p.pw, p.image = (p.h + p.ph) * p.stride;
  p.chunks = (p.n * p.image + kChunk - 1) / kChunk;
  p.reach = p.ph * p.stride + p.pw;
  p.window = std::max<int64_t>(1, kWindow / p.phases());  // the phases' windows fill as much L2
  p.row = (p.window * kChunk + 2 * p.reach + kStep - 1) / kStep * kStep;
  // An odd number of cache lines between channels, so that a tile's 16 rows fall in 16 sets.
  if (p.row / kStep % 2 == 0) p.row += kStep;
  p.own_sums = p.sums() * int64_t(sizeof(float)) <= kOwnSums;
  for (int64_t tap = 0; tap < p.taps(); ++tap) p.used |= uint32_t(1) << p.phase(tap);
  p.taps_as_rows = p.c < 2 * kTile;
  return p;
}

// Walks positions one by one: which pixel each holds, if any.
class Positions {
 public:
  Positions(const Plan& p, int64_t q)
      : p_(p), image_(q / p.image), row_(q % p.image / p.stride), column_(q % p.stride) {}
  int64_t pixel() const {
    return image_ < p_.n && row_ >= p_.ph && column_ < p_.w
               ? (image_ * p_.h + row_ - p_.ph) * p_.w + column_
               : -1;
  }
  void next() {
    if (++column_ < p_.stride) return;
    column_ = 0;
    if (++row_ < p_.h + p_.ph) return;
    row_ = 0, ++image_;
  }

 private:
  const Plan& p_;
  int64_t image_, row_, column_;
};

// Whether this process may use AMX: oneDNN would (its CPU ISA, which ONEDNN_MAX_CPU_ISA caps),
// and Linux grants the tiles' state (which a process must ask for before its first tile load).
bool amx_available() {
  static const bool available = [] {
    constexpr int kRequestPermission = 0x1023, kTileData = 18;  // ARCH_REQ_XCOMP_PERM, XTILEDATA
    return dnnl::get_effective_cpu_isa() == dnnl::cpu_isa::avx512_core_amx &&
           syscall(SYS_arch_prctl, kRequestPermission, kTileData) == 0;
  }();
  return available;
}

// Packs x's positions [begin, begin + p.row) into `to`, phase after phase (rows of p.row per
// input channel, 31 writable elements before it): x̂, x's channels as rows of positions with zeros
// between the planes. 16 pixels of an image at a time: their 32 channels (16 pairs of bf16) as 16
// vectors, transposed into a vector of 16 pixels per pair of channels, whose two channels are then
// parted and each expanded over the pixels' positions (a zero where a row ends).
class Windows {
 public:
  Windows() {
    // 16-bit lanes picking a pair's first channels (even lanes), or its second ones.
    alignas(64) int16_t order[2][2 * kTile] = {};
    for (int l = 0; l < kTile; ++l) order[0][l] = int16_t(2 * l), order[1][l] = int16_t(2 * l + 1);
    first_ = _mm512_load_si512(order[0]), second_ = _mm512_load_si512(order[1]);
  }

  void pack(bfloat16* to, const bfloat16* x, const Plan& p, int64_t begin, int64_t first_channel,
            int64_t channels) const {
    for (int64_t phase = 0; phase < p.phases(); ++phase)
      if (p.used >> phase & 1)
        std::memset(static_cast<void*>(to + phase * channels * p.row), 0,
                    size_t(channels * p.row) * sizeof(bfloat16));
    const int64_t end = begin + p.row;
    for (int64_t image = std::max<int64_t>(begin, 0) / p.image;
         image < p.n && image * p.image < end; ++image) {
      const int64_t origin = image * p.image + p.ph * p.stride;  // pixel 0's position
      const int64_t top = std::max<int64_t>(begin - origin, 0) / p.stride;
      const int64_t bottom = std::min(p.h, (end - origin + p.stride - 1) / p.stride);
      for (int64_t phase = 0; phase < p.phases(); ++phase)
        for (int64_t first = top * p.w; first < bottom * p.w && p.used >> phase & 1; first += kTile)
          pack_pixels(to + phase * channels * p.row,
                      x + image * p.x_h * p.x_w * p.c + first_channel, channels, p, phase,
                      origin - begin, first, std::min(kTile, p.h * p.w - first));
    }
  }

 private:
  // Pixels [first, first + count) of a phase of an image (x's `channels` at `from`) whose pixel
  // 0 is at `origin` in the window.
  void pack_pixels(bfloat16* to, const bfloat16* from, int64_t channels, const Plan& p,
                   int64_t phase, int64_t origin, int64_t first, int64_t count) const {
    // Where the pixels go: `start` and each one's place from it; where x has them.
    const int64_t start = origin + first / p.w * p.stride + first % p.w;
    const int64_t phase_row = phase / p.step, phase_column = phase % p.step;
    __mmask32 spread = 0;
    int64_t place = 0, at[kTile] = {};
    __mmask16 in_x = 0;
    for (int64_t t = 0, row = first / p.w, column = first % p.w; t < count; ++t) {
      spread |= __mmask32(1) << place;
      const int64_t x_row = row * p.step + phase_row, x_column = column * p.step + phase_column;
      if (x_row < p.x_h && x_column < p.x_w)
        in_x |= __mmask16(1 << t), at[t] = (x_row * p.x_w + x_column) * p.c;
      if (++column == p.w) column = 0, ++row, place += p.pw;
      ++place;
    }
    const int64_t last = 31 - __builtin_clz(spread);
    // Only the places inside the window.
    const int64_t low = std::max<int64_t>(0, -start), high = std::min(last + 1, p.row - start);
    if (low >= high) return;
    const __mmask32 inside = __mmask32(((uint64_t(1) << high) - 1) & ~((uint64_t(1) << low) - 1));
    // Locals, which the stores cannot alias: read through a pointer or reference, every value
    // was loaded again after each store, and the packing took twice as long.
    const __m512i first_channels = first_, second_channels = second_;
    const int64_t row = p.row;
    for (int64_t c = 0; c < channels; c += 2 * kTile) {
      __m512 rows[16];  // of 16 pairs of bf16
      const __mmask32 lanes =
          channels - c >= 2 * kTile ? ~__mmask32(0) : (__mmask32(1) << (channels - c)) - 1;
#pragma GCC unroll 16
      for (int64_t t = 0; t < kTile; ++t)
        rows[t] =
            _mm512_castsi512_ps(in_x >> t & 1 ? _mm512_maskz_loadu_epi16(lanes, from + at[t] + c)
                                              : _mm512_setzero_si512());
      transpose(rows);
#pragma GCC unroll 32
      for (int64_t k = 0; k < 2 * kTile; ++k) {
        if (c + k >= channels) break;
        const __m512i one = _mm512_permutexvar_epi16(k % 2 ? second_channels : first_channels,
                                                     _mm512_castps_si512(rows[k / 2]));
        _mm512_mask_storeu_epi16(to + (c + k) * row + start, inside,
                                 _mm512_maskz_expand_epi16(spread, one));
      }
    }
  }

  __m512i first_, second_;
};

// Packs dy's positions [begin, begin + count) for output channels [16 · first_block, 16 ·
// (first_block + blocks)) into `to`: dŷ, for each block of 16 channels the positions' values in
// pairs, (q, q + 1) interleaved channel by channel, zeros for positions without a pixel.
void pack_pairs(bfloat16* to, const bfloat16* dy, const Plan& p, int64_t begin, int64_t count,
                int64_t first_block, int64_t blocks) {
  alignas(64) int16_t order[2 * kTile];
  for (int k = 0; k < kTile; ++k) order[2 * k] = int16_t(k), order[2 * k + 1] = int16_t(kTile + k);
  const __m512i interleave = _mm512_load_si512(order);
  Positions at(p, begin);
  for (int64_t r = 0; r < count / 2; ++r) {
    const int64_t first = at.pixel();
    at.next();
    const int64_t second = at.pixel();
    at.next();
    const __mmask32 first_valid = first >= 0 ? 0xffff : 0;
    const __mmask16 second_valid = second >= 0 ? 0xffff : 0;
    const bfloat16* a = dy + std::max<int64_t>(first, 0) * p.o + first_block * kTile;
    const bfloat16* b = dy + std::max<int64_t>(second, 0) * p.o + first_block * kTile;
    for (int64_t block = 0; block < blocks; ++block) {
      const __m512i both = _mm512_maskz_inserti64x4(  // masked: the plain form warns
          0xff, _mm512_maskz_loadu_epi16(first_valid, a + block * kTile),
          _mm256_maskz_loadu_epi16(second_valid, b + block * kTile), 1);
      _mm512_store_si512(to + (block * count / 2 + r) * 2 * kTile,
                         _mm512_permutexvar_epi16(interleave, both));
    }
  }
}

// Every tile 16 rows of 64 bytes.
struct TileConfig {
  uint8_t palette = 1, start_row = 0, reserved[14] = {};
  uint16_t bytes_per_row[16] = {};
  uint8_t rows[16] = {};
};

// Lines of the next window's activations, fetched into L2 a few at a time as this window's
// products run, so that packing them finds them there.
class Prefetch {
 public:
  Prefetch() = default;
  Prefetch(const void* begin, const void* end, int64_t calls)
      : at_(static_cast<const char*>(begin)),
        end_(static_cast<const char*>(end)),
        lines_((end_ - at_) / 64 / std::max<int64_t>(calls, 1) + 1) {}
  void operator()() {
    for (int64_t i = 0; i < lines_ && at_ < end_; ++i, at_ += 64) _mm_prefetch(at_, _MM_HINT_T1);
  }

 private:
  const char *at_ = nullptr, *end_ = nullptr;
  int64_t lines_ = 0;
};

// Adds one chunk's products into the sums of input channels [first_channel, first_channel +
// channels), every tap and output channel, in the blocks of Plan::block; `fresh` sums start from
// zero. x is the window's positions of those channels from the chunk's first one, rows of p.row;
// dy the chunk's pairs of positions, `pairs` apart from one block of 16 output channels to the
// next.
__attribute__((noinline)) void sum_products(const Plan& p, const bfloat16* x, const bfloat16* dy,
                                            int64_t pairs, float* sums, int64_t first_channel,
                                            int64_t channels, bool fresh, Prefetch& x_ahead,
                                            Prefetch& dy_ahead) {
  const int64_t x_stride = p.row * 2;
  constexpr int64_t kBytes = 64, kFloats = kTile * kTile;  // a tile's row; a tile
  for (int64_t c = 0; c < channels; c += 2 * kTile) {
    const bfloat16* a = x + c * p.row;
    for (int64_t pair = 0; pair < p.o / (2 * kTile); ++pair) {
      const bfloat16* b = dy + 2 * pair * pairs * 2 * kTile;
      const bfloat16* b_next = b + pairs * 2 * kTile;
      for (int64_t tap = 0; tap < p.taps(); ++tap) {
        x_ahead(), dy_ahead();
        float* s = sums + p.block(tap, first_channel + c, 2 * kTile * pair);
        if (fresh) {
          _tile_zero(0);
          _tile_zero(1);
          _tile_zero(2);
          _tile_zero(3);
        } else {
          _tile_loadd(0, s, kBytes);
          _tile_loadd(1, s + kFloats, kBytes);
          _tile_loadd(2, s + 2 * kFloats, kBytes);
          _tile_loadd(3, s + 3 * kFloats, kBytes);
        }
        const bfloat16* at = a + p.phase(tap) * channels * p.row + p.offset(tap);
        for (int64_t step = 0; step < kChunk; step += kStep) {
          _tile_loadd(4, at + step, x_stride);
          _tile_loadd(5, at + step + kTile * p.row, x_stride);
          _tile_loadd(6, b + step * kTile, kBytes);
          _tile_loadd(7, b_next + step * kTile, kBytes);
          _tile_dpbf16ps(0, 4, 6);
          _tile_dpbf16ps(1, 4, 7);
          _tile_dpbf16ps(2, 5, 6);
          _tile_dpbf16ps(3, 5, 7);
        }
        _tile_stored(0, s, kBytes);
        _tile_stored(1, s + kFloats, kBytes);
        _tile_stored(2, s + 2 * kFloats, kBytes);
        _tile_stored(3, s + 3 * kFloats, kBytes);
      }
    }
  }
}

// One thread's share: chunks [first_chunk, last_chunk) for input channels [first_channel,
// first_channel + channels), packed a window of chunks at a time into buffers that stay in L2.
void sum_share(const Plan& p, const Windows& windows, const bfloat16* x, const bfloat16* dy,
               float* sums, int64_t first_chunk, int64_t last_chunk, int64_t first_channel,
               int64_t channels) {
  constexpr int64_t kBefore = kStep;  // elements before the window, for its first stores
  const Plan q = p.products();
  // With taps as rows, x̂ after the rows the products read, which start zero.
  const int64_t rows = p.taps_as_rows ? q.c + channels : p.phases() * channels;
  const Tensor window = p.taps_as_rows ? Tensor::zeros({kBefore + rows * p.row}, DType::BF16)
                                       : Tensor::empty({kBefore + rows * p.row}, DType::BF16);
  const int64_t blocks = p.o / kTile;
  const Tensor pairs = Tensor::empty({blocks * kTile * p.window * kChunk}, DType::BF16);
  bfloat16* x_window = window.data<bfloat16>() + kBefore;
  bfloat16* x_planes = p.taps_as_rows ? x_window + q.c * p.row : x_window;
  bfloat16* dy_pairs = pairs.data<bfloat16>();
  TileConfig config;
  for (int t = 0; t < 8; ++t) config.bytes_per_row[t] = 64, config.rows[t] = kTile;
  _tile_loadconfig(&config);
  for (int64_t chunk = first_chunk; chunk < last_chunk; chunk += p.window) {
    const int64_t chunks = std::min(p.window, last_chunk - chunk), begin = chunk * kChunk;
    windows.pack(x_planes, x, p, begin - p.reach, first_channel, channels);
    for (int64_t c = 0; p.taps_as_rows && c < channels; ++c)
      for (int64_t tap = 0; tap < p.taps(); ++tap)
        std::memcpy(static_cast<void*>(x_window + (c * p.taps() + tap) * p.row + p.reach),
                    x_planes + c * p.row + p.reach + p.offset(tap),
                    size_t(chunks * kChunk) * sizeof(bfloat16));
    pack_pairs(dy_pairs, dy, p, begin, chunks * kChunk, 0, blocks);
    // The next window's pixels, over as many calls of each as there are products' blocks here.
    const int64_t next = std::min(chunk + p.window, last_chunk) * kChunk;
    const int64_t last = std::min(chunk + 2 * p.window, last_chunk) * kChunk;
    const int64_t calls =
        chunks * std::max<int64_t>(channels / (2 * kTile), 1) * blocks / 2 * q.taps();
    Prefetch x_ahead(x + p.pixels_before(next - p.reach, true) * p.c,
                     x + p.pixels_before(last + p.reach, true) * p.c, calls);
    Prefetch dy_ahead(dy + p.pixels_before(next) * p.o, dy + p.pixels_before(last) * p.o, calls);
    for (int64_t k = 0; k < chunks; ++k)
      sum_products(q, x_window + p.reach + k * kChunk, dy_pairs + k * kChunk * kTile,
                   chunks * kChunk / 2, sums, p.taps_as_rows ? 0 : first_channel,
                   p.taps_as_rows ? q.c : channels, chunk + k == first_chunk, x_ahead, dy_ahead);
  }
  _tile_release();
}

// dw [O, C, KH, KW] = the `count` threads' sums + beta · dw. A C tile's row holds 16 output
// channels of one input channel and tap, which lie C · KH · KW floats apart in dw. With taps as
// rows, row c · KH · KW + tap of the products' one tap.
void move_sums(float* dw, const float* sums, int64_t count, const Plan& plan, float beta) {
  const Plan p = plan.products();
  const int64_t apart = plan.c * plan.taps(), channels = plan.taps_as_rows ? apart : p.c;
  const __m512i lanes =
      _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                         _mm512_set1_epi32(int32_t(apart)));
  parallel_for(p.o / kTile, 1, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin * kTile; o < end * kTile; o += kTile) {
      for (int64_t c = 0; c < channels; ++c) {
        for (int64_t tap = 0; tap < p.taps(); ++tap) {
          const float* from =
              sums + p.block(tap, c - c % (2 * kTile), o - o % (2 * kTile)) +
              (c % (2 * kTile) / kTile * 2 + o % (2 * kTile) / kTile) * kTile * kTile +
              c % kTile * kTile;
          float* to = dw + o * apart + c * p.taps() + tap;
          __m512 values = _mm512_loadu_ps(from);
          for (int64_t k = 1; k < count; ++k)
            values = _mm512_add_ps(values, _mm512_loadu_ps(from + k * p.sums()));
          if (beta != 0.0f)
            values = _mm512_fmadd_ps(  // masked: the plain gather warns
                _mm512_set1_ps(beta),
                _mm512_mask_i32gather_ps(_mm512_setzero_ps(), 0xffff, lanes, to, 4), values);
          _mm512_i32scatter_ps(to, lanes, values, 4);
        }
      }
    }
  });
}

}  // namespace

bool amx_weight_gradient_pays(const Shape& x, const Shape& w, const Conv2dGeometry& g, bool bias) {
  const int64_t step = g.stride[0];
  // Stride 2 into 16 pixels or fewer goes to the im2col products, which are faster there.
  const bool strides =
      g.stride[1] == step && (step == 1 || (step == 2 && x[2] % 2 == 0 && x[3] % 2 == 0 &&
                                            w[2] <= 3 && w[3] <= 3 && x[2] * x[3] > 64));
  // A group of 16 pixels spreads over at most 32 positions (see Windows::pack_pixels).
  const int64_t width = x[3] / step, zeros = (g.padding[1] + step - 1) / step;
  return autocast_precision() == Precision::BF16 && !bias && g.groups == 1 && w[2] % 2 == 1 &&
         w[3] % 2 == 1 && g.padding[0] == (w[2] - 1) / 2 && g.padding[1] == (w[3] - 1) / 2 &&
         strides && g.dilation[0] == 1 && g.dilation[1] == 1 &&
         (x[1] % (2 * kTile) == 0 || (step == 1 && x[1] * w[2] * w[3] <= 2 * kTile)) &&
         w[0] % (2 * kTile) == 0 && width > 0 && kTile + (kTile / width + 1) * zeros <= 2 * kTile &&
         amx_available();
}

void amx_weight_gradient(const Tensor& dw, const Tensor& dy, const Tensor& x,
                         const Conv2dGeometry& g, float beta) {
  const Plan p = plan_of(x.shape(), dw.shape(), dy.shape(), g);
  Key key;
  key << "amx_weight_gradient" << x.shape() << dw.shape() << g.stride[0];
  const auto channels_last = [&](const Tensor& t, const char* name) {
    return laid_out(nhwc_bf16(t.shape()), plain_f32(t.shape()), t, Key(key) << name);
  };
  const memory x_values = channels_last(x, "x"), dy_values = channels_last(dy, "dy");
  stream().wait();  // for the reorders, if any
  const auto* xs = static_cast<const bfloat16*>(x_values.get_data_handle());
  const auto* dys = static_cast<const bfloat16*>(dy_values.get_data_handle());
  // The threads' shares: of the chunks with sums of their own, else of the input channels.
  const int64_t blocks = p.c / (2 * kTile);  // of input channels
  const bool own_sums = p.own_sums || blocks < num_threads();
  const int64_t parts = std::min<int64_t>(num_threads(), own_sums ? p.chunks : blocks);
  const Tensor sums = Tensor::empty({(own_sums ? parts : 1) * p.products().sums()});
  const Windows windows;
  parallel_for(parts, 1, [&](int64_t begin, int64_t end) {
    for (int64_t part = begin; part < end; ++part) {
      if (own_sums)
        sum_share(p, windows, xs, dys, sums.data<float>() + part * p.products().sums(),
                  p.chunks * part / parts, p.chunks * (part + 1) / parts, 0, p.c);
      else
        sum_share(p, windows, xs, dys, sums.data<float>(), 0, p.chunks,
                  2 * kTile * (blocks * part / parts),
                  2 * kTile * (blocks * (part + 1) / parts - blocks * part / parts));
    }
  });
  move_sums(dw.data<float>(), sums.data<float>(), own_sums ? parts : 1, p, beta);
}

#else
bool amx_weight_gradient_pays(const Shape&, const Shape&, const Conv2dGeometry&, bool) {
  return false;
}
void amx_weight_gradient(const Tensor&, const Tensor&, const Tensor&, const Conv2dGeometry&,
                         float) {
  fail("amx_weight_gradient: built without AMX");
}
#endif

}  // namespace soma::cpu
