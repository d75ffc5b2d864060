package auth

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestPatternsMatch(t *testing.T) {
	ps := Patterns{"notes/plan", "team-a/*", "exact*"}
	cases := []struct {
		doc  string
		want bool
	}{
		{"notes/plan", true},
		{"notes/plan2", false}, // exact names are not prefixes
		{"notes", false},
		{"team-a/", true},
		{"team-a/x/y", true},
		{"team-a", false}, // the prefix includes the slash
		{"team-b/x", false},
		{"exact", true},
		{"exactly", true},
		{"", false},
	}
	for _, c := range cases {
		if got := ps.Match(c.doc); got != c.want {
			t.Errorf("Match(%q) = %v, want %v", c.doc, got, c.want)
		}
	}
	if !(Patterns{"*"}).Match("anything at all") {
		t.Error(`"*" should name every document`)
	}
	if (Patterns{}).Match("x") {
		t.Error("no patterns should name nothing")
	}
}

func TestPatternsCheck(t *testing.T) {
	for _, ok := range []Patterns{{"a"}, {"a/*"}, {"*"}, {"a", "b*"}} {
		if err := ok.Check(); err != nil {
			t.Errorf("Check(%q) = %v, want nil", ok, err)
		}
	}
	// A "*" inside a name would read as a glob but match literally:
	// refused, as are empty entries and an empty list.
	for _, bad := range []Patterns{nil, {}, {""}, {"a*b"}, {"*a"}, {"a**"}, {"ok", ""}} {
		err := bad.Check()
		if !errors.Is(err, ErrInvalidToken) {
			t.Errorf("Check(%q) = %v, want ErrInvalidToken", bad, err)
		}
	}
}

func TestParsePermission(t *testing.T) {
	for _, p := range []Permission{Read, Write} {
		got, err := ParsePermission(p.String())
		if err != nil || got != p {
			t.Errorf("ParsePermission(%q) = %v, %v", p.String(), got, err)
		}
	}
	for _, bad := range []string{"", "Read", "admin", "readwrite"} {
		if _, err := ParsePermission(bad); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("ParsePermission(%q) error = %v, want ErrInvalidToken", bad, err)
		}
	}
	if !(Grant{Permission: Write}).CanWrite() || (Grant{Permission: Read}).CanWrite() || (Grant{}).CanWrite() {
		t.Error("CanWrite must hold for Write only")
	}
}

func TestTokenFromRequest(t *testing.T) {
	cases := []struct {
		name, target, header string
		want                 string
		err                  error
	}{
		{"query", "/ws/doc?token=abc", "", "abc", nil},
		{"query wins over header", "/ws/doc?token=q", "Bearer h", "q", nil},
		{"bearer", "/ws/doc", "Bearer h.e.s", "h.e.s", nil},
		{"bearer any case, spaces trimmed", "/ws/doc", "bearer   tok  ", "tok", nil},
		{"empty query falls back to header", "/ws/doc?token=", "Bearer h", "h", nil},
		{"missing", "/ws/doc", "", "", ErrMissingToken},
		{"basic is not bearer", "/ws/doc", "Basic dXNlcjpwYXNz", "", ErrMissingToken},
		{"bearer without token", "/ws/doc", "Bearer   ", "", ErrMissingToken},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, c.target, nil)
			if c.header != "" {
				r.Header.Set("Authorization", c.header)
			}
			got, err := TokenFromRequest(r)
			if !errors.Is(err, c.err) || got != c.want {
				t.Fatalf("TokenFromRequest = %q, %v; want %q, %v", got, err, c.want, c.err)
			}
		})
	}
}

func TestRefuse(t *testing.T) {
	cases := []struct {
		err    error
		status int
		reason string
	}{
		{ErrMissingToken, 401, "missing token"},
		{fmt.Errorf("parse: %w", ErrInvalidToken), 401, "invalid token"},
		{fmt.Errorf("exp: %w", ErrExpiredToken), 401, "token expired"},
		{ErrForbidden, 403, "token does not grant this document"},
		{errors.New("unknown cause"), 401, "invalid token"},
	}
	for _, c := range cases {
		e := Refuse(c.err)
		if e.Status != c.status || e.Reason != c.reason || !errors.Is(e, c.err) {
			t.Errorf("Refuse(%v) = {%d %q %v}, want {%d %q}", c.err, e.Status, e.Reason, e.Err, c.status, c.reason)
		}
	}
}
