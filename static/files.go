package static

import (
	"embed"
	"fmt"
	"io/fs"
)

// The pages and icon, written by hand.
//
//go:embed public
var public embed.FS

// The bundle written by `npm run build` (build.mjs). "all:" keeps the
// committed placeholder, so that this compiles before the first build.
//
//go:embed all:dist
var dist embed.FS

// bundleFiles are the files every page needs; without them the bundle is
// reported as missing.
var bundleFiles = []string{"home.js", "home.css", "editor.js", "editor.css", "sw.js"}

// embeddedBundle returns the embedded dist directory.
func embeddedBundle() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the directory is fixed at compile time
	}
	return sub
}

// publicFiles returns the embedded public directory.
func publicFiles() fs.FS {
	sub, err := fs.Sub(public, "public")
	if err != nil {
		panic(err) // the directory is fixed at compile time
	}
	return sub
}

// checkBundle reports which bundle file is missing from b, if any.
func checkBundle(b fs.FS) error {
	for _, name := range bundleFiles {
		if _, err := fs.Stat(b, name); err != nil {
			return fmt.Errorf("%w: %w", ErrBundleMissing, err)
		}
	}
	return nil
}
