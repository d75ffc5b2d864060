package auth

import (
	"fmt"
	"strings"
)

// Patterns is the set of documents a token names. Each entry is an exact
// document name ("notes/plan"), or a prefix ending in "*" ("team-a/*"
// names every document whose name starts with "team-a/"); "*" alone names
// every document. A "*" anywhere but at the end is an error: names are
// matched literally, never as globs, so that a pattern cannot grant more
// than it reads as.
type Patterns []string

// Check reports a malformed entry.
func (ps Patterns) Check() error {
	if len(ps) == 0 {
		return fmt.Errorf("%w: no documents named", ErrInvalidToken)
	}
	for _, p := range ps {
		if p == "" || strings.Contains(strings.TrimSuffix(p, "*"), "*") {
			return fmt.Errorf("%w: document pattern %q", ErrInvalidToken, p)
		}
	}
	return nil
}

// Match reports whether doc is named by one of the patterns.
func (ps Patterns) Match(doc string) bool {
	for _, p := range ps {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(doc, prefix) {
				return true
			}
		} else if p == doc {
			return true
		}
	}
	return false
}
