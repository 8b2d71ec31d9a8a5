# Sum 1..10,000,000 with a while loop, the idiomatic equivalent of
# loop/recur = 50000005000000. It runs inside a function so that i and acc
# are locals, like the loop bindings in RTFS; at module level they would be
# global-dict lookups and CPython would be measurably slower (unfairly so).
def main():
    i = 1
    acc = 0
    while i <= 10000000:
        acc += i
        i += 1
    return acc


print(main())
