package sync

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
)

// originPolicy decides which browser pages may open a socket. Browsers send
// an Origin header with every WebSocket handshake and, unlike fetch, do not
// apply CORS to it: without this check any web page could edit documents
// with its visitors' network access (cross-site WebSocket hijacking).
type originPolicy struct {
	anyOrigin bool
	origins   []string // "scheme://host[:port]", lower case
	hosts     []string // path.Match patterns on "host[:port]", lower case
}

// newOriginPolicy parses Options.AllowedOrigins. An entry with a scheme
// ("https://app.example.com") must equal the Origin; an entry without one
// is a pattern on the Origin's host and port ("app.example.com",
// "*.example.com", "localhost:*"), matched with path.Match; "*" allows any
// origin. No entries at all means the page must come from the host the
// request was sent to.
func newOriginPolicy(entries []string) (originPolicy, error) {
	var p originPolicy
	for _, e := range entries {
		e = strings.ToLower(strings.TrimSpace(e))
		switch {
		case e == "":
		case e == "*":
			p.anyOrigin = true
		case strings.Contains(e, "://"):
			u, err := url.Parse(e)
			if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") {
				return originPolicy{}, fmt.Errorf("%w: AllowedOrigins entry %q is not an origin (scheme://host[:port])", ErrInvalidOptions, e)
			}
			p.origins = append(p.origins, u.Scheme+"://"+u.Host)
		default:
			if _, err := path.Match(e, ""); err != nil {
				return originPolicy{}, fmt.Errorf("%w: AllowedOrigins entry %q: %w", ErrInvalidOptions, e, err)
			}
			p.hosts = append(p.hosts, e)
		}
	}
	return p, nil
}

// allow reports whether r may be upgraded. Requests without an Origin come
// from programs, not browser pages, and cannot be hijacked that way, so
// they are allowed.
func (p originPolicy) allow(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || p.anyOrigin {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" { // includes the opaque origin "null"
		return false
	}
	host := strings.ToLower(u.Host)
	if len(p.origins) == 0 && len(p.hosts) == 0 {
		return host == strings.ToLower(r.Host)
	}
	if slices.Contains(p.origins, strings.ToLower(u.Scheme)+"://"+host) {
		return true
	}
	for _, pattern := range p.hosts {
		if ok, _ := path.Match(pattern, host); ok {
			return true
		}
	}
	return false
}
