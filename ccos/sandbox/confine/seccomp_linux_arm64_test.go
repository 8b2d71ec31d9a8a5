package confine

// archDeniedProbes are the live probes for archDenied (none on arm64).
func archDeniedProbes() []deniedProbe { return nil }
