package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
)

// ErrUsage is wrapped by errors caused by how quire was invoked: an unknown
// command, a bad flag, missing or extra arguments. The process exits with
// status 2 for them.
var ErrUsage = errors.New("usage")

// errHelpShown is returned after help was printed because it was asked for
// (-h, --help, quire help); the process exits with status 0.
var errHelpShown = errors.New("help shown")

// usageError is an error in the invocation; it wraps ErrUsage without
// repeating the word in its message.
type usageError struct{ msg string }

func (e *usageError) Error() string        { return e.msg }
func (e *usageError) Is(target error) bool { return target == ErrUsage }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// Main holds what commands need from the process. Stdin, Stdout and
// Stderr must be set; a nil Logger discards log records.
type Main struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Logger *slog.Logger
}

// command is one entry of a command table: `quire <name> ...` or, in a
// group such as `update`, `quire update <name> ...`.
type command struct {
	name    string
	summary string // one line, shown in the command list
	run     func(ctx context.Context, m *Main, args []string) error
}

// commands is the top-level command table. Add new commands (serve, ...)
// here; `quire help` lists them in this order.
var commands = []command{
	{name: "serve", summary: "run the collaboration server (the default)", run: runServe},
	{name: "update", summary: "work with Yjs updates (inspect)", run: runUpdate},
	{name: "bench", summary: "load-test a Yjs WebSocket server (fan-out, idle, join storm, cold load)", run: runBench},
	{name: "token", summary: "mint an access token for the server's secret", run: runToken},
}

// Run executes the command named by args[0] with the remaining arguments.
// It returns errors wrapping ErrUsage for invocation mistakes.
func (m *Main) Run(ctx context.Context, args []string) error {
	if m.Logger == nil {
		m.Logger = slog.New(slog.DiscardHandler)
	}
	if len(args) == 0 {
		// `quire` alone runs the server with its defaults.
		return runServe(ctx, m, nil)
	}
	return dispatch(ctx, m, "quire", commands, args)
}

// dispatch runs the command of table named by args[0]. prog is the command
// line so far ("quire", "quire update"), for messages.
func dispatch(ctx context.Context, m *Main, prog string, table []command, args []string) error {
	// Messages name the command group, but not "quire" itself: main
	// prefixes every message with that already.
	group := strings.TrimPrefix(strings.TrimPrefix(prog, "quire"), " ")
	if group != "" {
		group += ": "
	}
	if len(args) == 0 {
		printCommands(m.Stderr, prog, table)
		return usagef("%sno command given", group)
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && name == "help" {
			// `quire help update inspect` is `quire update inspect -h`.
			return dispatch(ctx, m, prog, table, slices.Concat(args[1:], []string{"-h"}))
		}
		printCommands(m.Stdout, prog, table)
		return errHelpShown
	}
	for _, c := range table {
		if c.name == name {
			return c.run(ctx, m, args[1:])
		}
	}
	return usagef("%sunknown command %q (run '%s help' for a list)", group, name, prog)
}

func printCommands(w io.Writer, prog string, table []command) {
	fmt.Fprintf(w, "Usage:\n\n\t%s <command> [arguments]\n\nCommands:\n\n", prog)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, c := range table {
		fmt.Fprintf(tw, "\t%s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nRun '%s help <command>' for details on a command.\n", prog)
}

// parseFlags parses fs from args, allowing flags after positional
// arguments (`inspect FILE --pretty`), and returns the positional
// arguments. "--" ends flag parsing. A help request prints the usage to
// stdout and returns errHelpShown; a bad flag returns a usage error.
func parseFlags(fs *flag.FlagSet, m *Main, args []string) ([]string, error) {
	fs.SetOutput(io.Discard) // errors are returned, not printed
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(m.Stdout)
				fs.Usage()
				return nil, errHelpShown
			}
			return nil, usagef("%s: %v", strings.TrimPrefix(fs.Name(), "quire "), err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
