from ._cpools import TopPool, BottomPool, LeftPool, RightPool
