package main

import "context"

// updateCommands is the command table of `quire update`.
var updateCommands = []command{
	{name: "inspect", summary: "decode a v1 update and print its content as JSON", run: runUpdateInspect},
}

func runUpdate(ctx context.Context, m *Main, args []string) error {
	return dispatch(ctx, m, "quire update", updateCommands, args)
}
