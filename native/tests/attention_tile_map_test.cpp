// Host-only test of the thread-to-element mapping of load_cols (native/cuda/attention_tile_map.h),
// the transposed copy of fp32 tiles into shared memory as 2-byte operands in the flash
// attention kernels: every element is written exactly once, and each warp-wide 2-byte store is
// free of shared-memory bank conflicts for every tile shape and leading dimension the kernels
// use (ROWS = 32 or 64 keys / queries, D = 16..128, ld = ROWS + 8).
#include <map>
#include <set>
#include "framework.h"
#include "../cuda/attention_tile_map.h"

using namespace scm_test;

namespace {

constexpr int kWarp = 32, kBanks = 32, kThreads = 128, kPad = 8;

struct Coord {
  int r, c;
};

// Worst bank-conflict degree of the transposed stores dst[(c + j) * ld + r] (2-byte elements)
// over every warp-wide store instruction: the most distinct 32-bit words one bank serves.
// 1 means conflict-free (lanes writing the two halves of one word do not conflict).
template <class Map>
int worst_store_conflict(int rows, int d, int ld, Map map) {
  int worst = 0;
  const int groups = rows * d / 4;
  for (int first = 0; first < groups; first += kWarp)
    for (int j = 0; j < 4; ++j) {
      std::map<int, std::set<int>> words_of_bank;
      for (int lane = 0; lane < kWarp && first + lane < groups; ++lane) {
        const Coord at = map(first + lane);
        const int word = ((at.c + j) * ld + at.r) / 2;
        words_of_bank[word % kBanks].insert(word);
      }
      for (auto& [bank, words] : words_of_bank) worst = std::max(worst, int(words.size()));
    }
  return worst;
}

// Global loads of one warp: 32-byte sectors touched per row, and bytes used of them.
template <class Map>
void check_loads(const std::string& what, int rows, int d, Map map) {
  for (int first = 0; first < rows * d / 4; first += kWarp) {
    std::set<long> sectors;
    for (int lane = 0; lane < kWarp; ++lane) {
      const Coord at = map(first + lane);
      sectors.insert((long(at.r) * d + at.c) * 4 / 32);  // float4 at row r, column c (16-byte aligned)
    }
    // 32 lanes x 16 bytes = 512 bytes: at best 16 full sectors.
    SCM_CHECK(sectors.size() == 16, what, ": a warp's loads touch ", sectors.size(), " sectors (16 = fully used)");
  }
}

template <int ROWS, int D>
void check_shape() {
  const int ld = ROWS + kPad;
  const std::string what = concat("ROWS=", ROWS, " D=", D, " ld=", ld);
  auto map = [](int idx) {
    const scm::cuda::attn::TileCoord t = scm::cuda::attn::transposed_tile_coord<ROWS, D>(idx);
    return Coord{t.r, t.c};
  };
  // Bijection onto (row, 4-column group), through the kernels' loop (idx = thread + k * 128).
  std::vector<int> seen(ROWS * D / 4, 0);
  for (int thread = 0; thread < kThreads; ++thread)
    for (int idx = thread; idx < ROWS * D / 4; idx += kThreads) {
      const Coord at = map(idx);
      SCM_CHECK(at.r >= 0 && at.r < ROWS && at.c >= 0 && at.c < D && at.c % 4 == 0, what, ": idx ", idx, " -> (", at.r,
                ", ", at.c, ")");
      ++seen[at.r * (D / 4) + at.c / 4];
    }
  for (size_t i = 0; i < seen.size(); ++i)
    SCM_CHECK(seen[i] == 1, what, ": element group ", i, " written ", seen[i], " times");

  const int conflict = worst_store_conflict(ROWS, D, ld, map);
  SCM_CHECK(conflict == 1, what, ": transposed stores have ", conflict, "-way bank conflicts");
  check_loads(what, ROWS, D, map);

  // The checker itself sees the conflicts of the former mapping (4-column groups of one row
  // along the warp): 8-way once a row has 16 or more groups (D >= 64), 4-way at D = 32.
  auto former = [](int idx) { return Coord{idx / (D / 4), (idx % (D / 4)) * 4}; };
  const int old_conflict = worst_store_conflict(ROWS, D, ld, former);
  SCM_CHECK(old_conflict >= (D >= 64 ? 8 : D == 32 ? 4 : 2), what, ": former mapping measured ", old_conflict, "-way");
  note(concat(what, ": store conflicts ", conflict, "-way (former mapping ", old_conflict, "-way)"));
}

}  // namespace

SCM_TEST(attention_transposed_tile_stores_conflict_free) {
  // Forward: 64-key tiles at every head dim; JVP / backward: 64 (D <= 64) or 32 (D = 128).
  check_shape<64, 16>();
  check_shape<64, 32>();
  check_shape<64, 64>();
  check_shape<64, 128>();
  check_shape<32, 128>();
}
