package static

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/uuid"
)

// builtBundle stands for the output of `npm run build`.
func builtBundle() fstest.MapFS {
	fs := fstest.MapFS{}
	for _, name := range bundleFiles {
		fs[name] = &fstest.MapFile{Data: []byte("/* " + name + " */")}
	}
	return fs
}

func get(t *testing.T, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

func TestPages(t *testing.T) {
	h := Handler(Options{Bundle: builtBundle()})
	for _, tc := range []struct {
		path, marker string
	}{
		{"/", `src="/assets/home.js"`},
		{"/d/notes", `src="/assets/editor.js"`},
		{"/d/team%2Fnotes%20%C3%BC", `src="/assets/editor.js"`}, // "/" inside a name
		{"/d/a%2F..%2Fb", `src="/assets/editor.js"`},
		{"/d/?name=..", `src="/assets/editor.js"`},
	} {
		rec := get(t, h, tc.path)
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200", tc.path, rec.Code)
			continue
		}
		if !strings.Contains(rec.Body.String(), tc.marker) {
			t.Errorf("GET %s: page without %s", tc.path, tc.marker)
		}
		hdr := rec.Header()
		if ct := hdr.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", tc.path, ct)
		}
		if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q does not restrict scripts", tc.path, csp)
		}
	}
}

func TestNewDocumentRedirect(t *testing.T) {
	h := Handler(Options{Bundle: builtBundle()})
	seen := map[string]bool{}
	for range 3 {
		rec := get(t, h, "/new")
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("GET /new: status %d, want 303", rec.Code)
		}
		loc := rec.Header().Get("Location")
		id, ok := strings.CutPrefix(loc, "/d/")
		if !ok {
			t.Fatalf("GET /new: Location %q, want /d/<uuid>", loc)
		}
		u, err := uuid.Parse(id)
		if err != nil || u.Version() != 4 || u.String() != id {
			t.Fatalf("GET /new: %q is not a version 4 UUID in canonical form (%v)", id, err)
		}
		if seen[id] {
			t.Fatalf("GET /new: %s twice", id)
		}
		seen[id] = true
		if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
			t.Errorf("GET /new: Cache-Control %q, want no-store", cc)
		}
	}

	// A name that needs encoding lands on the address that decodes to it.
	h = Handler(Options{Bundle: builtBundle(), NewName: func() string { return "a/b c ü" }})
	loc := get(t, h, "/new").Header().Get("Location")
	u, err := url.Parse(loc)
	if err != nil || u.Path != "/d/a/b c ü" || u.EscapedPath() != "/d/a%2Fb%20c%20%C3%BC" {
		t.Errorf("Location %q (%v), want /d/a%%2Fb%%20c%%20%%C3%%BC", loc, err)
	}
}

func TestAssets(t *testing.T) {
	h := Handler(Options{Bundle: builtBundle()})
	for _, name := range bundleFiles {
		path := "/assets/" + name
		if name == "sw.js" {
			path = "/sw.js" // at the root, so that its scope is the whole site
		}
		rec := get(t, h, path)
		if rec.Code != http.StatusOK || rec.Body.String() != "/* "+name+" */" {
			t.Errorf("GET %s: status %d, body %q", path, rec.Code, rec.Body.String())
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q, want no-cache", path, cc)
		}
	}
	if rec := get(t, h, "/assets/nothing.js"); rec.Code != http.StatusNotFound {
		t.Errorf("GET /assets/nothing.js: status %d, want 404", rec.Code)
	}
	if rec := get(t, h, "/favicon.svg"); rec.Code != http.StatusOK || !strings.Contains(rec.Header().Get("Content-Type"), "svg") {
		t.Errorf("GET /favicon.svg: status %d, type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if rec := get(t, h, "/elsewhere"); rec.Code != http.StatusNotFound {
		t.Errorf("GET /elsewhere: status %d, want 404", rec.Code)
	}
}

func TestBundleMissing(t *testing.T) {
	partial := builtBundle()
	delete(partial, "editor.js")
	if err := checkBundle(partial); !errors.Is(err, ErrBundleMissing) {
		t.Fatalf("checkBundle without editor.js: %v, want ErrBundleMissing", err)
	}
	h := Handler(Options{Bundle: partial})
	for _, path := range []string{"/", "/d/notes"} {
		rec := get(t, h, path)
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("GET %s without a bundle: status %d, want 503", path, rec.Code)
		}
		if !strings.Contains(rec.Body.String(), "npm ci &amp;&amp; npm run build") {
			t.Errorf("GET %s without a bundle: the page does not say how to build it", path)
		}
	}
	// New documents can still be named.
	if rec := get(t, h, "/new"); rec.Code != http.StatusSeeOther {
		t.Errorf("GET /new without a bundle: status %d, want 303", rec.Code)
	}
}

// The embedded bundle is whatever the last `npm run build` left; with
// or without it, the handler must be usable.
func TestEmbeddedBundle(t *testing.T) {
	h := Handler(Options{})
	rec := get(t, h, "/")
	switch err := checkBundle(embeddedBundle()); {
	case err == nil && rec.Code != http.StatusOK:
		t.Errorf("bundle embedded, GET /: status %d", rec.Code)
	case err != nil && rec.Code != http.StatusServiceUnavailable:
		t.Errorf("no bundle embedded (%v), GET /: status %d", err, rec.Code)
	}
}
