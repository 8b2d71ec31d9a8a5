// Package netwatch makes every connect(2) of a sandboxed process tree
// observable and decidable by its supervisor, using seccomp user
// notification (SECCOMP_RET_USER_NOTIF, SECCOMP_FILTER_FLAG_NEW_LISTENER).
//
// The sandboxed process (the worker) calls [Install] after its other
// confinement and before it runs untrusted code. Install loads a seccomp
// filter on every thread of the process that turns each connect(2) into a
// notification on a listener file descriptor, and hands that descriptor to
// the supervisor over a Unix socket. The filter is inherited by every
// child and survives execve, so programs the worker starts are covered too.
//
// The supervisor (the parent, which must not itself be under the filter)
// calls [Supervise] on the other end of that socket. For every connect it
// reads the destination sockaddr from the target's memory, asks a decide
// function, and either lets the kernel perform the connect or fails it
// with EACCES and reports the denial.
//
// # What the filter covers
//
// The filter notifies connect(2) in the native ABI and in the compat ABIs
// a 64-bit kernel also accepts (x32 and i386 connect and
// socketcall(SYS_CONNECT) on amd64; arm connect on arm64), so a 32-bit
// binary cannot step around it. It also fails io_uring_setup(2) with
// ENOSYS: IORING_OP_CONNECT performs a connect without a system call that
// seccomp could see, and programs treat ENOSYS as "no io_uring here" and
// fall back to ordinary system calls. Every other system call is allowed
// by this filter (other filters, Landlock and namespaces still apply).
//
// Not covered: data sent with an explicit destination instead of a
// connect — sendto(2)/sendmsg(2) on unconnected datagram sockets (UDP,
// Unix datagram) and TCP Fast Open (MSG_FASTOPEN). Those, like everything
// this package allows, remain subject to the network namespace and
// Landlock rules underneath, which are the enforcement layer; netwatch is
// the observation and reporting layer on top of them.
//
// # Time of check and time of use
//
// An allowed connect is answered with SECCOMP_USER_NOTIF_FLAG_CONTINUE:
// the kernel then performs the original system call, re-reading the
// sockaddr from the target's memory. Another thread of the target can
// change that memory between the supervisor's read and the kernel's, so
// an allowed decision is not a guarantee about the address actually
// connected to (see seccomp_unotify(2), "Caveats"). This is acceptable
// here only because the worker's confinement enforces the same policy
// underneath (network namespace and Landlock for TCP; for Unix sockets,
// what the worker's mount namespace and Landlock leave reachable, and
// Landlock's abstract-socket scoping): netwatch only has to be exact about
// what it denies and reports, and a denied connect is always failed by the
// supervisor itself (there is no race on that path). Likewise a Unix
// socket path is reported as the target wrote it (relative paths, symlinks
// and ".." are not resolved, and the target resolves it in its own mount
// namespace), so decide should allow only exact, expected paths.
//
// # Failure modes
//
// The design fails closed: when the supervisor stops (Supervise returns,
// or the supervisor process dies) the listener is closed and every
// pending and later connect of the filtered processes fails with ENOSYS.
// A connect made before the supervisor starts receiving simply waits.
package netwatch
