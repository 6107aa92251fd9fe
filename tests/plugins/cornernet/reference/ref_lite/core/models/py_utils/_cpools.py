"""Stand-in for the reference's compiled `_cpools` package (C++/CUDA extensions top_pool.cpp, bottom_pool.cpp,
left_pool.cpp, right_pool.cpp): the same four modules, computed by zoo_cornernet.pools.loop_corner_pool, a
row-by-row port of those C++ forward and backward loops (checked against the pools' definition in
test_cornernet_pools.py). The only file of this reference copy that is not the original."""

from torch import nn

from zoo_cornernet.pools import loop_corner_pool


class TopPool(nn.Module):
    def forward(self, x):
        return loop_corner_pool(x, "top")


class BottomPool(nn.Module):
    def forward(self, x):
        return loop_corner_pool(x, "bottom")


class LeftPool(nn.Module):
    def forward(self, x):
        return loop_corner_pool(x, "left")


class RightPool(nn.Module):
    def forward(self, x):
        return loop_corner_pool(x, "right")
