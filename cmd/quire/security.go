package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"

	"github.com/quirehq/quire/auth/jwt"
	"github.com/quirehq/quire/sync"
)

// securityConfig is the access control and the limits of `quire serve`;
// `quire token` shares the secret's flag and variable.
type securityConfig struct {
	authSecret     string
	authPublicKeys string
	limits         sync.Limits
}

// envDefault returns the environment variable env parsed by parse, or def
// if it is unset or does not parse.
func envDefault[T any](env string, def T, parse func(string) (T, error)) T {
	if v, ok := os.LookupEnv(env); ok {
		if p, err := parse(v); err == nil {
			return p
		}
	}
	return def
}

func registerSecret(fs *flag.FlagSet, p *string) {
	fs.StringVar(p, "auth-secret", os.Getenv("QUIRE_AUTH_SECRET"),
		"HS256 secret that signs tokens; when set (or --auth-public-keys), every connection needs a token. Prefer the env variable: flags show in ps (env QUIRE_AUTH_SECRET)")
}

func (c *securityConfig) register(fs *flag.FlagSet) {
	registerSecret(fs, &c.authSecret)
	fs.StringVar(&c.authPublicKeys, "auth-public-keys", os.Getenv("QUIRE_AUTH_PUBLIC_KEYS"),
		"PEM file of RSA (RS256) and Ed25519 (EdDSA) public keys that verify tokens (env QUIRE_AUTH_PUBLIC_KEYS)")
	i := func(p *int, name, env, usage string) {
		fs.IntVar(p, name, envDefault(env, 0, strconv.Atoi), usage+"; 0: default, -1: no limit (env "+env+")")
	}
	l := &c.limits
	fs.Float64Var(&l.MessageRate, "max-message-rate", envDefault("QUIRE_MAX_MESSAGE_RATE", 0.0, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) }),
		"messages per second one connection may send on average; 0: default 500, -1: no limit (env QUIRE_MAX_MESSAGE_RATE)")
	fs.IntVar(&l.MessageBurst, "max-message-burst", envDefault("QUIRE_MAX_MESSAGE_BURST", 0, strconv.Atoi),
		"messages one connection may send at once; 0: default 5000 (env QUIRE_MAX_MESSAGE_BURST)")
	i(&l.ConnectionsPerIP, "max-conns-per-ip", "QUIRE_MAX_CONNS_PER_IP", "open connections per client address (default 1024)")
	fs.StringVar(&l.ClientIPHeader, "client-ip-header", os.Getenv("QUIRE_CLIENT_IP_HEADER"),
		"header holding the client address set by a reverse proxy, e.g. X-Real-IP; empty: the TCP peer (env QUIRE_CLIENT_IP_HEADER)")
	i(&l.ConnectionsPerDocument, "max-conns-per-doc", "QUIRE_MAX_CONNS_PER_DOC", "open connections per document (default 10000)")
	i(&l.Documents, "max-docs", "QUIRE_MAX_DOCS", "documents held in memory; idle ones are unloaded first (default 10000)")
	fs.Int64Var(&l.DocumentBytes, "max-doc-bytes", envDefault("QUIRE_MAX_DOC_BYTES", int64(0), func(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }),
		"largest encoded size of a document; 0: default 32 MiB, -1: no limit (env QUIRE_MAX_DOC_BYTES)")
	i(&l.AwarenessClients, "max-awareness-clients", "QUIRE_MAX_AWARENESS_CLIENTS", "awareness client IDs per connection (default 16)")
}

// authorizer returns the token verifier configured, or nil (an open
// server) when there is neither a secret nor public keys.
func (c *securityConfig) authorizer() (sync.Authorizer, error) {
	var opts jwt.Options
	if c.authSecret != "" {
		if len(c.authSecret) < 32 {
			return nil, usagef("serve: --auth-secret must be at least 32 bytes")
		}
		opts.Secret = []byte(c.authSecret)
	}
	if c.authPublicKeys != "" {
		data, err := os.ReadFile(c.authPublicKeys)
		if err != nil {
			return nil, fmt.Errorf("serve: public keys: %w", err)
		}
		keys, err := jwt.ParsePublicKeys(data)
		if err != nil {
			return nil, fmt.Errorf("serve: public keys in %s: %w", c.authPublicKeys, err)
		}
		opts.PublicKeys = keys
	}
	if opts.Secret == nil && opts.PublicKeys == nil {
		return nil, nil
	}
	return jwt.NewVerifier(opts)
}
