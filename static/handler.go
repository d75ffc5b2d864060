package static

import (
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/google/uuid"
)

// ErrBundleMissing means the JavaScript bundle has not been built: run
// `npm ci && npm run build` before building the binary.
var ErrBundleMissing = errors.New("static: the editor bundle is not built (run `npm ci && npm run build`, then build the binary again)")

// Options configures a Handler. The zero value serves the embedded files.
type Options struct {
	// Bundle holds the files `npm run build` writes. Nil: the bundle
	// embedded in the binary at compile time.
	Bundle fs.FS

	// NewName names the document that GET /new creates. Nil: a random
	// (version 4) UUID.
	NewName func() string

	// Logger receives a warning when the bundle is missing. Nil: no logs.
	Logger *slog.Logger
}

// contentSecurityPolicy lets pages run only our own scripts and connect
// only to their own origin: even if some text slipped into the page as
// HTML, it could not run script or load anything from elsewhere. Styles
// may be inline because Quill and its cursors position elements with
// style attributes.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// Handler returns the handler of the pages and their files; see the
// package documentation for the routes.
func Handler(o Options) http.Handler {
	bundle := o.Bundle
	if bundle == nil {
		bundle = embeddedBundle()
	}
	newName := o.NewName
	if newName == nil {
		newName = uuid.NewString
	}
	pages := publicFiles()
	built := checkBundle(bundle)
	if built != nil && o.Logger != nil {
		o.Logger.Warn("the editor is not available", "err", built)
	}

	page := func(name string) http.HandlerFunc {
		body := mustRead(pages, name)
		status := http.StatusOK
		if built != nil {
			body, status = mustRead(pages, "notbuilt.html"), http.StatusServiceUnavailable
		}
		return func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Content-Security-Policy", contentSecurityPolicy)
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "same-origin")
			// Revalidated on every load; the service worker keeps a
			// copy for offline use.
			h.Set("Cache-Control", "no-cache")
			w.WriteHeader(status)
			if r.Method != http.MethodHead {
				w.Write(body)
			}
		}
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", page("home.html"))
	mux.HandleFunc("GET /d/", page("editor.html"))
	mux.HandleFunc("GET /new", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, editorPath(newName()), http.StatusSeeOther)
	})
	assets := http.StripPrefix("/assets/", http.FileServerFS(bundle))
	mux.Handle("GET /assets/", noCache(assets))
	mux.HandleFunc("GET /sw.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		serveFile(w, r, bundle, "sw.js")
	})
	mux.HandleFunc("GET /favicon.svg", func(w http.ResponseWriter, r *http.Request) {
		serveFile(w, r, pages, "favicon.svg")
	})
	return mux
}

// editorPath returns the path of the editor page of the document name:
// "/d/" and the name percent-encoded as one path segment.
func editorPath(name string) string {
	return "/d/" + url.PathEscape(name)
}

// noCache makes browsers revalidate bundle files: their names do not
// change from one build to the next.
func noCache(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

// mustRead returns the embedded file name of fsys.
func mustRead(fsys fs.FS, name string) []byte {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		panic(err) // the pages are embedded at compile time
	}
	return b
}

// serveFile writes the file name of fsys, with its content type, or 404.
// http.ServeFileFS would redirect requests for "index.html"-like names
// and directories; the names here are fixed, so none of that is wanted.
func serveFile(w http.ResponseWriter, r *http.Request, fsys fs.FS, name string) {
	f, err := fsys.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		http.NotFound(w, r)
		return
	}
	rs, ok := f.(interface {
		Read([]byte) (int, error)
		Seek(int64, int) (int64, error)
	})
	if !ok {
		http.Error(w, "file not seekable", http.StatusInternalServerError)
		return
	}
	http.ServeContent(w, r, name, st.ModTime(), rs)
}
