# map/filter/reduce over range(1000000) = 250000500000.
import functools
import operator

print(functools.reduce(operator.add, filter(lambda x: x % 2 == 0, map(lambda x: x + 1, range(1000000)))))
