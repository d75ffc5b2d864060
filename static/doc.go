// Package static embeds the browser-facing files the binary serves at "/".
// The collaborative editor itself arrives with issue #4; until then the
// page explains how to connect a Yjs application.
package static

import (
	"embed"
	"io/fs"
)

//go:embed public
var files embed.FS

// FS returns the files to serve, rooted at the site root.
func FS() fs.FS {
	sub, err := fs.Sub(files, "public")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}
