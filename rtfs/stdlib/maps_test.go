package stdlib

import "testing"

func TestMapFunctions(t *testing.T) {
	seqRunCases(t, []seqCase{
		// hash-map
		{`(hash-map)`, `{}`},
		{`(hash-map :a 1 :b 2)`, `{:a 1 :b 2}`},
		{`(hash-map :a 1 :a 2)`, `{:a 2}`},
		{`(hash-map :a)`, `!arity-error`},
		// assoc
		{`(assoc {:a 1} :b 2)`, `{:a 1 :b 2}`},
		{`(assoc {:a 1} :a 3 :c 4)`, `{:a 3 :c 4}`},
		{`(assoc nil :a 1)`, `{:a 1}`},
		{`(assoc [1 2] 0 :x)`, `[:x 2]`},
		{`(assoc [1 2] 2 3)`, `[1 2 3]`},
		{`(assoc [1 2] 3 3)`, `!index-error`},
		{`(assoc [1 2] -1 3)`, `!index-error`},
		{`(assoc [1 2] :k 3)`, `!type-error`},
		{`(assoc {:a 1} :b)`, `!arity-error`},
		{`(assoc {} :a 1 :b)`, `!arity-error`},
		{`(assoc 5 :a 1)`, `!type-error`},
		{`(assoc '(1) 0 1)`, `!type-error`},
		// assoc-in
		{`(assoc-in {} [:a :b] 1)`, `{:a {:b 1}}`},
		{`(assoc-in {:a {:x 0}} [:a :b] 1)`, `{:a {:x 0 :b 1}}`},
		{`(assoc-in nil [:a] 1)`, `{:a 1}`},
		{`(assoc-in {:v [1 2]} [:v 1] :z)`, `{:v [1 :z]}`},
		{`(assoc-in [[1 2] [3 4]] [1 0] :x)`, `[[1 2] [:x 4]]`},
		{`(assoc-in {:a 1} [:a :b] 2)`, `!type-error`},
		{`(assoc-in {} [] 1)`, `{nil 1}`},
		// dissoc
		{`(dissoc {:a 1 :b 2} :a)`, `{:b 2}`},
		{`(dissoc {:a 1 :b 2} :a :b :c)`, `{}`},
		{`(dissoc {:a 1})`, `{:a 1}`},
		{`(dissoc nil :a)`, `nil`},
		{`(dissoc [1] 0)`, `!type-error`},
		// update update-in
		{`(update {:a 1} :a inc)`, `{:a 2}`},
		{`(update {:a 1} :a + 10)`, `{:a 11}`},
		{`(update {:a 1} :a + 10 20 30)`, `{:a 61}`},
		{`(update {} :n (fn [x] (if x (inc x) 0)))`, `{:n 0}`},
		{`(update nil :a (fn [_] 1))`, `{:a 1}`},
		{`(update [1 2] 0 inc)`, `[2 2]`},
		{`(update {:a 1} :a 5)`, `!type-error`},
		{`(update {:a :x} :a inc)`, `!type-error`},
		{`(update 5 :a inc)`, `!type-error`},
		{`(update-in {:a {:b 1}} [:a :b] inc)`, `{:a {:b 2}}`},
		{`(update-in {} [:a :b] (fn [x] (if x x :new)))`, `{:a {:b :new}}`},
		{`(update-in {:a [1 2]} [:a 1] * 10)`, `{:a [1 20]}`},
		{`(update-in {:a {:b 1}} [:a :b] + 1 2 3)`, `{:a {:b 7}}`},
		{`(update-in {:a 1} 5 inc)`, `!type-error`},
		// merge merge-with
		{`(merge {:a 1} {:b 2} {:a 3})`, `{:a 3 :b 2}`},
		{`(merge)`, `nil`},
		{`(merge nil)`, `nil`},
		{`(merge nil {:a 1})`, `{:a 1}`},
		{`(merge {:a 1} nil)`, `{:a 1}`},
		{`(merge {:a 1} [:b 2])`, `{:a 1 :b 2}`},
		{`(merge {:a 1} 5)`, `!type-error`},
		{`(merge 5 {:a 1})`, `!type-error`},
		{`(merge-with + {:a 1 :b 2} {:a 10 :c 3} {:a 100})`, `{:a 111 :b 2 :c 3}`},
		{`(merge-with into {:a [1]} {:a [2] :b [3]})`, `{:a [1 2] :b [3]}`},
		{`(merge-with +)`, `nil`},
		{`(merge-with + {:a :x} {:a 1})`, `!type-error`},
		// select-keys keys vals
		{`(select-keys {:a 1 :b 2 :c 3} [:c :a :z])`, `{:c 3 :a 1}`},
		{`(select-keys nil [:a])`, `{}`},
		{`(select-keys {:a nil} [:a])`, `{:a nil}`},
		{`(select-keys [1] [0])`, `!type-error`},
		{`(keys {:a 1 :b 2})`, `(:a :b)`},
		{`(keys {})`, `nil`},
		{`(keys nil)`, `nil`},
		{`(keys [1 2])`, `!type-error`},
		{`(vals {:a 1 :b 2})`, `(1 2)`},
		{`(vals {})`, `nil`},
		{`(vals nil)`, `nil`},
		{`(vals 1)`, `!type-error`},
		// find key val
		{`(find {:a 1} :a)`, `[:a 1]`},
		{`(find {:a nil} :a)`, `[:a nil]`},
		{`(find {:a 1} :b)`, `nil`},
		{`(find [10 20] 1)`, `[1 20]`},
		{`(find nil :a)`, `nil`},
		{`(find #{1} 1)`, `!type-error`},
		{`(key (first {:a 1}))`, `:a`},
		{`(val (first {:a 1}))`, `1`},
		{`(map key {:a 1 :b 2})`, `(:a :b)`},
		{`(key [1 2 3])`, `!type-error`},
		{`(val 5)`, `!type-error`},
		// rename-keys
		{`(rename-keys {:a 1 :b 2} {:a :x})`, `{:b 2 :x 1}`},
		{`(rename-keys {:a 1 :b 2} {:a :b :b :a})`, `{:b 1 :a 2}`},
		{`(rename-keys {:a 1} {:z :y})`, `{:a 1}`},
		{`(rename-keys nil {:a :b})`, `{}`},
		{`(rename-keys {:a 1} [:a :b])`, `!type-error`},
		// update-vals update-keys
		{`(update-vals {:a 1 :b 2} inc)`, `{:a 2 :b 3}`},
		{`(update-vals {} inc)`, `{}`},
		{`(update-vals nil inc)`, `{}`},
		{`(update-vals {:a :x} inc)`, `!type-error`},
		{`(update-keys {1 :a 2 :b} inc)`, `{2 :a 3 :b}`},
		{`(update-keys {:a 1} name)`, `{"a" 1}`},
		{`(update-keys [1] inc)`, `!type-error`},
		// maps are persistent
		{`(let [m {:a 1} n (assoc m :b 2)] [m n])`, `[{:a 1} {:a 1 :b 2}]`},
		{`(count (reduce (fn [m i] (assoc m i (* i i))) {} (range 10000)))`, `10000`},
		{`(get (reduce (fn [m i] (assoc m i (* i i))) {} (range 10000)) 99)`, `9801`},
	})
}

func TestMapNoEntryPredicate(t *testing.T) {
	if _, ok := Universe()["map-entry?"]; ok {
		t.Errorf("map-entry? must not be a builtin")
	}
}
