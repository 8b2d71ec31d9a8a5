//go:build !linux

package bench

import "os"

// maxRSS is not implemented off Linux (units of ru_maxrss differ by OS).
func maxRSS(*os.ProcessState) int64 { return 0 }
