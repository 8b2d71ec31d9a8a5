package caps

import "sync"

// Files is a run's table of open file handles (ccos.io.open-file and
// friends). Handles are small integers wrapped in a map value; closing the
// run closes them all.
type Files struct {
	mu sync.Mutex
}
