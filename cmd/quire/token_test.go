package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quirehq/quire/auth"
	"github.com/quirehq/quire/auth/jwt"
)

func TestToken(t *testing.T) {
	const secret = "cmd tests' secret of 32 bytes..."
	out, stderr, code, err := run(t, nil, "token", "--doc", "plan, team/*", "--perm", "read", "--ttl", "90m", "--auth-secret", secret)
	if err != nil || code != 0 {
		t.Fatalf("exit %d: %v\n%s", code, err, stderr)
	}
	v, err := jwt.NewVerifier(jwt.Options{Secret: []byte(secret)})
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(out)
	for _, doc := range []string{"plan", "team/x"} {
		g, err := v.Verify(tok, doc)
		if err != nil || g.Permission != auth.Read || time.Until(g.Expires) < 89*time.Minute || time.Until(g.Expires) > 91*time.Minute {
			t.Errorf("%s: grant %+v, %v", doc, g, err)
		}
	}
	if _, err := v.Verify(tok, "other"); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("other document: %v", err)
	}

	t.Setenv("QUIRE_AUTH_SECRET", secret)
	out, _, _, err = run(t, nil, "token", "--doc", "plan")
	if err != nil {
		t.Fatal(err)
	}
	if g, err := v.Verify(strings.TrimSpace(out), "plan"); err != nil || !g.CanWrite() {
		t.Errorf("from the environment, default write: %+v %v", g, err)
	}
}

func TestTokenUsage(t *testing.T) {
	t.Setenv("QUIRE_AUTH_SECRET", "")
	for _, args := range [][]string{
		{"token", "--doc", "plan"},                                          // no secret
		{"token", "--auth-secret", "s", "--perm", "write"},                  // no document
		{"token", "--auth-secret", "s", "--doc", "plan", "--perm", "admin"}, // bad permission
		{"token", "--auth-secret", "s", "--doc", "p*lan"},                   // a star inside
		{"token", "--auth-secret", "s", "--doc", "plan", "--ttl", "-1h"},    // negative ttl
		{"serve", "--auth-secret", "too short", "--addr", "127.0.0.1:0"},    // weak secret
		{"token", "--auth-secret", "s", "--doc", "plan", "extra"},           // extra argument
	} {
		_, _, code, err := run(t, nil, args...)
		if code != 2 || !errors.Is(err, ErrUsage) {
			t.Errorf("%q: exit %d, %v; want a usage error", args, code, err)
		}
	}
}
