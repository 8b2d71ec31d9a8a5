# Build a 100,000-element list by appending in a reduce; print its length.
# The lambda appends in place and returns the list (amortised O(1) per
# element, like conj on a persistent vector); `acc + [x]` would be quadratic.
import functools

lst = functools.reduce(lambda acc, x: (acc.append(x), acc)[1], range(100000), [])
print(len(lst))
