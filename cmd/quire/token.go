package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/quirehq/quire/auth"
	"github.com/quirehq/quire/auth/jwt"
)

// runToken mints an HS256 token with the server's secret: for tests and
// small deployments; larger ones mint tokens in their own backend.
func runToken(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("quire token", flag.ContinueOnError)
	var secret, docs, perm string
	var ttl time.Duration
	registerSecret(fs, &secret)
	fs.StringVar(&docs, "doc", "", "documents the token grants, comma-separated: exact names, or prefixes ending in * (required)")
	fs.StringVar(&perm, "perm", "write", "permission: read or write")
	fs.DurationVar(&ttl, "ttl", time.Hour, "how long the token is valid")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: quire token --doc NAME [--perm read|write] [--ttl 1h]\n\nPrints a token for `quire serve --auth-secret` (same secret, or QUIRE_AUTH_SECRET).\nClients pass it as the query parameter token (y-websocket: params: {token})\nor in an Authorization: Bearer header.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	rest, err := parseFlags(fs, m, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("token: unexpected arguments %q", rest)
	}
	if secret == "" {
		return usagef("token: no secret (--auth-secret or QUIRE_AUTH_SECRET)")
	}
	var patterns auth.Patterns
	for _, d := range strings.Split(docs, ",") {
		if d = strings.TrimSpace(d); d != "" {
			patterns = append(patterns, d)
		}
	}
	if len(patterns) == 0 {
		return usagef("token: --doc is required")
	}
	p, err := auth.ParsePermission(perm)
	if err != nil {
		return usagef("token: bad --perm %q (read or write)", perm)
	}
	tok, err := jwt.Mint([]byte(secret), patterns, p, ttl)
	if err != nil {
		return usagef("token: %v", err)
	}
	_, err = fmt.Fprintln(m.Stdout, tok)
	return err
}
