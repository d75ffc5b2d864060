// Command quire is the Quire collaboration server and its tools.
//
// Usage:
//
//	quire <command> [arguments]
//
// Commands are listed by `quire help`; `quire help <command>` describes
// one. The package's contract:
//
//   - main only sets up the process (signals, standard streams, logger) and
//     maps the error returned by Main.Run to an exit status: 0 on success,
//     2 for usage errors (errors wrapping ErrUsage: unknown commands, bad
//     flags, wrong arguments), 1 for everything else. Every error is
//     printed once, as "quire: <error>", on standard error.
//   - Main.Run does all the work and never calls os.Exit, so tests drive it
//     directly with their own streams.
//   - Commands write results to Main.Stdout and diagnostics through
//     Main.Logger; results are machine-readable where that makes sense
//     (update inspect prints JSON).
//
// Adding a command means adding an entry to the command table in
// commands.go.
package main
