// Which fp32 elements of a tile each thread converts in load_cols (attention_common.cuh), the
// transposed copy of a ROWS x D tile into shared memory as 2-byte operands:
// dst[c * ld + r] = src[r][c]. Free of CUDA headers, so native/tests/attention_tile_map_test.cpp
// checks the mapping on the host: every element exactly once, transposed stores free of bank
// conflicts, global loads one full 32-byte sector per row.
//
// Element group idx (0 <= idx < ROWS * D / 4) is src[r][c..c+3]. In each warp's 32 consecutive
// idx, lanes 0-15 take 16 consecutive rows at one 4-column group and lanes 16-31 the same rows
// at the next group. A store of column c + j then writes 16 consecutive 2-byte elements (8
// 32-bit words, two lanes per word) for lanes 0-15, and the same 2 * ld words further on for
// lanes 16-31: with ld = ROWS + kPad (40 or 72) that is 16 banks on, so the 32 lanes hit 16
// distinct banks. (The former mapping, 4-column groups of one row along a warp, put 16 lanes
// on 2 banks: 8-way conflicts in every transposed store.)
#pragma once

#if defined(__CUDACC__)
#define SCM_HOST_DEVICE __host__ __device__
#else
#define SCM_HOST_DEVICE
#endif

namespace scm::cuda::attn {

struct TileCoord {
  int r, c;  // row, first of the 4 columns c..c+3
};

template <int ROWS, int D>
SCM_HOST_DEVICE constexpr TileCoord transposed_tile_coord(int idx) {
  static_assert(ROWS % 16 == 0 && D % 8 == 0, "tiles of 16-row by 8-column blocks");
  constexpr int kPairs = D / 8;  // pairs of 4-column groups across a row
  const int block = idx >> 5, lane = idx & 31;
  return TileCoord{(block / kPairs) * 16 + (lane & 15), ((block % kPairs) * 2 + (lane >> 4)) * 4};
}

}  // namespace scm::cuda::attn
